package testkit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// Browser is an HTTP client that behaves like a browser for these tests: a
// cookie jar, redirects followed, casd's internal CA trusted, and every name
// dialled on 127.0.0.1 (as browsers do for *.localhost).
type Browser struct {
	*http.Client
	t *testing.T
}

// NewBrowser returns a Browser trusting the CA certificates in caPEM (may be
// empty) and, if certs is given, presenting that client certificate. It
// speaks HTTP/2 where the server offers it, as browsers do.
func NewBrowser(t *testing.T, caPEM []byte, certs ...tls.Certificate) *Browser {
	t.Helper()
	return NewBrowserProto(t, "h2", caPEM, certs...)
}

// NewBrowserProto is NewBrowser speaking proto: "h2" (HTTP/2 where the
// server offers it) or "http/1.1" (only HTTP/1.1, as a browser's WebSocket
// connections and many non-browser clients do).
func NewBrowserProto(t *testing.T, proto string, caPEM []byte, certs ...tls.Certificate) *Browser {
	t.Helper()
	if proto != "h2" && proto != "http/1.1" {
		t.Fatalf("browser: unknown protocol %q", proto)
	}
	pool := x509.NewCertPool()
	if len(caPEM) > 0 && !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("browser: no CA certificate in PEM")
	}
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool, GetClientCertificate: presentAlways(certs)},
		ForceAttemptHTTP2: proto == "h2",
	}
	if proto == "http/1.1" {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	return &Browser{Client: &http.Client{Transport: tr, Jar: jar, Timeout: 60 * time.Second}, t: t}
}

// presentAlways sends the first certificate whatever CAs the server names,
// so tests reach casd's own verification (a browser would withhold a
// certificate from an issuer the server did not name).
func presentAlways(certs []tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		if len(certs) == 0 {
			return &tls.Certificate{}, nil
		}
		return &certs[0], nil
	}
}

// CasdCA reads the internal TLS CA certificate of a casd's state directory.
func CasdCA(t *testing.T, stateDir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "tls-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Page is a fetched page.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
	Proto  string // the protocol it came over: "HTTP/1.1", "HTTP/2.0"
}

// Get fetches a URL, following redirects.
func (b *Browser) Get(u string) *Page {
	b.t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return readPage(b.t, resp)
}

// PostForm posts a form, following redirects.
func (b *Browser) PostForm(u string, v url.Values) *Page {
	b.t.Helper()
	resp, err := b.Client.PostForm(u, v)
	if err != nil {
		b.t.Fatalf("POST %s: %v", u, err)
	}
	return readPage(b.t, resp)
}

func readPage(t *testing.T, resp *http.Response) *Page {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", resp.Request.URL, err)
	}
	return &Page{URL: resp.Request.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body), Proto: resp.Proto}
}

// Form is an HTML form: its action (resolved) and fields.
type Form struct {
	Action string
	Method string
	Fields url.Values
}

// Forms parses every form of the page.
func (p *Page) Forms() []Form {
	doc, err := html.Parse(strings.NewReader(p.Body))
	if err != nil {
		return nil
	}
	var forms []Form
	var cur *Form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f := Form{Method: "get", Fields: url.Values{}}
				for _, a := range n.Attr {
					switch a.Key {
					case "action":
						f.Action = a.Val
					case "method":
						f.Method = strings.ToLower(a.Val)
					}
				}
				if ref, err := url.Parse(f.Action); err == nil && p.URL != nil {
					f.Action = p.URL.ResolveReference(ref).String()
				}
				forms = append(forms, f)
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil {
					var name, val string
					for _, a := range n.Attr {
						switch a.Key {
						case "name":
							name = a.Val
						case "value":
							val = a.Val
						}
					}
					if name != "" {
						cur.Fields.Add(name, val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms
}

// FormWith returns the first form that has a field named field.
func (p *Page) FormWith(t *testing.T, field string) Form {
	t.Helper()
	for _, f := range p.Forms() {
		if _, ok := f.Fields[field]; ok {
			return f
		}
	}
	t.Fatalf("no form with field %q on %s (status %d):\n%s", field, p.URL, p.Status, truncate(p.Body, 3000))
	return Form{}
}

// Submit posts a form as a browser would.
func (b *Browser) Submit(f Form) *Page {
	b.t.Helper()
	if f.Method == "get" {
		u, _ := url.Parse(f.Action)
		u.RawQuery = f.Fields.Encode()
		return b.Get(u.String())
	}
	return b.PostForm(f.Action, f.Fields)
}

// LoginSSP fills in SimpleSAMLphp's login form on page and returns the page
// that follows (the IdP's auto-post form to the SP's ACS).
func (b *Browser) LoginSSP(page *Page, user, password string) *Page {
	b.t.Helper()
	f := page.FormWith(b.t, "AuthState")
	f.Fields.Set("username", user)
	f.Fields.Set("password", password)
	return b.Submit(f)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}
