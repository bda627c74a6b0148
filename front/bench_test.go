package front

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchRequests are the request heads BenchmarkServeJSON sends: wrk's
// (the bench's load) and a browser's.
var benchRequests = []struct{ name, head string }{
	{"wrk", "GET /data.json HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n"},
	{"browser", "GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n" +
		"Host: app.example.com\r\n" +
		"Connection: keep-alive\r\n" +
		"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
		"Accept: application/json, text/plain, */*\r\n" +
		"sec-ch-ua-mobile: ?0\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
		"sec-ch-ua-platform: \"Linux\"\r\n" +
		"Sec-Fetch-Site: same-origin\r\n" +
		"Sec-Fetch-Mode: cors\r\n" +
		"Sec-Fetch-Dest: empty\r\n" +
		"Referer: https://app.example.com/items\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-GB,en;q=0.9\r\n" +
		"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n\r\n"},
}

// BenchmarkServeJSON serves b.N keep-alive requests on one connection,
// each answered with a 1 KiB JSON body: front's own per-request work,
// without TLS or the kernel. The connection is in memory and hands the
// server one request per read, as a client that waits for each response.
func BenchmarkServeJSON(b *testing.B) {
	body := []byte(`{"items":[` + strings.Repeat(`{"id":1234,"name":"abcdefghij"},`, 31) + `{"id":0}]}`)
	body = append(body, strings.Repeat(" ", 1024-len(body))...)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	for _, req := range benchRequests {
		b.Run(req.name, func(b *testing.B) {
			s := &Server{Handler: h, ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: quietLog()}
			c := &memConn{head: req.head, left: b.N}
			b.ReportAllocs()
			b.ResetTimer()
			s.ServeConn(c)
			b.StopTimer()
			if c.written < int64(b.N*len(body)) {
				b.Fatalf("wrote %d bytes for %d responses", c.written, b.N)
			}
			b.ReportMetric(float64(c.deadlines)/float64(b.N), "deadlines/op")
		})
	}
}

// memConn is a connection carrying left copies of a request head, one
// per Read, and discarding what is written.
type memConn struct {
	head      string
	left, off int
	written   int64
	deadlines int
}

func (c *memConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.head[c.off:])
	c.off += n
	if c.off == len(c.head) {
		c.off = 0
		c.left--
	}
	return n, nil
}

func (c *memConn) Write(p []byte) (int, error) {
	c.written += int64(len(p))
	return len(p), nil
}

func (c *memConn) Close() error                       { return nil }
func (c *memConn) LocalAddr() net.Addr                { return memAddr{} }
func (c *memConn) RemoteAddr() net.Addr               { return memAddr{} }
func (c *memConn) SetDeadline(t time.Time) error      { c.deadlines++; return nil }
func (c *memConn) SetReadDeadline(t time.Time) error  { c.deadlines++; return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error { c.deadlines++; return nil }

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem:1" }
