package front

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// client is a raw connection to a server under test.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (cl *client) send(raw string) {
	cl.t.Helper()
	if _, err := io.WriteString(cl.c, raw); err != nil {
		cl.t.Fatal(err)
	}
}

// read reads one response (to a request of method) and its body.
func (cl *client) read(method string) (*http.Response, string) {
	cl.t.Helper()
	res, err := http.ReadResponse(cl.br, &http.Request{Method: method})
	if err != nil {
		cl.t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		cl.t.Fatalf("reading body: %v", err)
	}
	return res, string(body)
}

// get sends a GET for path and reads its response.
func (cl *client) get(path string) (*http.Response, string) {
	cl.t.Helper()
	cl.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
	return cl.read("GET")
}

// closed reports whether the server closed the connection (with nothing
// more to read).
func (cl *client) closed() bool {
	cl.t.Helper()
	n, err := cl.br.Read(make([]byte, 1))
	if n > 0 {
		cl.t.Fatalf("unexpected bytes after the response")
	}
	return err != nil && !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// serve runs h on a front.Server with quiet logs; set adjusts it.
func serve(t *testing.T, h http.HandlerFunc, set ...func(*Server)) string {
	t.Helper()
	s := &Server{Handler: h, ErrorLog: quietLog()}
	for _, f := range set {
		f(s)
	}
	return serveFront(t, s)
}

func TestSmallBodyContentLength(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, ")
		io.WriteString(w, "world")
	})
	cl := dial(t, addr)
	for range 2 {
		res, body := cl.get("/")
		if res.ContentLength != 12 || len(res.TransferEncoding) != 0 || body != "hello, world" {
			t.Fatalf("length %d, encoding %v, body %q", res.ContentLength, res.TransferEncoding, body)
		}
		if res.Header.Get("Date") == "" {
			t.Errorf("no Date")
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type %q, want sniffed text/plain", ct)
		}
	}
}

func TestEmptyBody(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {})
	res, body := dial(t, addr).get("/")
	if res.StatusCode != 200 || res.ContentLength != 0 || body != "" || res.Header.Get("Content-Type") != "" {
		t.Fatalf("status %d, length %d, type %q, body %q", res.StatusCode, res.ContentLength, res.Header.Get("Content-Type"), body)
	}
}

func TestLargeBodyChunked(t *testing.T) {
	want := strings.Repeat("<html>0123456789", 1000) // 16 000 bytes
	for _, tc := range []struct {
		name  string
		write func(w http.ResponseWriter)
	}{
		{"small writes", func(w http.ResponseWriter) {
			for i := 0; i < len(want); i += 1000 {
				io.WriteString(w, want[i:i+1000])
			}
		}},
		{"one write", func(w http.ResponseWriter) { io.WriteString(w, want) }},
		{"read from", func(w http.ResponseWriter) { io.Copy(w, strings.NewReader(want)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, func(w http.ResponseWriter, r *http.Request) { tc.write(w) })
			cl := dial(t, addr)
			for range 2 {
				res, body := cl.get("/")
				if res.ContentLength != -1 || len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
					t.Fatalf("length %d, encoding %v, want chunked", res.ContentLength, res.TransferEncoding)
				}
				if body != want {
					t.Fatalf("body of %d bytes differs", len(body))
				}
				if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q, want sniffed text/html", ct)
				}
			}
		})
	}
}

func TestDeclaredContentLength(t *testing.T) {
	want := strings.Repeat("x", 10000)
	errc := make(chan error, 1)
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(want)))
		io.WriteString(w, want[:5000])
		io.WriteString(w, want[5000:])
		_, err := io.WriteString(w, "!")
		errc <- err
	})
	cl := dial(t, addr)
	for range 2 {
		res, body := cl.get("/")
		if res.ContentLength != int64(len(want)) || len(res.TransferEncoding) != 0 || body != want {
			t.Fatalf("length %d, encoding %v, body of %d bytes", res.ContentLength, res.TransferEncoding, len(body))
		}
		if err := <-errc; err != http.ErrContentLength {
			t.Fatalf("writing beyond the declared length: %v, want ErrContentLength", err)
		}
	}
}

func TestShortContentLengthCloses(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "hello")
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if string(body) != "hello" || err != io.ErrUnexpectedEOF {
		t.Fatalf("body %q, %v; want the 5 bytes written, then the connection closed", body, err)
	}
}

