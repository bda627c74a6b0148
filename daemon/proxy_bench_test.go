package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/cas-proxy/cas/store"
)

// cannedUpstream answers every request to the app in memory, so that a
// benchmark measures casd's handler alone.
type cannedUpstream struct {
	header http.Header
	body   []byte
}

func (c *cannedUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: c.header.Clone(), Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: r}, nil
}

// discardResponse is a ResponseWriter that counts and drops the body.
type discardResponse struct {
	h    http.Header
	n    int
	code int
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(code int)        { d.code = code }
func (d *discardResponse) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// benchProxied is benchDaemon with an app at www.web.bench whose upstream
// answers with contentType and body, and a session of alice's on it. It
// returns the handler and a browser's request for path on the app's
// proxied host, with the session cookie.
func benchProxied(b *testing.B, contentType string, body []byte, path string) (http.Handler, *http.Request) {
	b.Helper()
	d, _, _ := benchDaemon(b)
	ctx := context.Background()
	d.upstream = &cannedUpstream{header: http.Header{"Content-Type": {contentType}, "Content-Length": {strconv.Itoa(len(body))}}, body: body}
	key, err := newAppKey("web", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := d.db.CreateApp(ctx, &store.App{Name: "web", Template: "custom", IdP: "corp", EntityID: "https://web.bench/sp", ACSURL: "https://www.web.bench/acs", Domains: []string{"www.web.bench"}, Settings: []byte(`{}`), Keys: []store.AppKey{key}}); err != nil {
		b.Fatal(err)
	}
	if err := d.reloadApps(ctx); err != nil {
		b.Fatal(err)
	}
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	id, secret := randomHex(12), randomHex(32)
	data, _ := json.Marshal(sessionData{SecretHash: hashToken(secret), Groups: []string{"sales"}})
	now := d.now()
	if err := d.db.CreateSession(ctx, &store.Session{ID: id, App: "web", User: "alice@example.com", Device: "unmanaged", IP: "192.0.2.10", UserAgent: ua, Data: data, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	host, ok := d.mapper.Load().ToProxy("www.web.bench")
	if !ok {
		b.Fatal("www.web.bench is not mapped")
	}
	r := httptest.NewRequest("GET", "https://"+host+path, nil)
	r.RemoteAddr = "192.0.2.10:5555"
	for k, v := range map[string]string{
		"Cookie":          "__cas_session=" + id + "." + secret + "; _ga=GA1.1.123; theme=dark",
		"User-Agent":      ua,
		"Accept":          "application/json, text/plain, */*",
		"Accept-Encoding": "gzip, deflate, br, zstd",
		"Accept-Language": "en-GB,en;q=0.9",
		"Referer":         "https://" + host + "/app/home",
		"Sec-Fetch-Dest":  "empty",
		"Sec-Fetch-Mode":  "cors",
		"Sec-Fetch-Site":  "same-origin",
		"Sec-Ch-Ua":       `"Chromium";v="131", "Not_A Brand";v="24"`,
		"Priority":        "u=1, i",
	} {
		r.Header.Set(k, v)
	}
	return d.proxyHandler(), r
}

func runProxied(b *testing.B, h http.Handler, r *http.Request, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		w := &discardResponse{h: http.Header{}}
		h.ServeHTTP(w, r)
		if w.code != 200 || w.n < size/2 {
			b.Fatalf("status %d, %d bytes", w.code, w.n)
		}
	}
}

// BenchmarkProxiedJSON sends a browser's XHR for a 1 KiB JSON answer that
// names the app's host through casd's whole handler: routing by host, the
// session check, the session proxy.
func BenchmarkProxiedJSON(b *testing.B) {
	var js bytes.Buffer
	js.WriteString(`{"actions":[`)
	for i := 0; js.Len() < 1000; i++ {
		js.WriteString(`{"id":"` + strconv.Itoa(i) + `","url":"https:\/\/www.web.bench\/aura"},`)
	}
	js.WriteString(`{}]}`)
	h, r := benchProxied(b, "application/json;charset=UTF-8", js.Bytes(), "/aura?r=12")
	runProxied(b, h, r, js.Len())
}

// BenchmarkProxiedPage sends a page view (a navigation to a 4 KiB HTML
// page) through casd's whole handler: a view is decided by the session
// policies and recorded as an event.
func BenchmarkProxiedPage(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`<!DOCTYPE html><html><head><title>Home</title></head><body>`)
	for page.Len() < 4000 {
		page.WriteString(`<p><a href="https://www.web.bench/record/1">a record</a> and some text about it.</p>`)
	}
	page.WriteString(`</body></html>`)
	h, r := benchProxied(b, "text/html; charset=utf-8", page.Bytes(), "/app/home")
	r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	r.Header.Set("Sec-Fetch-Dest", "document")
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	runProxied(b, h, r, page.Len())
}
