package session

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
)

// TestWriteRequestAsReqWrite checks that writeRequest writes what
// req.Write writes, and fails where it fails.
func TestWriteRequestAsReqWrite(t *testing.T) {
	tests := []struct {
		name string
		make func() *http.Request
	}{
		{"get", func() *http.Request { return newReq("GET", "https://a.example.com/x?y=1", nil, "") }},
		{"empty method", func() *http.Request { r := newReq("GET", "https://a.example.com/", nil, ""); r.Method = ""; return r }},
		{"head", func() *http.Request { return newReq("HEAD", "https://a.example.com/", nil, "") }},
		{"delete", func() *http.Request { return newReq("DELETE", "https://a.example.com/", nil, "") }},
		{"post empty", func() *http.Request { return newReq("POST", "https://a.example.com/", nil, "") }},
		{"post bytes", func() *http.Request {
			return newReq("POST", "https://a.example.com/p", bytes.NewReader([]byte("a=1")), "")
		}},
		{"post NopCloser bytes", func() *http.Request {
			r := newReq("POST", "https://a.example.com/p", nil, "")
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader([]byte(`{"a":1}`))), 7
			return r
		}},
		{"put stream", func() *http.Request {
			r := newReq("PUT", "https://a.example.com/p", nil, "")
			r.Body, r.ContentLength = io.NopCloser(io.MultiReader(strings.NewReader("abc"), strings.NewReader("def"))), 6
			return r
		}},
		{"body shorter", func() *http.Request {
			r := newReq("POST", "https://a.example.com/p", nil, "")
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("abc")), 6
			return r
		}},
		{"body longer", func() *http.Request {
			r := newReq("POST", "https://a.example.com/p", nil, "")
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("abcdefgh")), 6
			return r
		}},
		{"unknown length", func() *http.Request {
			r := newReq("POST", "https://a.example.com/p", nil, "")
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("abc")), -1
			return r
		}},
		{"length without body", func() *http.Request {
			r := newReq("POST", "https://a.example.com/p", nil, "")
			r.ContentLength = 4
			return r
		}},
		{"headers", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Header = http.Header{
				"Accept": {"a", " b "}, "X-Split": {"one\r\nInjected: yes"}, "X-Lf": {"a\nb"}, "Bad Name": {"v"}, "bad\r\nname": {"v"},
				"Host": {"evil.example"}, "Content-Length": {"99"}, "Transfer-Encoding": {"chunked"}, "Trailer": {"X"},
				"lower-case": {"kept as is"}, "Empty": {}, "Nil": nil, "Cookie": {"a=1; b=2"}, "X-Nul": {"a\x00b"},
			}
			return r
		}},
		{"user agent absent", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			delete(r.Header, "User-Agent")
			return r
		}},
		{"user agent nil", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Header["User-Agent"] = nil
			return r
		}},
		{"user agent empty", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Header["User-Agent"] = []string{""}
			return r
		}},
		{"user agent newline", func() *http.Request { r := newReq("GET", "https://a.example.com/", nil, "x\r\nEvil: 1 "); return r }},
		{"host from Host", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Host = "b.example.com:8443"
			return r
		}},
		{"invalid host", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Host = "a b\r\nX: y"
			return r
		}},
		{"idn host", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.Host = "bücher.example"
			return r
		}},
		{"ipv6 zone", func() *http.Request { r := newReq("GET", "http://[fe80::1%25en0]:80/", nil, ""); return r }},
		{"ctl in path", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.URL.Path = "/a\nb"
			return r
		}},
		{"ctl in query", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.URL.RawQuery = "a=\r\n"
			return r
		}},
		{"escaped path", func() *http.Request { return newReq("GET", "https://a.example.com/a%2Fb/c%20d?", nil, "") }},
		{"force query", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.URL.ForceQuery = true
			return r
		}},
		{"empty path", func() *http.Request { r := newReq("GET", "https://a.example.com", nil, ""); return r }},
		{"opaque", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			r.URL.Opaque = "//x/y"
			return r
		}},
		{"close", func() *http.Request { r := newReq("GET", "https://a.example.com/", nil, ""); r.Close = true; return r }},
		{"chunked", func() *http.Request {
			r := newReq("POST", "https://a.example.com/", nil, "")
			r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(strings.NewReader("abc")), -1, []string{"chunked"}
			r.Trailer = http.Header{"X-T": {"1"}}
			return r
		}},
		{"traced", func() *http.Request {
			r := newReq("GET", "https://a.example.com/", nil, "")
			return r.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want, got bytes.Buffer
			wb, gb := bufio.NewWriter(&want), bufio.NewWriter(&got)
			wr, gr := tt.make(), tt.make()
			wc, gc := &closeCount{ReadCloser: wr.Body}, &closeCount{ReadCloser: gr.Body}
			if wr.Body != nil && wr.Body != http.NoBody {
				wr.Body, gr.Body = wc, gc
			}
			werr := wr.Write(wb)
			gerr := writeRequest(gb, gr)
			wb.Flush()
			gb.Flush()
			if got.String() != want.String() {
				t.Errorf("wrote\n%q\nreq.Write writes\n%q", got.String(), want.String())
			}
			if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
				t.Errorf("error %v, req.Write's %v", gerr, werr)
			}
			if gc.n != wc.n {
				t.Errorf("body closed %d times, req.Write closes it %d", gc.n, wc.n)
			}
		})
	}
}