func TestHead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		length int64
	}{
		{"written", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }, 5},
		{"declared", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Content-Length", "100") }, 100},
		// As net/http: nothing written may be a handler that saw HEAD.
		{"nothing", func(w http.ResponseWriter, r *http.Request) {}, -1},
		{"large", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 10000)) }, 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dial(t, serve(t, tc.h))
			for range 2 {
				cl.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
				res, body := cl.read("HEAD")
				if res.ContentLength != tc.length || body != "" || len(res.TransferEncoding) != 0 {
					t.Fatalf("length %d, encoding %v, body %q; want length %d", res.ContentLength, res.TransferEncoding, body, tc.length)
				}
			}
		})
	}
}

func TestHeadContentTypeSniffed(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hi") })
	cl := dial(t, addr)
	cl.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, _ := cl.read("HEAD")
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("HEAD Content-Type %q, want the GET's text/html", ct)
	}
}

func TestNoBodyStatuses(t *testing.T) {
	for _, code := range []int{http.StatusNoContent, http.StatusNotModified} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			errc := make(chan error, 1)
			addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "5")
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(code)
				_, err := io.WriteString(w, "hello")
				errc <- err
			})
			cl := dial(t, addr)
			cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
			head := readHead(t, cl.br)
			if strings.Contains(strings.ToLower(head), "content-length") || strings.Contains(strings.ToLower(head), "transfer-encoding") {
				t.Errorf("head carries a length:\n%s", head)
			}
			if err := <-errc; err != http.ErrBodyNotAllowed {
				t.Errorf("Write: %v, want ErrBodyNotAllowed", err)
			}
			// No body followed: the next response comes next.
			if res, _ := cl.get("/"); res.StatusCode != code {
				t.Fatalf("second status %d", res.StatusCode)
			}
		})
	}
}

// readHead reads a response head as text.
func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading head: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

func TestEarlyHints(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "done")
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, _ := cl.read("GET")
	if res.StatusCode != 103 || res.Header.Get("Link") == "" {
		t.Fatalf("first response %d, Link %q; want 103 with Link", res.StatusCode, res.Header.Get("Link"))
	}
	res, body := cl.read("GET")
	if res.StatusCode != 200 || body != "done" || res.Header.Get("Link") != "" {
		t.Fatalf("final response %d %q, Link %q", res.StatusCode, body, res.Header.Get("Link"))
	}
}

func TestFlushStreams(t *testing.T) {
	release := make(chan struct{})
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("first chunk %q, %v", buf, err)
	}
	close(release)
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	if res, body := cl.get("/x"); res.StatusCode != 200 || body != "firstsecond" {
		t.Fatalf("reuse: %d %q", res.StatusCode, body)
	}
}

func TestHijack(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		nc, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		if _, err := w.Write([]byte("x")); err != http.ErrHijacked {
			t.Errorf("Write after Hijack: %v", err)
		}
		line, err := rw.ReadString('\n')
		if err != nil {
			t.Error(err)
			return
		}
		rw.WriteString("echo " + line)
		rw.Flush()
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\nearly bytes\n")
	line, err := cl.br.ReadString('\n')
	if err != nil || line != "echo early bytes\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}

func TestContentTypeKept(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/set":
			w.Header().Set("Content-Type", "application/x-mine")
		case "/encoded":
			w.Header().Set("Content-Encoding", "gzip")
		case "/none":
			w.Header()["Content-Type"] = nil
		}
		io.WriteString(w, "<html>")
	})
	cl := dial(t, addr)
	for path, want := range map[string]string{"/set": "application/x-mine", "/encoded": "", "/none": "", "/": "text/html; charset=utf-8"} {
		if res, _ := cl.get(path); res.Header.Get("Content-Type") != want {
			t.Errorf("%s: Content-Type %q, want %q", path, res.Header.Get("Content-Type"), want)
		}
	}
}

func TestHandlerConnectionClose(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	cl := dial(t, addr)
	res, body := cl.get("/")
	if !res.Close || body != "bye" {
		t.Fatalf("close %v, body %q", res.Close, body)
	}
	if !cl.closed() {
		t.Fatal("connection still open")
	}
}

func TestHTTP10CloseDelimited(t *testing.T) {
	want := strings.Repeat("y", 10000)
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, want) })
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.0\r\n\r\n")
	res, body := cl.read("GET")
	if res.ProtoMinor != 0 || res.ContentLength != -1 || len(res.TransferEncoding) != 0 || body != want {
		t.Fatalf("proto %s, length %d, encoding %v, body of %d bytes", res.Proto, res.ContentLength, res.TransferEncoding, len(body))
	}
}

