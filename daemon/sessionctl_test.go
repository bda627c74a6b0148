package daemon

import (
	"encoding/json"
	"testing"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/session"
)

// refActivityDetails is how sessionEvents.Record encoded an event's
// details before activityDetails: a map, whose keys json sorts.
func refActivityDetails(host, method, path, mime string, status int, hits map[string]int) []byte {
	details := map[string]any{"host": host, "method": method, "path": path, "status": status}
	if mime != "" {
		details["mime"] = mime
	}
	if len(hits) > 0 {
		details["hits"] = hits
	}
	b, _ := json.Marshal(details)
	return b
}

func FuzzActivityDetails(f *testing.F) {
	f.Add("www.web.bench", "GET", "/a<b>&\u2028", "text/html", 200, "ssn", 2, false)
	f.Add("", "", "", "", 0, "", 0, true)
	f.Add("h\x00\xff", "POST", "/\"x\"", "", -1, "a\"b", 0, false)
	f.Fuzz(func(t *testing.T, host, method, path, mime string, status int, hitKey string, hitN int, nilHits bool) {
		for _, hits := range []map[string]int{nil, {}, {hitKey: hitN}, {hitKey: hitN, "z" + hitKey: 1}} {
			if nilHits && hits != nil {
				continue
			}
			got, err := json.Marshal(activityDetails{Hits: hits, Host: host, Method: method, MIME: mime, Path: path, Status: status})
			if err != nil {
				t.Fatal(err)
			}
			if want := refActivityDetails(host, method, path, mime, status, hits); string(got) != string(want) {
				t.Errorf("details:\n got %s\nwant %s", got, want)
			}
		}
	})
}

func TestParseUAOncePerSession(t *testing.T) {
	set, err := policy.Compile(nil, policy.Env{}, policy.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	s := session.Session{Extra: &sessionExtra{}}
	for _, ua := range []string{chrome, chrome, firefox, chrome, ""} {
		if got, want := parseUA(set, s, ua), set.ParseUA(ua); got != want {
			t.Errorf("parseUA(%q) = %+v, want %+v", ua, got, want)
		}
	}
	if got, want := parseUA(set, session.Session{}, chrome), set.ParseUA(chrome); got != want {
		t.Errorf("without sessionExtra: %+v, want %+v", got, want)
	}
}
