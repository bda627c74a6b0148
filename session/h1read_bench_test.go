package session

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// cannedConn answers each request written on it with one response.
type cannedConn struct {
	net.Conn
	resp    []byte
	pending []byte
}

func (c *cannedConn) Write(p []byte) (int, error) { c.pending = c.resp; return len(p), nil }
func (c *cannedConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return 0, errors.New("read with no request")
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
func (c *cannedConn) Close() error { return nil }

// BenchmarkH1Canned measures H1Transport's own round trip: a proxy-like
// request answered in memory by a 1 KiB JSON response with a typical head.
func BenchmarkH1Canned(b *testing.B) {
	body := strings.Repeat("x", 1024)
	conn := &cannedConn{resp: []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: 1024\r\n" +
		"Date: Fri, 27 Nov 2026 08:00:00 GMT\r\nCache-Control: no-cache,must-revalidate,max-age=0,no-store,private\r\n\r\n" + body)}
	tr := &H1Transport{
		DialContext:    func(context.Context, string, string) (net.Conn, error) { return conn, nil },
		MaxIdlePerHost: 4,
	}
	base, _ := http.NewRequest("GET", "http://acme.my.salesforce.com/aura?r=12", nil)
	base.Header.Set("Accept", "application/json")
	base.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
	buf := make([]byte, 4096)
	b.ReportAllocs()
	for b.Loop() {
		// Like a served request, each has its own context that can end
		// (which costs 3 allocations here).
		ctx, cancel := context.WithCancel(context.Background())
		req := base.WithContext(ctx)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.ReadFull(resp.Body, buf[:len(body)])
		if err != nil || n != len(body) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		resp.Body.Close()
		cancel()
	}
}