func TestResponseHeaderInjection(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-A", "one\r\nX-Injected: 1")
		w.Header().Set("X-B", "two\nX-Injected: 2")
		w.Header().Set("X-C", "three\rX-Injected: 3")
		w.Header()["Bad Name"] = []string{"v"}
		w.Header()["X-D\r\nX-Injected"] = []string{"4"}
		w.Header()["X-E:X-Injected"] = []string{"5"}
		w.Header()[""] = []string{"6"}
		io.WriteString(w, "ok")
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	head := readHead(t, cl.br)
	if strings.Contains(head, "\nX-Injected") || strings.Contains(head, "Bad Name") || strings.Contains(head, "X-E") || strings.Contains(head, "\n: 6") {
		t.Fatalf("head:\n%s", head)
	}
	for _, l := range strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n") {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("bare CR or LF in %q", l)
		}
	}
	if !strings.Contains(head, "X-A: one  X-Injected: 1\r\n") {
		t.Errorf("X-A not kept on one line:\n%s", head)
	}
}

func TestHeaderChangedAfterWriteHeader(t *testing.T) {
	want := strings.Repeat("z", 6000)
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		// net/http sends the header as it was at WriteHeader.
		w.Header().Set("Content-Length", "100")
		w.Header().Set("X-Late", "1")
		io.WriteString(w, want)
	})
	cl := dial(t, addr)
	for range 2 {
		res, body := cl.get("/")
		if body != want || res.Header.Get("X-Late") != "" {
			t.Fatalf("length %d, encoding %v, X-Late %q, body of %d bytes", res.ContentLength, res.TransferEncoding, res.Header.Get("X-Late"), len(body))
		}
	}
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if head := readHead(t, cl.br); strings.Contains(head, "Content-Length") {
		// With Transfer-Encoding: chunked, a desync between a proxy
		// and its client.
		t.Fatalf("a late Content-Length was sent:\n%s", head)
	}
}

func TestTwoContentLengthValues(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{"2", "5"}
		io.WriteString(w, "hi")
	})
	cl := dial(t, addr)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	head := readHead(t, cl.br)
	if n := strings.Count(strings.ToLower(head), "content-length"); n != 1 {
		t.Fatalf("%d Content-Length lines:\n%s", n, head)
	}
}

func TestUnreadBody(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, tc := range []struct {
		name string
		head string
		body string
		keep bool
	}{
		{"small", "Content-Length: 102400", strings.Repeat("b", 100<<10), true},
		{"small chunked", "Transfer-Encoding: chunked", chunk(strings.Repeat("b", 100<<10)), true},
		{"large", "Content-Length: 1048576", strings.Repeat("b", 1<<20), false},
		{"large chunked", "Transfer-Encoding: chunked", chunk(strings.Repeat("b", 1<<20)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dial(t, addr)
			go io.WriteString(cl.c, "POST / HTTP/1.1\r\nHost: a\r\n"+tc.head+"\r\n\r\n"+tc.body)
			res, err := http.ReadResponse(cl.br, nil)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			if res.Close == tc.keep {
				t.Fatalf("Connection: close %v, want %v", res.Close, !tc.keep)
			}
			if tc.keep {
				if res, _ := cl.get("/"); res.StatusCode != 200 {
					t.Fatalf("reuse: %d", res.StatusCode)
				}
			}
		})
	}
}

// TestUnreadBodyStalled checks the response to a request whose body the
// handler did not read is not held back by a client that stops sending it.
func TestUnreadBodyStalled(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, func(s *Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.IdleTimeout = 10 * time.Second
	})
	for _, tc := range []struct{ name, raw string }{
		// More is declared than is drained: net/http answers at once.
		{"large", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10485760\r\n\r\nabc"},
		// Small enough to drain, but it never comes.
		{"small", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc"},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := dial(t, addr)
			cl.send(tc.raw)
			start := time.Now()
			res, body := cl.read("POST")
			if !res.Close || body != "ok" {
				t.Fatalf("close %v, body %q", res.Close, body)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("answered after %v", d)
			}
			if !cl.closed() {
				t.Fatal("connection still open")
			}
		})
	}
}

