package session

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// Compression levels for re-encoding rewritten bodies: a proxy pays for
// compression on every response, so these favour speed over ratio.
const (
	gzipLevel   = 5
	brotliLevel = 4
)

// Rewritable reports whether a response body with this Content-Type and
// Content-Disposition is rewritten: HTML and XHTML, CSS, JavaScript, JSON
// (and +json), XML (and +xml, so SVG too) and plain text, unless it is an
// attachment. Attachments and every other type (images, fonts, PDFs,
// archives, CSV, octet streams, event streams) pass byte for byte: a
// downloaded file must be exactly the app's. Plain text is rewritten
// because apps send JSON and scripts as text/plain often enough that
// leaving their hosts would let the browser leave the proxy.
func Rewritable(contentType, disposition string) bool {
	if isAttachment(disposition) {
		return false
	}
	return rewritableType(contentType, false)
}

// RequestRewritable reports whether a request body with this Content-Type
// has proxy hosts mapped back: form posts, JSON, XML and plain text.
// Multipart bodies are not rewritten, since their file parts must reach the
// app unchanged.
func RequestRewritable(contentType string) bool {
	return rewritableType(contentType, true)
}

func rewritableType(contentType string, request bool) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "text/html", "application/xhtml+xml", "text/css",
		"text/javascript", "application/javascript", "application/x-javascript",
		"application/ecmascript", "text/ecmascript",
		"application/json", "text/json", "text/xml", "application/xml", "text/plain":
		return true
	case "application/x-www-form-urlencoded":
		return request
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

func isAttachment(disposition string) bool {
	d, _, _ := strings.Cut(disposition, ";")
	return strings.EqualFold(strings.TrimSpace(d), "attachment")
}

// SupportedEncoding reports whether a body with this Content-Encoding can
// be decoded for rewriting: none, identity, gzip, deflate or br. Stacked
// encodings ("gzip, br") are not.
func SupportedEncoding(enc string) bool {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity", "gzip", "x-gzip", "deflate", "br":
		return true
	}
	return false
}

// decoded is a decoding reader and how to encode its output the same way.
type decoded struct {
	io.Reader
	close func() error
	enc   string
	raw   bool // deflate without the zlib wrapper
}

// newDecoder returns a reader of the decoded body.
func newDecoder(enc string, r io.Reader) (*decoded, error) {
	enc = strings.ToLower(strings.TrimSpace(enc))
	nop := func() error { return nil }
	switch enc {
	case "", "identity":
		return &decoded{Reader: r, close: nop, enc: ""}, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("session: decode gzip body: %w", err)
		}
		return &decoded{Reader: zr, close: zr.Close, enc: enc}, nil
	case "deflate":
		// "deflate" means zlib (RFC 9110), but servers send raw deflate
		// often enough that both are accepted, and answered in kind.
		br := bufio.NewReader(r)
		h, _ := br.Peek(2)
		if len(h) == 2 && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, fmt.Errorf("session: decode deflate body: %w", err)
			}
			return &decoded{Reader: zr, close: zr.Close, enc: enc}, nil
		}
		fr := flate.NewReader(br)
		return &decoded{Reader: fr, close: fr.Close, enc: enc, raw: true}, nil
	case "br":
		return &decoded{Reader: brotli.NewReader(r), close: nop, enc: enc}, nil
	}
	return nil, fmt.Errorf("session: unsupported content encoding %q", enc)
}

// encoder returns a writer encoding into w as d was encoded. Closing it
// finishes the encoding without closing w.
func (d *decoded) encoder(w io.Writer) (io.WriteCloser, error) {
	switch d.enc {
	case "":
		return nopWriteCloser{w}, nil
	case "gzip", "x-gzip":
		return gzip.NewWriterLevel(w, gzipLevel)
	case "deflate":
		if d.raw {
			return flate.NewWriter(w, gzipLevel)
		}
		return zlib.NewWriterLevel(w, gzipLevel)
	case "br":
		return brotli.NewWriterLevel(w, brotliLevel), nil
	}
	return nil, fmt.Errorf("session: unsupported content encoding %q", d.enc)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// RewriteBody copies src to dst through the rewriter: decoded per the
// Content-Encoding enc, rewritten in direction dir, and encoded again the
// same way, streaming with bounded memory. It returns the number of decoded
// bytes read.
func (r *Rewriter) RewriteBody(dir Direction, enc string, dst io.Writer, src io.Reader) (int64, error) {
	d, err := newDecoder(enc, src)
	if err != nil {
		return 0, err
	}
	defer d.close()
	ew, err := d.encoder(dst)
	if err != nil {
		return 0, err
	}
	rw := r.getWriter(dir, ew)
	defer r.putWriter(dir, rw)
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	n, err := io.CopyBuffer(rw, onlyReader{d}, *bp)
	if err != nil {
		return n, fmt.Errorf("session: rewrite body: %w", err)
	}
	if err := rw.Close(); err != nil {
		return n, fmt.Errorf("session: rewrite body: %w", err)
	}
	if err := ew.Close(); err != nil {
		return n, fmt.Errorf("session: rewrite body: finish %s encoding: %w", d.enc, err)
	}
	return n, nil
}

// onlyReader hides WriteTo so io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ io.Reader }

// ShouldRewriteResponse reports whether the body of resp, answering a
// request with method, is to be rewritten: not for HEAD, not for 1xx, 204
// and 304 responses, not for 206 (the bytes must match Content-Range),
// only for a Rewritable type and a SupportedEncoding.
func ShouldRewriteResponse(method string, resp *http.Response) bool {
	if method == http.MethodHead || resp.StatusCode < 200 || resp.StatusCode == http.StatusPartialContent ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		return false
	}
	return Rewritable(resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition")) &&
		SupportedEncoding(resp.Header.Get("Content-Encoding")) && len(resp.Header.Values("Content-Encoding")) <= 1
}
