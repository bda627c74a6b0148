package session

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readOut is what a response read from some bytes amounts to: its head,
// body and trailer, and what is left for the next response.
type readOut struct {
	err                         bool
	status, proto               string
	code, major, minor          int
	header, trailer             http.Header
	length                      int64
	te                          []string
	close, noBody, uncompressed bool
	body                        string
	bodyErr                     bool
	rest                        string
}

func readWith(read func(*bufio.Reader, *http.Request) (*http.Response, error), data []byte, method string, size int) readOut {
	br := bufio.NewReaderSize(bytes.NewReader(data), size)
	req := &http.Request{Method: method}
	resp, err := read(br, req)
	if err != nil {
		return readOut{err: true}
	}
	if resp.Request != req {
		panic("response without its request")
	}
	o := readOut{
		status: resp.Status, proto: resp.Proto, code: resp.StatusCode, major: resp.ProtoMajor, minor: resp.ProtoMinor,
		header: resp.Header, length: resp.ContentLength, te: resp.TransferEncoding,
		close: resp.Close, noBody: resp.Body == http.NoBody, uncompressed: resp.Uncompressed,
	}
	// Small reads, as a proxy copying a body might do them.
	var body bytes.Buffer
	buf := make([]byte, 7)
	for {
		n, err := resp.Body.Read(buf)
		body.Write(buf[:n])
		if err != nil {
			o.bodyErr = err != io.EOF
			break
		}
	}
	resp.Body.Close()
	o.body, o.trailer = body.String(), resp.Trailer
	rest, _ := io.ReadAll(br)
	o.rest = string(rest)
	return o
}

var responseSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\nDate: Fri, 27 Nov 2026 08:00:00 GMT\r\nServer: app\r\n\r\nhelloHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-custom-header: 1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, x-other\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\nnext",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
	"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
	"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nokrest",
	"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nEtag: \"x\"\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00",
	"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\n\tc  \r\n \r\nPragma: no-cache\r\n\r\n",
	"HTTP/1.1 200 OK\r\n Leading: space\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Key: v\r\nkey : v\r\n\rCR-First: v\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad\x01Key: v\r\n\r\n",
	"HTTP/1.1 200 OK\r\nKey: bad\x00value\r\n\r\n",
	"HTTP/1.1 200 OK\nLF-Only: yes\nContent-Length: 1\n\nx",
	"HTTP/1.1  200  OK\r\n\r\n",
	"HTTP/1.1 +20 OK\r\n\r\n",
	"HTTP/2.0 200 OK\r\nConnection: close, te\r\n\r\n",
	"HTTP/0.9 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200\r\nTransfer-Encoding: chunKed\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	"HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	"garbage\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",
	"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nSET-COOKIE: c=3\r\nx-request-id: r\r\nACCEPT-RANGES: bytes\r\n\r\n",
	"HTTP/1.1 200 OK\r\nCache-Control: private\r\nPragma: no-cache\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: \xff\xfe obs-text\r\n\r\n",
	"HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Long: "+strings.Repeat("v", 100)+"\r\n", 50) + "\r\n",
	"",
	"\r\n",
	"HTTP/1.1 200 OK\r\r\n\r\n",
	"HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n",
}

// FuzzReadResponse checks that readResponse reads any bytes as
// http.ReadResponse does, with and without a HEAD request and with buffers
// that hold the head or not.
func FuzzReadResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), false, uint8(255))
		f.Add([]byte(s), true, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, head bool, size uint8) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		n := 16 + int(size)*16
		done := make(chan bool)
		var got, want readOut
		go func() {
			got = readWith(readResponse, data, method, n)
			done <- true
			want = readWith(http.ReadResponse, data, method, n)
			done <- true
		}()
		for _, who := range []string{"readResponse", "http.ReadResponse"} {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s %q (buffer %d): %s hangs", method, data, n, who)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %q (buffer %d):\n got %+v\nwant %+v", method, data, n, got, want)
		}
	})
}

