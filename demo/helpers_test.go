package demo

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
	"golang.org/x/net/html"
)

// testNet is one TLS listener on 127.0.0.1 serving every host name given to
// handle, with certificates per name from a test CA, and clients that dial
// it whatever the host.
type testNet struct {
	srv  *httptest.Server
	port int
	pool *x509.CertPool

	mu    sync.Mutex
	hosts map[string]http.Handler
}

func newTestNet(t *testing.T) *testNet {
	t.Helper()
	ca, err := pki.NewRootCA("demo test CA", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	n := &testNet{hosts: make(map[string]http.Handler), pool: x509.NewCertPool()}
	n.pool.AddCert(ca.Cert)
	cache := pki.NewCertCache(ca, func(name string) bool { return strings.HasSuffix(name, ".localhost") }, time.Now)
	n.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		n.mu.Lock()
		h := n.hosts[host]
		n.mu.Unlock()
		if h == nil {
			http.Error(w, "no such host "+host, http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	}))
	n.srv.TLS = &tls.Config{GetCertificate: cache.GetCertificate, MinVersion: tls.VersionTLS12}
	n.srv.StartTLS()
	t.Cleanup(n.srv.Close)
	_, p, _ := net.SplitHostPort(n.srv.Listener.Addr().String())
	n.port, _ = strconv.Atoi(p)
	return n
}

func (n *testNet) handle(h http.Handler, hosts ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, host := range hosts {
		n.hosts[host] = h
	}
}

func (n *testNet) base(host string) string {
	return "https://" + host + ":" + strconv.Itoa(n.port)
}

// transport dials the test listener for every address and trusts the test CA.
func (n *testNet) transport() *http.Transport {
	addr := n.srv.Listener.Addr().String()
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:    &tls.Config{RootCAs: n.pool},
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
	}
}

// client returns a browser-like client with its own cookie jar that does
// not follow redirects, so tests can look at each hop.
func (n *testNet) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := n.transport()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

func newSigner(t *testing.T, cn string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	certPEM, keyPEM, _, err := pki.NewSigningCert(cn, 2048, 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

type page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

func get(t *testing.T, c *http.Client, u string) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) page {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, c, req)
}

// follow GETs u and follows redirects up to a non-redirect page.
func follow(t *testing.T, c *http.Client, p page) page {
	t.Helper()
	for i := 0; p.Status >= 300 && p.Status < 400; i++ {
		if i > 10 {
			t.Fatalf("too many redirects at %s", p.URL)
		}
		loc, err := p.URL.Parse(p.Header.Get("Location"))
		if err != nil {
			t.Fatalf("bad Location %q: %v", p.Header.Get("Location"), err)
		}
		p = get(t, c, loc.String())
	}
	return p
}

type htmlForm struct {
	ID, Action, Method string
	Fields             url.Values
}

// parseForms returns the forms of an HTML page with their hidden and text
// inputs' values.
func parseForms(t *testing.T, body string) []htmlForm {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []htmlForm
	var walk func(n *html.Node, f *htmlForm)
	walk = func(n *html.Node, f *htmlForm) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				out = append(out, htmlForm{ID: attr(n, "id"), Action: attr(n, "action"), Method: strings.ToUpper(attr(n, "method")), Fields: url.Values{}})
				f = &out[len(out)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c, f)
				}
				out[len(out)-1] = *f
				return
			case "input":
				if f != nil && attr(n, "name") != "" {
					f.Fields.Add(attr(n, "name"), attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, f)
		}
	}
	walk(doc, nil)
	return out
}

// elements returns every element of the page, keyed by id.
func elements(t *testing.T, body string) map[string]*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*html.Node)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				out[id] = n
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func attr(n *html.Node, name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// text returns an element's text content, "" for a missing element.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.TrimSpace(b.String())
}

// submit posts the page's only (or first) form as a browser would, with
// extra values set.
func submit(t *testing.T, c *http.Client, p page, extra url.Values) page {
	t.Helper()
	forms := parseForms(t, p.Body)
	if len(forms) == 0 {
		t.Fatalf("no form on %s (status %d): %.400s", p.URL, p.Status, p.Body)
	}
	f := forms[0]
	action, err := p.URL.Parse(f.Action)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		f.Fields[k] = v
	}
	return postForm(t, c, action.String(), f.Fields)
}
