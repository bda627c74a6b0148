package session

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// h1Server counts the connections it accepts.
func h1Server(t testing.TB, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func h1For(srv *httptest.Server) *H1Transport {
	std := srv.Client().Transport.(*http.Transport)
	return &H1Transport{
		DialContext:    (&net.Dialer{}).DialContext,
		TLSConfig:      std.TLSClientConfig,
		MaxIdlePerHost: 4,
		Fallback:       std,
	}
}

func get(t *testing.T, tr http.RoundTripper, method, u string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func TestH1ReusesConnections(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part1 "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Write(b)
		default:
			w.Header().Set("Content-Length", "5")
			w.Write([]byte("hello"))
		}
	})
	tr := h1For(srv)
	for i := 0; i < 5; i++ {
		if _, body := get(t, tr, "GET", srv.URL+"/", nil); body != "hello" {
			t.Fatalf("body = %q", body)
		}
	}
	if _, body := get(t, tr, "GET", srv.URL+"/chunked", nil); body != "part1 part2" {
		t.Fatalf("chunked body = %q", body)
	}
	if _, body := get(t, tr, "POST", srv.URL+"/echo", strings.NewReader("payload")); body != "payload" {
		t.Fatalf("echo = %q", body)
	}
	if resp, body := get(t, tr, "HEAD", srv.URL+"/", nil); body != "" || resp.ContentLength != 5 {
		t.Fatalf("HEAD: %q %d", body, resp.ContentLength)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for sequential requests, want 1 (keep-alive)", n)
	}
}

func TestH1ConnectionCloseAndUnreadBody(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, strings.Repeat("x", 100<<10))
	})
	tr := h1For(srv)
	get(t, tr, "GET", srv.URL+"/close", nil)
	get(t, tr, "GET", srv.URL+"/", nil)
	if n := conns.Load(); n != 2 {
		t.Fatalf("after Connection: close, %d connections, want 2", n)
	}
	// A body closed before its end cannot be reused.
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close()
	get(t, tr, "GET", srv.URL+"/", nil)
	if n := conns.Load(); n != 3 {
		t.Fatalf("after an unread body, %d connections, want 3", n)
	}
}

func TestH1RetriesAStaleConnection(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := h1For(srv)
	get(t, tr, "GET", srv.URL+"/", nil)
	srv.CloseClientConnections() // the app drops its idle connections
	time.Sleep(50 * time.Millisecond)
	if _, body := get(t, tr, "GET", srv.URL+"/", nil); body != "ok" {
		t.Fatalf("after the app closed the connection: %q", body)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	// A POST without GetBody is not sent twice.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	req, _ := http.NewRequest("POST", srv.URL+"/", io.NopCloser(strings.NewReader("once")))
	if resp, err := tr.RoundTrip(req); err == nil {
		resp.Body.Close()
	}
}

func TestH1CancelMidBody(t *testing.T) {
	release := make(chan struct{})
	srv, _ := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("start"))
		w.(http.Flusher).Flush()
		// Hold the response open even when the client goes away: the
		// read must end by the cancellation, not by the app finishing.
		<-release
	})
	defer close(release)
	tr := h1For(srv)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var got []byte
	go func() { b, err := io.ReadAll(resp.Body); got = b; done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("reading a cancelled body succeeded: %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancel did not end the read")
	}
}

// BenchmarkH1RoundTrip sends a request like the proxy's (a dozen headers)
// over a keep-alive loopback TLS connection and reads a 1 KiB response:
// the transport's own cost, plus the test server's.
func BenchmarkH1RoundTrip(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	srv, _ := h1Server(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1024")
		w.Write(body)
	})
	tr := h1For(srv)
	// Like a server's request, the context can end.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/aura?r=12", nil)
	for k, v := range map[string]string{
		"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br", "Accept-Language": "en-GB,en;q=0.9",
		"Cookie": "BrowserId=b1; sid=00D5e000000abcd", "Referer": "https://acme.lightning.force.com/one/one.app",
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors",
		"Sec-Fetch-Site": "same-origin", "X-Sfdc-Page-Scope-Id": "0a1b2c3d",
	} {
		req.Header.Set(k, v)
	}
	buf := make([]byte, 4096)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.ReadFull(resp.Body, buf[:len(body)])
		if err != nil || n != len(body) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		if _, err := resp.Body.Read(buf); err != io.EOF {
			b.Fatalf("after the body: %v", err)
		}
		resp.Body.Close()
	}
}

func TestH1CancelBeforeHead(t *testing.T) {
	release := make(chan struct{})
	srv, _ := h1Server(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	tr := h1For(srv)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if resp, err := tr.RoundTrip(req); err != context.Canceled {
		t.Fatalf("round trip cancelled while waiting for the head: %v, %v", resp, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	// An ended context fails at once.
	if _, err := tr.RoundTrip(req); err != context.Canceled {
		t.Fatalf("round trip with an ended context: %v", err)
	}
}

// TestH1ReuseAfterContextEnds checks that a context ending after its round
// trip does not close the connection the next one uses.
func TestH1ReuseAfterContextEnds(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		io.WriteString(w, "ok")
	})
	tr := h1For(srv)
	for _, path := range []string{"/", "/empty", "/", "/empty"} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		time.Sleep(3 * cancelCheck)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	tr.wmu.Lock()
	defer tr.wmu.Unlock()
	if len(tr.watched) != 0 || tr.sweeping {
		t.Fatalf("%d round trips still watched (sweeping %v)", len(tr.watched), tr.sweeping)
	}
}

// TestH1CloseBufferedRest checks that a body closed before its end keeps
// the connection when the rest is already buffered, and that the next
// response on it is read from the right place.
func TestH1CloseBufferedRest(t *testing.T) {
	srv, conns := h1Server(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path+strings.Repeat(".", 100))
	})
	tr := h1For(srv)
	for _, path := range []string{"/a", "/b", "/c"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != path {
			t.Fatalf("%s: body starts %q (%v)", path, b, err)
		}
		resp.Body.Close()
		if _, err := resp.Body.Read(b); err != http.ErrBodyReadAfterClose {
			t.Fatalf("read after close: %v", err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}
