package front

import (
	"bufio"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// The parity tests send the same raw bytes to a net/http.Server and to a
// front.Server serving the same handler, and compare what each did: front
// must never run the handler for a request net/http refuses.

// pair is one handler served by both servers on loopback TCP.
type pair struct {
	std, front string // addresses
	stdRuns    *runLog
	frontRuns  *runLog
}

// runLog records the requests a handler ran for, by client address.
type runLog struct {
	mu   sync.Mutex
	reqs map[string][]seen
}

// seen is what a handler saw of a request: all of it that comes from
// the client's bytes.
type seen struct {
	Method, RequestURI, Proto string
	ProtoMajor, ProtoMinor    int
	URL                       url.URL
	Host                      string
	Header                    http.Header
	ContentLength             int64
	TransferEncoding          []string
	Close                     bool
	// Trailer is the request's as the handler starts (the declared
	// keys), ReadTrailer after it read the body.
	Trailer, ReadTrailer http.Header
	// Forms reports whether a form field is set (the server must not).
	Forms   bool
	Body    string
	BodyErr string
}

// see records r; with body, it reads the body first.
func see(r *http.Request, body bool) seen {
	s := seen{
		Method: r.Method, RequestURI: r.RequestURI, Proto: r.Proto,
		ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		URL: *r.URL, Host: r.Host, Header: r.Header.Clone(),
		ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, Close: r.Close,
		Trailer: r.Trailer.Clone(),
		Forms:   r.Form != nil || r.PostForm != nil || r.MultipartForm != nil,
	}
	if body {
		b, err := io.ReadAll(r.Body)
		s.Body = string(b)
		if err != nil {
			s.BodyErr = err.Error()
		}
		s.ReadTrailer = r.Trailer.Clone()
	}
	return s
}

func (l *runLog) add(remote string, s seen) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reqs == nil {
		l.reqs = make(map[string][]seen)
	}
	l.reqs[remote] = append(l.reqs[remote], s)
}

func (l *runLog) take(remote string) []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.reqs[remote]
	delete(l.reqs, remote)
	return s
}

// recording wraps h to log each request (but the probe) before h runs;
// when h is nil, it reads the body and answers "ok".
func recording(l *runLog, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/probe" {
			io.WriteString(w, "probe")
			return
		}
		if h != nil {
			l.add(r.RemoteAddr, see(r, false))
			h.ServeHTTP(w, r)
			return
		}
		l.add(r.RemoteAddr, see(r, true))
		io.WriteString(w, "ok")
	})
}

