package session

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// cannedTransport answers every request in memory, so a benchmark measures
// the proxy alone.
type cannedTransport struct {
	header http.Header
	body   func() io.Reader
	size   int64
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: c.header.Clone(), Body: io.NopCloser(c.body()), ContentLength: c.size, Request: r}, nil
}

// discardWriter is a ResponseWriter that counts and drops the body.
type discardWriter struct {
	h    http.Header
	n    int64
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

func benchProxy(b *testing.B, tr http.RoundTripper) *Proxy {
	pats := salesforcePatterns()
	p, err := New(Config{
		Rewriter:       NewRewriter(mustMapper(b, ModeSuffix)),
		Sessions:       fakeSessions{"tok-sf": {ID: "s1", App: "salesforce", User: "alice"}},
		Decider:        deciderFunc(func(Session, *http.Request, Activity) Decision { return Decision{Action: ActionAllow} }),
		Events:         &eventLog{},
		Patterns:       func(string) AppPatterns { return pats },
		Transport:      tr,
		UpstreamScheme: "http",
	})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchRequest(path string) *http.Request {
	r := httptest.NewRequest("GET", sf+path, nil)
	r.Header.Set("Cookie", "__cas_session=tok-sf; BrowserId=b1")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Referer", "https://acme.lightning.force.com.cas.example.net/one/one.app")
	r.Header.Set("User-Agent", "Mozilla/5.0")
	return r
}

// BenchmarkProxyJSON sends a 1 KiB JSON response with app hosts through
// the whole handler.
func BenchmarkProxyJSON(b *testing.B) {
	var js bytes.Buffer
	js.WriteString(`{"actions":[`)
	for i := 0; js.Len() < 1000; i++ {
		js.WriteString(`{"id":"` + strconv.Itoa(i) + `","url":"https:\/\/acme.my.salesforce.com\/aura"},`)
	}
	js.WriteString(`{}]}`)
	body := js.Bytes()
	p := benchProxy(b, &cannedTransport{
		header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}, "Content-Length": {strconv.Itoa(len(body))}},
		body:   func() io.Reader { return bytes.NewReader(body) },
		size:   int64(len(body)),
	})
	r := benchRequest("/aura?r=12")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		p.ServeHTTP(w, r)
		if w.code != 200 || w.n < int64(len(body)) {
			b.Fatalf("status %d, %d bytes", w.code, w.n)
		}
	}
}

// BenchmarkProxyDownload streams a 64 MiB allowed download through the
// handler; B/op shows it is not buffered.
func BenchmarkProxyDownload(b *testing.B) {
	const size = 64 << 20
	p := benchProxy(b, &cannedTransport{
		header: http.Header{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {`attachment; filename="big.bin"`}, "Content-Length": {strconv.Itoa(size)}},
		body:   func() io.Reader { return io.LimitReader(zeroReader{}, size) },
		size:   size,
	})
	r := benchRequest("/sfc/servlet.shepherd/version/download/068xx")
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		p.ServeHTTP(w, r)
		if w.n != size {
			b.Fatalf("copied %d bytes", w.n)
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BenchmarkProxyHTML sends the 100 KiB page through the whole handler.
func BenchmarkProxyHTML(b *testing.B) {
	page := samplePage(100 << 10)
	p := benchProxy(b, &cannedTransport{
		header: http.Header{"Content-Type": {"text/html; charset=UTF-8"}},
		body:   func() io.Reader { return bytes.NewReader(page) },
		size:   int64(len(page)),
	})
	r := benchRequest("/lightning/page/home")
	r.Header.Set("Sec-Fetch-Dest", "document")
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		p.ServeHTTP(w, r)
		if w.code != 200 || w.n < int64(len(page)) {
			b.Fatalf("status %d, %d bytes", w.code, w.n)
		}
	}
}

// BenchmarkProxyDownloadTCP downloads 64 MiB from a loopback app through a
// loopback proxy with a Go client: real sockets on both sides.
func BenchmarkProxyDownloadTCP(b *testing.B) {
	const size = 64 << 20
	h := newHarness(b, nil)
	url := sf + "/sfc/servlet.shepherd/version/download/068xx?n=" + strconv.Itoa(size)
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Cookie", "__cas_session=tok-sf")
		resp, err := h.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}
