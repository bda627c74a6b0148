package front

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httputil"

	"github.com/cas-proxy/cas/httpwire"
)

// requestBody is a request's body as the handler reads it: what net/http's
// body does for a request (a Content-Length's bytes, or chunks and then
// trailers, with its errors), and what front needs besides: whether it
// was read to its end (so the connection can carry another request), a
// 100 Continue on the first read when the client asked for it, and a
// handler's Close that does not drain an unbounded body.
type requestBody struct {
	br      *bufio.Reader
	left    int64     // bytes left of a Content-Length body
	chunked io.Reader // the chunked reader, nil if not chunked
	req     *http.Request
	w       *response

	eof, closed  bool
	wantContinue bool
	err          error // a trailer's, after which nothing more is read
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if !b.w.ownDeadline {
		b.w.c.clearReadDeadline()
	}
	if b.wantContinue {
		b.wantContinue = false
		if !b.w.committed {
			c := b.w.c
			io.WriteString(c.bw, "HTTP/1.1 100 Continue\r\n\r\n")
			c.flush()
		}
	}
	return b.read(p)
}

// read reads the body from the connection, as net/http's body.
func (b *requestBody) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.chunked != nil {
		n, err := b.chunked.Read(p)
		if err == io.EOF {
			b.eof = true
			if terr := httpwire.ReadTrailer(b.br, &b.req.Trailer); terr != nil {
				// As net/http: nothing more is read from this body, nor
				// from its connection.
				b.eof, b.closed, b.err = false, true, terr
				return n, terr
			}
		}
		return n, err
	}
	if b.left <= 0 {
		b.eof = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if err == io.EOF {
		b.eof = true
		if b.left > 0 {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == nil && n > 0 && b.left == 0 {
		// The end with the last bytes, as net/http.
		b.eof, err = true, io.EOF
	}
	return n, err
}

func (b *requestBody) Close() error {
	b.closed = true
	return nil
}

// drain reads what the handler left of the body, up to maxDiscard; it
// reports whether the body ended (and the connection may be reused).
func (b *requestBody) drain() bool {
	if b == nil || b.eof {
		return true
	}
	if b.wantContinue || b.err != nil {
		// The client waits for 100 Continue before sending its body, and
		// never got it: it may or may not send it now; close instead.
		return false
	}
	if b.chunked == nil && b.left > maxDiscard {
		// Too much is left, as net/http judges without reading it.
		return false
	}
	// A client that trickles the body the handler did not want must not
	// hold the connection (and its response) for ever.
	c := b.w.c
	c.setReadDeadline(c.srv.ReadHeaderTimeout)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	for n <= maxDiscard {
		k, err := b.read(*bp)
		n += int64(k)
		if err == io.EOF {
			return n <= maxDiscard
		}
		if err != nil {
			return false
		}
	}
	return false
}

// newChunkedReader is net/http's own chunked reader.
var newChunkedReader = httputil.NewChunkedReader
