package session

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/andybalholm/brotli"
)

func TestRewritable(t *testing.T) {
	tests := []struct {
		ct, cd string
		want   bool
	}{
		{"text/html; charset=utf-8", "", true},
		{"TEXT/HTML", "", true},
		{"application/javascript", "", true},
		{"text/javascript;charset=UTF-8", "", true},
		{"application/json", "", true},
		{"application/vnd.api+json", "", true},
		{"image/svg+xml", "", true},
		{"text/css", "", true},
		{"text/plain", "", true},
		{"text/plain", "attachment; filename=a.txt", false},
		{"text/html", "Attachment", false},
		{"text/html", "inline", true},
		{"text/csv", "", false},
		{"application/pdf", "", false},
		{"application/octet-stream", "", false},
		{"image/png", "", false},
		{"text/event-stream", "", false},
		{"", "", false},
		{"garbage;;", "", false},
		{"application/x-www-form-urlencoded", "", false},
	}
	for _, tt := range tests {
		if got := Rewritable(tt.ct, tt.cd); got != tt.want {
			t.Errorf("Rewritable(%q, %q) = %v, want %v", tt.ct, tt.cd, got, tt.want)
		}
	}
	if !RequestRewritable("application/x-www-form-urlencoded") || RequestRewritable("multipart/form-data; boundary=x") {
		t.Error("RequestRewritable: form must be rewritten, multipart must not")
	}
}

func encodeWith(t testing.TB, enc string, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&b, 6)
	case "deflate-raw":
		w, _ = flate.NewWriter(&b, 6)
	case "br":
		w = brotli.NewWriter(&b)
	default:
		w = nopWriteCloser{&b}
	}
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func decodeWith(t *testing.T, enc string, p []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(p))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(p))
	case "deflate-raw":
		r = flate.NewReader(bytes.NewReader(p))
	case "br":
		r = brotli.NewReader(bytes.NewReader(p))
	default:
		r = bytes.NewReader(p)
	}
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return out
}

func TestRewriteBodyEncodings(t *testing.T) {
	page := samplePage(150 << 10)
	r := NewRewriter(mustMapper(t, ModeSuffix))
	want := r.Bytes(Response, nil, page)
	// Two rounds, so the second runs on pooled (reset) codecs.
	for i, enc := range []string{"", "gzip", "deflate", "deflate-raw", "br", "", "gzip", "deflate", "deflate-raw", "br"} {
		t.Run(fmt.Sprintf("enc=%s/%d", enc, i/5), func(t *testing.T) {
			header := enc
			if enc == "deflate-raw" {
				header = "deflate"
			}
			var out bytes.Buffer
			n, err := r.RewriteBody(Response, header, &out, bytes.NewReader(encodeWith(t, enc, page)))
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(page)) {
				t.Errorf("read %d decoded bytes, want %d", n, len(page))
			}
			if got := decodeWith(t, enc, out.Bytes()); !bytes.Equal(got, want) {
				t.Error("decoded output differs from the one-shot rewrite")
			}
		})
	}
}

func TestRewriteBodyErrors(t *testing.T) {
	r := NewRewriter(mustMapper(t, ModeSuffix))
	for _, tt := range []struct{ name, enc, body string }{
		{"bad gzip", "gzip", "not gzip at all"},
		{"truncated gzip", "gzip", string(encodeWith(t, "gzip", samplePage(5000))[:100])},
		{"bad br", "br", "\xff\xff\xff\xff"},
		{"unknown", "compress", "x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.RewriteBody(Response, tt.enc, io.Discard, bytes.NewReader([]byte(tt.body))); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestShouldRewriteResponse(t *testing.T) {
	mk := func(code int, ct, ce string) *http.Response {
		h := http.Header{"Content-Type": {ct}}
		if ce != "" {
			h["Content-Encoding"] = []string{ce}
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	tests := []struct {
		name   string
		method string
		resp   *http.Response
		want   bool
	}{
		{"html", "GET", mk(200, "text/html", ""), true},
		{"br", "GET", mk(200, "text/html", "br"), true},
		{"head", "HEAD", mk(200, "text/html", ""), false},
		{"204", "GET", mk(204, "text/html", ""), false},
		{"304", "GET", mk(304, "text/html", ""), false},
		{"206", "GET", mk(206, "text/html", ""), false},
		{"101", "GET", mk(101, "text/html", ""), false},
		{"stacked", "GET", mk(200, "text/html", "gzip, br"), false},
		{"zstd", "GET", mk(200, "text/html", "zstd"), false},
		{"png", "GET", mk(200, "image/png", ""), false},
	}
	for _, tt := range tests {
		if got := ShouldRewriteResponse(tt.method, tt.resp); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