func chunk(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := min(len(s), 8192)
		b.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n" + s[:n] + "\r\n")
		s = s[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestIdleTimeout(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {}, func(s *Server) {
		s.IdleTimeout = 200 * time.Millisecond
		s.ReadHeaderTimeout = 5 * time.Second
	})
	cl := dial(t, addr)
	cl.get("/")
	start := time.Now()
	if !cl.closed() {
		t.Fatal("idle connection not closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestReadHeaderTimeout(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {}, func(s *Server) {
		s.IdleTimeout = 10 * time.Second
		s.ReadHeaderTimeout = 200 * time.Millisecond
	})
	for _, first := range []bool{true, false} {
		t.Run("first="+strconv.FormatBool(first), func(t *testing.T) {
			cl := dial(t, addr)
			if !first {
				cl.get("/")
			}
			cl.send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
			start := time.Now()
			if !cl.closed() {
				t.Fatal("slow head not cut off")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("cut off after %v", d)
			}
		})
	}
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPanicRecovered(t *testing.T) {
	var logs lockedBuffer
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "fine")
	}, func(s *Server) { s.ErrorLog = log.New(&logs, "", 0) })
	other := dial(t, addr)
	other.get("/")
	for _, path := range []string{"/panic", "/abort"} {
		cl := dial(t, addr)
		cl.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if !cl.closed() {
			t.Fatalf("%s: connection still open", path)
		}
	}
	if l := logs.String(); !strings.Contains(l, "panic") || !strings.Contains(l, "boom") || strings.Count(l, "panic serving") != 1 {
		t.Errorf("log:\n%s", l)
	}
	if res, body := other.get("/"); res.StatusCode != 200 || body != "fine" {
		t.Fatalf("other connection: %d %q", res.StatusCode, body)
	}
	if res, _ := dial(t, addr).get("/"); res.StatusCode != 200 {
		t.Fatalf("new connection: %d", res.StatusCode)
	}
}

func TestShutdown(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "ok")
	}), ErrorLog: quietLog(), IdleTimeout: time.Minute}
	addr := serveFront(t, s)

	idle := dial(t, addr)
	idle.get("/")
	fresh := dial(t, addr) // connected, nothing sent
	busy := dial(t, addr)
	busy.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	if !idle.closed() {
		t.Fatal("idle connection not closed")
	}
	if !fresh.closed() {
		t.Fatal("new connection not closed")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	res, body := busy.read("GET")
	if !res.Close || body != "ok" {
		t.Fatalf("in-flight response: close %v, body %q", res.Close, body)
	}
	if !busy.closed() {
		t.Fatal("busy connection not closed")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A connection handed over after Shutdown is closed at once.
	late := dial(t, addr)
	late.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if !late.closed() {
		t.Fatal("connection after Shutdown served")
	}
}

func TestShutdownDeadline(t *testing.T) {
	started := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}), ErrorLog: quietLog()}
	addr := serveFront(t, s)
	busy := dial(t, addr)
	busy.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v", err)
	}
	if !busy.closed() {
		t.Fatal("connection not closed")
	}
}

func TestClose(t *testing.T) {
	started := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			r.Body.Read(make([]byte, 1)) // ends when the connection does
		}
	}), ErrorLog: quietLog()}
	addr := serveFront(t, s)
	idle := dial(t, addr)
	idle.get("/")
	busy := dial(t, addr)
	busy.send("POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n")
	<-started
	s.Close()
	if !idle.closed() || !busy.closed() {
		t.Fatal("connections not closed")
	}
}

// TestHandlerReadsAfterTimeouts checks the deadlines the server reads a
// head under (ReadHeaderTimeout, IdleTimeout) are lifted before the
// handler reads: a body that comes after them, or a hijacked connection
// read after them, is still read.
func TestHandlerReadsAfterTimeouts(t *testing.T) {
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			time.Sleep(300 * time.Millisecond)
			nc, rw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			line, err := rw.ReadString('\n')
			if err != nil {
				t.Errorf("hijacked read: %v", err)
				return
			}
			rw.WriteString("echo " + line)
			rw.Flush()
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the body: %v", err)
		}
		w.Write(body)
	}, func(s *Server) {
		s.ReadHeaderTimeout = 100 * time.Millisecond
		s.IdleTimeout = 150 * time.Millisecond
	})
	cl := dial(t, addr)
	for i := range 2 { // the first request under ReadHeaderTimeout, the second under IdleTimeout
		cl.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
		time.Sleep(300 * time.Millisecond)
		cl.send("hello")
		if res, body := cl.read("POST"); res.StatusCode != 200 || body != "hello" {
			t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
		}
	}
	cl.send("GET /hijack HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(400 * time.Millisecond)
	cl.send("late\n")
	if line, err := cl.br.ReadString('\n'); err != nil || line != "echo late\n" {
		t.Fatalf("got %q, %v", line, err)
	}
}