func TestInMemory(t *testing.T) {
	for _, tt := range []struct {
		body io.Reader
		want bool
	}{
		{bytes.NewReader(nil), true},
		{io.NopCloser(bytes.NewReader(nil)), true},
		{io.NopCloser(strings.NewReader("")), true},
		{io.NopCloser(new(bytes.Buffer)), true},
		{io.NopCloser(io.MultiReader()), false},
		{io.NopCloser(io.NopCloser(strings.NewReader(""))), true},
		{&closeCount{ReadCloser: io.NopCloser(strings.NewReader(""))}, false},
	} {
		if got := inMemory(tt.body); got != tt.want {
			t.Errorf("inMemory(%T) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestWriteRequestRefusesBadMethod(t *testing.T) {
	r := newReq("GET", "https://a.example.com/", nil, "")
	r.Method = "GET / HTTP/1.1\r\nHost: evil\r\n\r\nGET"
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	if err := writeRequest(bw, r); err == nil || bw.Buffered() > 0 {
		t.Errorf("a method with CR LF: %v, %d bytes written", err, bw.Buffered())
	}
}

func newReq(method, u string, body io.Reader, ua string) *http.Request {
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		pu, _ := url.Parse("https://a.example.com/")
		r = &http.Request{Method: method, URL: pu, Header: http.Header{}}
	}
	if ua == "" {
		ua = "Mozilla/5.0"
	}
	r.Header.Set("User-Agent", ua)
	r.Header.Set("Accept", "*/*")
	return r
}

type closeCount struct {
	io.ReadCloser
	n int
}

func (c *closeCount) Close() error { c.n++; return c.ReadCloser.Close() }

// FuzzWriteRequest checks writeRequest against req.Write on requests with
// arbitrary method, host, path, query, header names and values.
func FuzzWriteRequest(f *testing.F) {
	f.Add("GET", "a.example.com", "/x", "y=1", "X-A", "v", "")
	f.Add("POST", "a b", "/\n", "", "Bad Name", "v\r\nX: y", "body")
	f.Add("", "[::1]:80", "", "\x7f", "User-Agent", " ", "")
	f.Fuzz(func(t *testing.T, method, host, path, query, key, value, body string) {
		mk := func() *http.Request {
			r := &http.Request{Method: method, Host: host, URL: &url.URL{Scheme: "https", Host: "u.example.com", Path: path, RawQuery: query},
				Header: http.Header{key: {value}, "Accept": {value}}}
			if body != "" {
				r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
			}
			return r
		}
		var want, got bytes.Buffer
		wb, gb := bufio.NewWriter(&want), bufio.NewWriter(&got)
		werr := mk().Write(wb)
		gerr := writeRequest(gb, mk())
		wb.Flush()
		gb.Flush()
		if m := method; m != "" && !isToken(m) {
			if gerr == nil {
				t.Fatalf("method %q accepted", m)
			}
			return
		}
		if got.String() != want.String() || (gerr == nil) != (werr == nil) {
			t.Fatalf("wrote %q, %v\nreq.Write: %q, %v", got.String(), gerr, want.String(), werr)
		}
	})
}
