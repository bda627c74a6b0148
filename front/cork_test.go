//go:build linux

package front

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cas-proxy/cas/netio"
	"github.com/cas-proxy/cas/pki"
)

// corkSpy is casd's socket (netio's Conn) counting its corks.
type corkSpy struct {
	*netio.Conn
	corks, uncorks *atomic.Int64
}

func (s corkSpy) Cork()         { s.corks.Add(1); s.Conn.Cork() }
func (s corkSpy) Uncork() error { s.uncorks.Add(1); return s.Conn.Uncork() }

// corkServer serves h as casd does: over TLS on a netio socket, the
// socket's corks counted. It returns a dial function for the client.
type corkServer struct {
	addr           string
	cfg            *tls.Config
	corks, uncorks atomic.Int64
}

func serveCorked(t *testing.T, h http.HandlerFunc) *corkServer {
	t.Helper()
	now := time.Now()
	ca, err := pki.NewRootCA("front test CA", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"a.test"}, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	cs := &corkServer{cfg: &tls.Config{RootCAs: roots, ServerName: "a.test"}}
	s := &Server{Handler: h, ErrorLog: quietLog()}
	cs.addr = serveFrontConns(t, s, func(c net.Conn) net.Conn {
		spy := corkSpy{netio.Wrap(c).(*netio.Conn), &cs.corks, &cs.uncorks}
		tc := tls.Server(spy, &tls.Config{Certificates: []tls.Certificate{*cert}})
		if tc.Handshake() != nil {
			tc.Close()
			return nil
		}
		return tc
	})
	return cs
}

func (cs *corkServer) dial(t *testing.T) *client {
	t.Helper()
	c, err := tls.Dial("tcp", cs.addr, cs.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// TestCorkedBodies: a large body goes out whole and in order through
// the corked socket, chunked or of declared length, written in pieces or
// at once, and the connection serves the next request; a small one never
// corks it.
func TestCorkedBodies(t *testing.T) {
	data := make([]byte, 300<<10)
	rand.Read(data)
	for _, tc := range []struct {
		name    string
		length  bool
		write   func(w http.ResponseWriter)
		chunked bool
	}{
		{"small writes, chunked", false, func(w http.ResponseWriter) {
			for i := 0; i < len(data); i += 7000 {
				w.Write(data[i:min(i+7000, len(data))])
			}
		}, true},
		{"one write, declared length", true, func(w http.ResponseWriter) { w.Write(data) }, false},
		{"read from", false, func(w http.ResponseWriter) { io.Copy(w, bytes.NewReader(data)) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := serveCorked(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				if r.URL.Path == "/small" {
					io.WriteString(w, "small")
					return
				}
				if tc.length {
					w.Header().Set("Content-Length", "307200")
				}
				tc.write(w)
			})
			cl := cs.dial(t)
			for range 2 {
				res, body := cl.get("/")
				if chunked := len(res.TransferEncoding) > 0; chunked != tc.chunked {
					t.Fatalf("chunked %v, want %v", chunked, tc.chunked)
				}
				if body != string(data) {
					t.Fatalf("body of %d bytes differs from the %d written", len(body), len(data))
				}
			}
			if c, u := cs.corks.Load(), cs.uncorks.Load(); c != 2 || u != 2 {
				t.Fatalf("two large responses corked %d times and uncorked %d, want 2 and 2", c, u)
			}
			if _, body := cl.get("/small"); body != "small" {
				t.Fatalf("small body %q", body)
			}
			if c := cs.corks.Load(); c != 2 {
				t.Fatalf("a small response corked the socket")
			}
		})
	}
}

// TestCorkedFlush: a handler's Flush sends what the socket gathered,
// before the handler goes on.
func TestCorkedFlush(t *testing.T) {
	first := strings.Repeat("0123456789abcdef", 40<<10/16) // more than the write buffer
	release := make(chan struct{})
	cs := serveCorked(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, first)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second")
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the server's: a failed test ends the handler
	cl := cs.dial(t)
	cl.c.SetDeadline(time.Now().Add(10 * time.Second))
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(first))
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != first {
		t.Fatalf("before the handler went on: %d bytes, %v", len(buf), err)
	}
	if cs.corks.Load() == 0 {
		t.Fatal("the first part never corked the socket: the test tests nothing")
	}
	free()
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// TestCorkedHijack: Hijack sends what the socket gathered; what the
// handler writes afterwards on the bare connection follows it.
func TestCorkedHijack(t *testing.T) {
	first := strings.Repeat("x", 40<<10)
	cs := serveCorked(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "40960")
		io.WriteString(w, first)
		nc, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		io.WriteString(nc, "raw")
	})
	cl := cs.dial(t)
	cl.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	res, err := http.ReadResponse(cl.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(cl.br)
	if err != nil {
		t.Fatal(err)
	}
	if res.ContentLength != 40960 || string(all) != first+"raw" {
		t.Fatalf("length %d; after the head %d bytes, want the body and then %q", res.ContentLength, len(all), "raw")
	}
}
