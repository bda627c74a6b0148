package session

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Compression levels for re-encoding rewritten bodies: a proxy pays for
// compression on every response, so these favour speed over ratio.
// The brotli window (2^19 bytes) is smaller than the default (2^22): it
// bounds the encoder's memory per response, and pages gain little from more.
const (
	gzipLevel    = 5
	brotliLevel  = 4
	brotliWindow = 19
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
	mt, ok := parseMediaType(contentType)
	return rewritableMediaType(mt, ok, request)
}

// rewritableMediaType is rewritableType of a Content-Type that
// parseMediaType read as mt, ok.
func rewritableMediaType(mt string, ok, request bool) bool {
	if !ok {
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

// codecs pools the compressors and decompressors: a gzip writer costs
// about 800 KB and a brotli writer several MB to set up, too much to pay
// per response.
type codecs struct {
	gzipR, brR                sync.Pool
	gzipW, flateW, zlibW, brW sync.Pool
}

// decoded is a decoding reader and how to encode its output the same way.
type decoded struct {
	io.Reader
	close func() error
	enc   string
	raw   bool // deflate without the zlib wrapper
}

// decoder returns a reader of the decoded body; its close returns pooled
// state.
func (c *codecs) decoder(enc string, r io.Reader) (*decoded, error) {
	enc = strings.ToLower(strings.TrimSpace(enc))
	nop := func() error { return nil }
	switch enc {
	case "", "identity":
		return &decoded{Reader: r, close: nop, enc: ""}, nil
	case "gzip", "x-gzip":
		zr, _ := c.gzipR.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(r)
		} else {
			err = zr.Reset(r)
		}
		if err != nil {
			return nil, fmt.Errorf("session: decode gzip body: %w", err)
		}
		return &decoded{Reader: zr, enc: enc, close: func() error {
			err := zr.Close()
			c.gzipR.Put(zr)
			return err
		}}, nil
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
		bd, _ := c.brR.Get().(*brotli.Reader)
		if bd == nil {
			bd = brotli.NewReader(r)
		} else if err := bd.Reset(r); err != nil {
			return nil, fmt.Errorf("session: decode br body: %w", err)
		}
		return &decoded{Reader: bd, enc: enc, close: func() error {
			c.brR.Put(bd)
			return nil
		}}, nil
	}
	return nil, fmt.Errorf("session: unsupported content encoding %q", enc)
}

// encoder returns a writer encoding into w as d was encoded, and a release
// func to call once it is closed (or abandoned). Closing it finishes the
// encoding without closing w.
func (c *codecs) encoder(d *decoded, w io.Writer) (io.WriteCloser, func(), error) {
	switch d.enc {
	case "":
		return nopWriteCloser{w}, func() {}, nil
	case "gzip", "x-gzip":
		zw, _ := c.gzipW.Get().(*gzip.Writer)
		if zw == nil {
			var err error
			if zw, err = gzip.NewWriterLevel(w, gzipLevel); err != nil {
				return nil, nil, fmt.Errorf("session: gzip encoder: %w", err)
			}
		} else {
			zw.Reset(w)
		}
		return zw, func() { c.gzipW.Put(zw) }, nil
	case "deflate":
		if d.raw {
			fw, _ := c.flateW.Get().(*flate.Writer)
			if fw == nil {
				var err error
				if fw, err = flate.NewWriter(w, gzipLevel); err != nil {
					return nil, nil, fmt.Errorf("session: deflate encoder: %w", err)
				}
			} else {
				fw.Reset(w)
			}
			return fw, func() { c.flateW.Put(fw) }, nil
		}
		zw, _ := c.zlibW.Get().(*zlib.Writer)
		if zw == nil {
			var err error
			if zw, err = zlib.NewWriterLevel(w, gzipLevel); err != nil {
				return nil, nil, fmt.Errorf("session: deflate encoder: %w", err)
			}
		} else {
			zw.Reset(w)
		}
		return zw, func() { c.zlibW.Put(zw) }, nil
	case "br":
		bw, _ := c.brW.Get().(*brotli.Writer)
		if bw == nil {
			bw = brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: brotliLevel, LGWin: brotliWindow})
		} else {
			bw.Reset(w)
		}
		return bw, func() { c.brW.Put(bw) }, nil
	}
	return nil, nil, fmt.Errorf("session: unsupported content encoding %q", d.enc)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// RewriteBody copies src to dst through the rewriter: decoded per the
// Content-Encoding enc, rewritten in direction dir, and encoded again the
// same way, streaming with bounded memory. It returns the number of decoded
// bytes read.
func (r *Rewriter) RewriteBody(dir Direction, enc string, dst io.Writer, src io.Reader) (int64, error) {
	return r.rewriteBody(dir, enc, dst, src, false)
}

// rewriteBody is RewriteBody; with stream set, the encoder is flushed
// after each piece read from src, so that what the app sent before a
// pause leaves the encoder's window (a stream's delayed flush then sends
// it on).
func (r *Rewriter) rewriteBody(dir Direction, enc string, dst io.Writer, src io.Reader, stream bool) (int64, error) {
	d, err := r.codecs.decoder(enc, src)
	if err != nil {
		return 0, err
	}
	defer d.close()
	ew, release, err := r.codecs.encoder(d, dst)
	if err != nil {
		return 0, err
	}
	defer release()
	rw := r.getWriter(dir, ew)
	defer r.putWriter(dir, rw)
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	var n int64
	if f, ok := ew.(interface{ Flush() error }); stream && ok {
		n, err = copyFlushing(rw, d, f, *bp)
	} else {
		n, err = io.CopyBuffer(rw, onlyReader{d}, *bp)
	}
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

// copyFlushing copies src to w through buf, flushing f after each piece.
func copyFlushing(w io.Writer, src io.Reader, f interface{ Flush() error }, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := src.Read(buf)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return n, werr
			}
			n += int64(m)
			if ferr := f.Flush(); ferr != nil {
				return n, ferr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// onlyReader hides WriteTo so io.CopyBuffer uses the buffer it is given.
type onlyReader struct{ io.Reader }

// ShouldRewriteResponse reports whether the body of resp, answering a
// request with method, is to be rewritten: not for HEAD, not for 1xx, 204
// and 304 responses, not for 206 (the bytes must match Content-Range),
// only for a Rewritable type and a SupportedEncoding.
func ShouldRewriteResponse(method string, resp *http.Response) bool {
	rt := readResponseTypes(resp.Header)
	return shouldRewrite(method, resp.StatusCode, &rt)
}

// shouldRewrite is ShouldRewriteResponse of a response with this status
// and these headers.
func shouldRewrite(method string, status int, rt *responseTypes) bool {
	if method == http.MethodHead || status < 200 || status == http.StatusPartialContent ||
		status == http.StatusNoContent || status == http.StatusNotModified {
		return false
	}
	return !isAttachment(rt.disposition) && rewritableMediaType(rt.mediaType, rt.mediaOK, false) &&
		SupportedEncoding(first(rt.encoding)) && len(rt.encoding) <= 1
}

// responseTypes is what classification and respond both read of an app's
// response header, read once.
type responseTypes struct {
	disposition string
	encoding    []string // Content-Encoding
	mediaType   string   // parseMediaType of Content-Type
	mediaOK     bool
}

func readResponseTypes(h http.Header) responseTypes {
	mt, ok := parseMediaType(headerValue(h, "Content-Type"))
	return responseTypes{disposition: headerValue(h, "Content-Disposition"), encoding: h["Content-Encoding"], mediaType: mt, mediaOK: ok}
}