// quietLog discards a server's log.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// servePair serves h (nil: read the body, answer "ok") through both
// servers, with the same limits.
func servePair(t testing.TB, h http.Handler, maxHeader int) *pair {
	t.Helper()
	p := &pair{stdRuns: &runLog{}, frontRuns: &runLog{}}
	hs := &http.Server{
		Handler:           recording(p.stdRuns, h),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          quietLog(),
		// "OPTIONS *" is a server policy, not a parsing check: let it
		// reach the handler as front does.
		DisableGeneralOptionsHandler: true,
	}
	ln := listen(t)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	p.std = ln.Addr().String()
	p.front = serveFront(t, &Server{
		Handler:           recording(p.frontRuns, h),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          quietLog(),
	})
	return p
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveFront runs s on a loopback listener until the test ends.
func serveFront(t testing.TB, s *Server) string {
	return serveFrontConns(t, s, nil)
}

// serveFrontConns is serveFront with each accepted connection first
// passed through prep (when set), on its own goroutine: what prep
// returns is served, nil is dropped.
func serveFrontConns(t testing.TB, s *Server, prep func(net.Conn) net.Conn) string {
	t.Helper()
	ln := listen(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				if prep != nil {
					if c = prep(c); c == nil {
						return
					}
				}
				s.ServeConn(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// outcome is what a server did with a raw request.
type outcome struct {
	Ran      int   // handler runs
	Statuses []int // responses read (final or interim)
	Open     bool  // a probe request afterwards was answered
	seen     []seen
}

// exchange sends raw to addr, reads n responses (to a request of method),
// then probes whether the connection still serves requests.
func exchange(t testing.TB, addr string, runs *runLog, raw, method string, n int) outcome {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var o outcome
	for range n {
		res, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			break
		}
		o.Statuses = append(o.Statuses, res.StatusCode)
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			break
		}
	}
	if _, err := io.WriteString(c, "GET /probe HTTP/1.1\r\nHost: probe\r\n\r\n"); err == nil {
		res, err := http.ReadResponse(br, nil)
		o.Open = err == nil && res.StatusCode == 200
	}
	o.seen = runs.take(c.LocalAddr().String())
	o.Ran = len(o.seen)
	return o
}

func TestParity(t *testing.T) {
	p := servePair(t, nil, 4096)
	get := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	cases := []struct {
		name   string
		raw    string
		method string // of the request whose response is read first
		n      int    // responses to read; 1 if 0
		want   int    // net/http's first status
		// front, when set, is front's outcome where it deliberately
		// differs from net/http's (the case's comment says why).
		front *outcome
	}{
		{name: "get", raw: get, want: 200},
		{name: "pipelined", raw: get + get + get, n: 3, want: 200},
		{name: "head", raw: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", method: "HEAD", want: 200},
		{name: "post content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", want: 200},
		{name: "post chunked", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 200},
		{name: "post chunked with trailer", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", want: 200},
		{name: "post then CRLF", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n" + get, n: 2, want: 200},
		{name: "get then CRLF", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n" + get, n: 2, want: 200},
		{name: "bad request line", raw: "GET /\r\nHost: a\r\n\r\n", want: 400},
		{name: "bad method", raw: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", want: 400},
		{name: "bad version", raw: "GET / HTTP/1.x\r\nHost: a\r\n\r\n", want: 400},
		{name: "space before colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nFoo : bar\r\n\r\n", want: 400},
		{name: "CR in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nFoo: b\rar\r\n\r\n", want: 400},
		{name: "LF in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nFoo: b\nar\r\n\r\n", want: 400},
		{name: "NUL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nFoo: b\x00ar\r\n\r\n", want: 400},
		{name: "NUL in name", raw: "GET / HTTP/1.1\r\nHost: a\r\nF\x00o: bar\r\n\r\n", want: 400},
		{name: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: a\r\nFoo: a\r\n b\r\n\r\n", want: 200},
		{name: "leading whitespace header", raw: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", want: 400},
		{name: "two content-lengths", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", want: 400},
		{name: "same content-length twice", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", want: 200},
		{name: "negative content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", want: 400},
		{name: "plus content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", want: 400},
		{name: "content-length and chunked", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", want: 200},
		{name: "transfer-encoding gzip", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
		{name: "transfer-encoding list", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", want: 501},
		{name: "transfer-encoding chunked twice", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 501},
		{name: "bad chunk size", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", want: 200},
		{name: "missing host", raw: "GET / HTTP/1.1\r\n\r\n", want: 400},
		{name: "http/1.0 without host", raw: "GET / HTTP/1.0\r\n\r\n", want: 200},
		{name: "http/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", want: 200,
			// HTTP/1.0 keep-alive is not supported: front closes.
			front: &outcome{Ran: 1, Statuses: []int{200}}},
		{name: "connection close", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", want: 200},
		{name: "two hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: 400},
		{name: "empty host", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n", want: 200},
		{name: "host with space", raw: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", want: 400},
		{name: "host with brace", raw: "GET / HTTP/1.1\r\nHost: a{b}\r\n\r\n", want: 400},
		{name: "host with slash", raw: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", want: 400},
		{name: "PRI preface", raw: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: 200,
			// net/http lets a handler take over an h2c preface; casd
			// speaks HTTP/2 only after ALPN, so front refuses it.
			front: &outcome{Statuses: []int{505}}},
		{name: "http/0.9", raw: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", want: 505},
		{name: "http/3.0", raw: "GET / HTTP/3.0\r\nHost: a\r\n\r\n", want: 505},
		{name: "http/1.2", raw: "GET / HTTP/1.2\r\nHost: a\r\n\r\n", want: 200},
		{name: "head too large", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 12<<10) + "\r\n\r\n", want: 431},
		{name: "expect other", raw: "POST / HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\nContent-Length: 5\r\n\r\nhello", want: 417},
		{name: "expect list", raw: "POST / HTTP/1.1\r\nHost: a\r\nExpect: fancy, 100-continue\r\nContent-Length: 5\r\n\r\nhello", n: 2, want: 100,
			// net/http ignores expectations it does not know next to
			// 100-continue; front refuses them, as RFC 9110 allows.
			front: &outcome{Statuses: []int{417}}},
		{name: "expect continue, body sent", raw: "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello", n: 2, want: 100},
		{name: "absolute-form", raw: "GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n", want: 200},
		{name: "absolute-form without host", raw: "GET http://a/x HTTP/1.1\r\n\r\n", want: 400},
		{name: "absolute-form with bad host", raw: "GET http://a/x HTTP/1.1\r\nHost: a b\r\n\r\n", want: 400},
		{name: "absolute-form with two hosts", raw: "GET http://a/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: 400},
		{name: "asterisk options", raw: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "connect", raw: "CONNECT a:443 HTTP/1.1\r\n\r\n", want: 200},
		{name: "fragment in target", raw: "GET /#x HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "bad target", raw: "GET a%zz HTTP/1.1\r\nHost: a\r\n\r\n", want: 400},
		{name: "escaped path and query", raw: "GET /a%2Fb/%7Ec?x=%zz&y=1+2 HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "bad escape in path", raw: "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", want: 400},
		{name: "force query", raw: "GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "double slash", raw: "GET //a/b HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "connect path", raw: "CONNECT /rpc HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "absolute-form with port and query", raw: "GET https://u@a:8443/x?q HTTP/1.1\r\nHost: b\r\n\r\n", want: 200},
		{name: "lower-case keys", raw: "GET / HTTP/1.1\r\nhost: a\r\nsec-ch-ua: \"x\"\r\nx-WEIRD-case: 1\r\ncontent-length: 0\r\n\r\n", want: 200},
		{name: "repeated fields", raw: "GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nX: 1\r\naccept: b\r\nX: 2\r\nAccept: c\r\n\r\n", want: 200},
		{name: "value spaces and tabs", raw: "GET / HTTP/1.1\r\nHost: a\r\nX:\t  a b\t \r\nY:\r\nZ:   \r\n\r\n", want: 200},
		{name: "obs-fold spaces", raw: "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n  b \r\n\t\r\n c\r\n\r\n", want: 200},
		{name: "obs-fold first field", raw: "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", want: 400},
		{name: "bare LF", raw: "GET / HTTP/1.1\nHost: a\nX: 1\n\n", want: 200},
		{name: "bare CR line", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n", want: 400},
		{name: "obs-text value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\x80\r\n\r\n", want: 200},
		{name: "DEL in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", want: 400},
		{name: "empty name", raw: "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", want: 400},
		{name: "no colon", raw: "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", want: 400},
		{name: "token punctuation name", raw: "GET / HTTP/1.1\r\nHost: a\r\nx!#$%&'*+-.^_`|~9: 1\r\n\r\n", want: 200},
		{name: "pragma no-cache", raw: "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n", want: 200},
		{name: "pragma with cache-control", raw: "GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\nCache-Control: max-age=1\r\n\r\n", want: 200},
		{name: "connection close token", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n", want: 200},
		{name: "space name then bad TE", raw: "POST / HTTP/1.1\r\nHost: a\r\nX y: 1\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
		{name: "space name on http/3.0", raw: "GET / HTTP/3.0\r\nHost: a\r\nX y: 1\r\n\r\n", want: 505},
		{name: "bad TE on http/3.0", raw: "GET / HTTP/3.0\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
		{name: "bad TE on http/0.9", raw: "GET / HTTP/0.9\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: 505},
		{name: "bad TE on http/0.0", raw: "GET / HTTP/0.0\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
		{name: "bad TE, two hosts", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nTransfer-Encoding: gzip\r\n\r\n", want: 400},
		{name: "bad TE, bad content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
		{name: "chunked upper-case", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n", want: 200},
		{name: "chunked on http/1.0", raw: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", want: 200},
		{name: "chunked, bad content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},
		{name: "chunked with extension", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n", want: 200},
		{name: "content-length spaces", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  3 \r\nContent-Length: 3\r\n\r\nabc", want: 200},
		{name: "content-length leading zeros", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc", want: 200},
		{name: "empty content-length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", want: 400},
		{name: "content-length on GET", raw: "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + get, n: 2, want: 200},
		{name: "declared trailer", raw: "POST / HTTP/1.1\r\nHost: a\r\nTrailer: x-a, X-B,, \r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX-A: 1\r\nx-c: 2\r\n\r\n" + get, n: 2, want: 200},
		{name: "trailer without chunked", raw: "POST / HTTP/1.1\r\nHost: a\r\nTrailer: X-A\r\nContent-Length: 1\r\n\r\na", want: 200},
		{name: "empty trailer declared", raw: "POST / HTTP/1.1\r\nHost: a\r\nTrailer: ,\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 200},
		{name: "forbidden trailer", raw: "POST / HTTP/1.1\r\nHost: a\r\nTrailer: content-length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", want: 400},
		{name: "bad trailer", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A 1\r\n\r\n", want: 200},
		{name: "head over two reads", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + strings.Repeat("p", 3000) + "\r\nX-More: " + strings.Repeat("q", 2000) + "\r\n\r\n", want: 200},
		{name: "method token", raw: "M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", want: 200},
		{name: "empty request line", raw: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: 400},
		{name: "request line trailing space", raw: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", want: 400},
		{name: "control byte in target", raw: "GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", want: 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := max(tc.n, 1)
			std := exchange(t, p.std, p.stdRuns, tc.raw, tc.method, n)
			fr := exchange(t, p.front, p.frontRuns, tc.raw, tc.method, n)
			if len(std.Statuses) == 0 || std.Statuses[0] != tc.want {
				t.Errorf("net/http: %+v, want status %d", std, tc.want)
			}
			if fr.Ran > std.Ran {
				t.Fatalf("front ran the handler %d times, net/http %d: front %+v, net/http %+v", fr.Ran, std.Ran, fr, std)
			}
			for i := range fr.seen {
				if !reflect.DeepEqual(fr.seen[i], std.seen[i]) {
					t.Errorf("request %d differs:\nfront    %+v\nnet/http %+v", i, fr.seen[i], std.seen[i])
				}
			}
			fr.seen, std.seen = nil, nil
			want := std
			if tc.front != nil {
				want = *tc.front
			}
			if !reflect.DeepEqual(fr, want) {
				t.Errorf("front %+v, want %+v (net/http %+v)", fr, want, std)
			}
		})
	}
}

// TestParityExpectContinue checks that 100 Continue is sent when the
// handler reads the body, and not when it answers without reading.
func TestParityExpectContinue(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" {
			io.Copy(io.Discard, r.Body)
		}
		io.WriteString(w, "done")
	})
	p := servePair(t, h, 0)
	for _, path := range []string{"/read", "/ignore"} {
		for _, srv := range []struct {
			name, addr string
			runs       *runLog
		}{{"net/http", p.std, p.stdRuns}, {"front", p.front, p.frontRuns}} {
			t.Run(srv.name+path, func(t *testing.T) {
				c, err := net.Dial("tcp", srv.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
				br := bufio.NewReader(c)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if path == "/ignore" {
					if res.StatusCode != 200 {
						t.Fatalf("status %d, want 200 without 100 Continue", res.StatusCode)
					}
					if !res.Close {
						t.Errorf("the connection stays open, its unsent body unknown")
					}
					return
				}
				if res.StatusCode != 100 {
					t.Fatalf("status %d, want 100", res.StatusCode)
				}
				io.WriteString(c, "hello")
				res, err = http.ReadResponse(br, nil)
				if err != nil || res.StatusCode != 200 {
					t.Fatalf("final response %v, %v", res, err)
				}
			})
		}
	}
}

// TestParityTLS checks a request over TLS sees the handshake's state.
func TestParityTLS(t *testing.T) {
	got := make(chan *tls.ConnectionState, 1)
	ts := httptest.NewUnstartedServer(nil)
	ts.EnableHTTP2 = false
	ts.StartTLS()
	defer ts.Close()
	cfg := ts.TLS.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.TLS
	}), ErrorLog: quietLog()}
	ln := listen(t)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return
		}
		s.ServeConn(tc)
	}()
	defer s.Close()
	cl := ts.Client()
	cl.Transport.(*http.Transport).TLSClientConfig.NextProtos = []string{"http/1.1"}
	res, err := cl.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	st := <-got
	if st == nil {
		t.Fatal("r.TLS is nil")
	}
	if !st.HandshakeComplete || st.NegotiatedProtocol != "http/1.1" || st.Version < tls.VersionTLS12 {
		t.Errorf("TLS state: complete %v, protocol %q, version %x", st.HandshakeComplete, st.NegotiatedProtocol, st.Version)
	}
	if res.TLS == nil || res.ProtoMajor != 1 {
		t.Errorf("response over %s, TLS %v", res.Proto, res.TLS != nil)
	}
}

// FuzzParity holds front to net/http on arbitrary bytes: when net/http
// does not run the handler for a request, front must not either, and the
// requests both ran must look the same to the handler.
func FuzzParity(f *testing.F) {
	for _, s := range parityCorpus {
		f.Add([]byte(s))
	}
	p := servePair(f, nil, 0)
	f.Fuzz(func(t *testing.T, raw []byte) {
		std := sendAll(t, p.std, p.stdRuns, raw)
		fr := sendAll(t, p.front, p.frontRuns, raw)
		if len(fr) > len(std) {
			t.Fatalf("front ran %d requests, net/http %d:\nfront %+v\nnet/http %+v", len(fr), len(std), fr, std)
		}
		for i := range fr {
			if !reflect.DeepEqual(fr[i], std[i]) {
				t.Fatalf("request %d differs:\nfront    %+v\nnet/http %+v", i, fr[i], std[i])
			}
		}
	})
}

// sendAll writes raw, half-closes, reads until the server closes, and
// returns what the handler saw.
func sendAll(t *testing.T, addr string, runs *runLog, raw []byte) []seen {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Closing with a reset spares the servers' side its TIME_WAIT: at
	// thousands of connections a second, those would use up the ports.
	c.(*net.TCPConn).SetLinger(0)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write(raw)
		c.(*net.TCPConn).CloseWrite()
	}()
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Fatalf("reading from %s: %v", addr, err)
	}
	return runs.take(c.LocalAddr().String())
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "connection reset")
}

// parityCorpus seeds FuzzParity.
var parityCorpus = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\n\r\n",
	"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nFoo : bar\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nFoo: b\rar\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nFoo: b\x00ar\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nFoo: a\r\n b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/0.9\r\nHost: a\r\n\r\n",
	"GET / HTTP/3.0\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: a\r\nExpect: fancy\r\nContent-Length: 5\r\n\r\nhello",
	"GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n",
	"GET http://a/x HTTP/1.1\r\n\r\n",
	"GET http://a/x HTTP/1.1\r\nHost: a b\r\n\r\n",
	"CONNECT a:443 HTTP/1.1\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a%2Fb/%7Ec?x=%zz&y=1+2 HTTP/1.1\r\nhost: a\r\nsec-ch-ua: \"x\"\r\nAccept: a\r\naccept: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n  b \r\n\t\r\n c\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\nX: caf\xc3\xa9\nConnection: foo, Close\n\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTrailer: x-a, X-B\r\nTransfer-Encoding: chunked\r\n\r\n1;e\r\na\r\n0\r\nX-A: 1\r\nx-c: 2\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  3 \r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
	"CONNECT /rpc HTTP/1.1\r\nHost: a\r\n\r\nGET https://u@a:8443/x?q HTTP/1.1\r\nHost: b\r\n\r\n",
}
