package session

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestJarCarriesDomainCookiesAcrossFlatHosts: under flat mapping the app's
// parent-domain cookie cannot reach its sibling hosts through the browser;
// the session's jar carries it upstream, and only to hosts it matches.
func TestJarCarriesDomainCookiesAcrossFlatHosts(t *testing.T) {
	app := http.NewServeMux()
	app.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "sid=S1; Domain=.salesforce.com; Path=/; HttpOnly")
		w.Header().Add("Set-Cookie", "local=L1; Path=/")
		io.WriteString(w, "set")
	})
	app.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("Cookie"))
	})
	upstream := httptest.NewServer(app)
	defer upstream.Close()
	jars := map[string]http.CookieJar{}
	h := newHarness(t, func(c *Config) {
		c.Rewriter = NewRewriter(mustMapper(t, ModeFlat))
		c.Transport = routeAll(upstream.Listener.Addr().String())
		c.Jar = func(s Session) http.CookieJar {
			if jars[s.ID] == nil {
				jars[s.ID], _ = cookiejar.New(nil)
			}
			return jars[s.ID]
		}
	})
	flat := func(host string) string { return "http://" + EncodeFlat(host) + ".cas.example.net" }
	resp, _ := h.do("GET", flat("acme.my.salesforce.com")+"/set", nil, nil)
	for _, c := range resp.Cookies() {
		if c.Domain != "" {
			t.Errorf("a Domain cookie reached the browser under flat mapping: %v", c)
		}
	}
	// A sibling host of the app gets the parent-domain cookie from the jar,
	// not the host-only one.
	_, body := h.do("GET", flat("eu.my.salesforce.com")+"/echo", nil, nil)
	if got := string(body); !strings.Contains(got, "sid=S1") || strings.Contains(got, "local=") || strings.Contains(got, "__cas_session") {
		t.Fatalf("cookies upstream on a sibling host: %q", got)
	}
	// A host the cookie's domain does not cover gets nothing from the jar.
	_, body = h.do("GET", flat("acme.lightning.force.com")+"/echo", nil, nil)
	if strings.Contains(string(body), "sid=") {
		t.Fatalf("the jar leaked sid to another domain: %q", body)
	}
	if len(jars) != 1 {
		t.Fatalf("jars = %d, want one for the one session", len(jars))
	}
}