func TestReadResponseSeeds(t *testing.T) {
	for _, s := range responseSeeds {
		for _, method := range []string{"GET", "HEAD"} {
			for _, n := range []int{16, 64, 4096} {
				got, want := readWith(readResponse, []byte(s), method, n), readWith(http.ReadResponse, []byte(s), method, n)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %q (buffer %d):\n got %+v\nwant %+v", method, s, n, got, want)
				}
			}
		}
	}
}

// TestReadResponseFailsEarly checks that a bad status line fails without
// waiting for the rest of the head, as in ReadResponse.
func TestReadResponseFailsEarly(t *testing.T) {
	for _, s := range []string{"garbage\r\n", "HTTP/1.1 200 OK\r\n Folded: first\r\n"} {
		client, server := net.Pipe()
		go server.Write([]byte(s))
		done := make(chan error, 1)
		go func() { _, err := readResponse(bufio.NewReader(client), nil); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%q: no error", s)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%q: still waiting for the head", s)
		}
		client.Close()
		server.Close()
	}
}

// TestReadResponseLongHead reads a head far longer than the buffer.
func TestReadResponseLongHead(t *testing.T) {
	s := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 100<<10) + "\r\nContent-Length: 2\r\n\r\nokHTTP/1.1"
	got, want := readWith(readResponse, []byte(s), "GET", 4096), readWith(http.ReadResponse, []byte(s), "GET", 4096)
	if !reflect.DeepEqual(got, want) || got.err || got.body != "ok" {
		t.Errorf("long head: got err=%v body %q rest %q", got.err, got.body, got.rest)
	}
}

// BenchmarkReadResponse compares readResponse with http.ReadResponse on a
// typical head.
func BenchmarkReadResponse(b *testing.B) {
	short := "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: 2\r\n" +
		"Date: Fri, 27 Nov 2026 08:00:00 GMT\r\nCache-Control: no-cache,must-revalidate,max-age=0,no-store,private\r\n\r\nok"
	// An app's head as it comes, lower-case names and cookies included.
	long := "HTTP/1.1 200 OK\r\ndate: Fri, 27 Nov 2026 08:00:00 GMT\r\ncontent-type: application/json;charset=UTF-8\r\n" +
		"content-length: 2\r\nstrict-transport-security: max-age=63072000; includeSubDomains\r\nx-content-type-options: nosniff\r\n" +
		"x-xss-protection: 1; mode=block\r\nx-robots-tag: none\r\ncache-control: no-cache,must-revalidate,max-age=0,no-store,private\r\n" +
		"expires: Thu, 01 Jan 1970 00:00:00 GMT\r\nvary: Accept-Encoding\r\nset-cookie: CookieConsentPolicy=0:1; path=/; Secure\r\n" +
		"set-cookie: LSKey-c$CookieConsentPolicy=0:1; path=/; Secure\r\nset-cookie: BrowserId=b1; domain=.salesforce.com; Secure\r\n" +
		"x-request-id: 0a1b2c3d4e5f\r\nserver-timing: Total;dur=42\r\nserver: sfdcedge\r\nx-sfdc-request-id: 0a1b2c3d\r\n\r\nok"
	for _, bc := range []struct {
		name string
		head string
		read func(*bufio.Reader, *http.Request) (*http.Response, error)
	}{{"own", short, readResponse}, {"net-http", short, http.ReadResponse}, {"own-long", long, readResponse}, {"net-http-long", long, http.ReadResponse}} {
		data := []byte(bc.head)
		b.Run(bc.name, func(b *testing.B) {
			r := bytes.NewReader(data)
			br := bufio.NewReader(r)
			req := &http.Request{Method: "GET"}
			buf := make([]byte, 16)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(data)
				br.Reset(r)
				resp, err := bc.read(br, req)
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := io.ReadFull(resp.Body, buf[:2]); n != 2 {
					b.Fatal("short body")
				}
				resp.Body.Close()
			}
		})
	}
}
