package session

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httputil"

	"github.com/cas-proxy/cas/httpwire"
)

// How a response body ends (RFC 9112 §6.3).
const (
	bodyLength  = iota + 1 // after Content-Length bytes
	bodyChunked            // at the last chunk and its trailer
	bodyClose              // when the app closes the connection
)

// h1Body is a response body read straight off its connection's reader,
// framed as net/http frames it (the same bytes, errors and trailer).
// Read to its end, it gives the connection back to the pool when that may
// be reused; closed before, it drops it, unless the rest of a
// Content-Length body is already buffered. Like net/http's body it is for
// one goroutine at a time; cancelling the request's context ends a
// blocked Read.
type h1Body struct {
	br      *bufio.Reader
	kind    int
	n       int64          // bodyLength: bytes left
	chunked io.Reader      // bodyChunked: net/http's chunked reader on br
	resp    *http.Response // bodyChunked: gets the trailer
	err     error          // what every Read returns once set

	// The round trip the body ends, when it came through H1Transport.
	t     *H1Transport
	c     *h1Conn
	reuse bool // the connection may carry another request after this body
}

func newChunkedReader(br *bufio.Reader) io.Reader { return httputil.NewChunkedReader(br) }

func (b *h1Body) Read(p []byte) (n int, err error) {
	if b.err != nil {
		return 0, b.err
	}
	switch b.kind {
	case bodyLength:
		n, err = b.br.Read(p[:min(int64(len(p)), b.n)])
		b.n -= int64(n)
		if err == io.EOF && b.n > 0 {
			err = io.ErrUnexpectedEOF
		} else if err == nil && n > 0 && b.n == 0 {
			err = io.EOF // with the last bytes, so the connection goes back now
		}
	case bodyChunked:
		n, err = b.chunked.Read(p)
		if err == io.EOF {
			if terr := httpwire.ReadTrailer(b.br, &b.resp.Trailer); terr != nil {
				err = terr
			}
		}
	default:
		n, err = b.br.Read(p)
	}
	if err != nil {
		b.end(err, err == io.EOF)
	}
	return n, err
}

// Close drops the connection unless the body was read to its end, or its
// rest is already in the buffer.
func (b *h1Body) Close() error {
	if b.err != nil {
		return nil
	}
	if b.kind == bodyLength && b.n <= int64(b.br.Buffered()) {
		b.br.Discard(int(b.n))
		b.n = 0
		b.end(http.ErrBodyReadAfterClose, true)
		return nil
	}
	b.end(http.ErrBodyReadAfterClose, false)
	return nil
}

// end records err for every later Read and gives the connection back or
// closes it.
func (b *h1Body) end(err error, complete bool) {
	b.err = err
	if b.c == nil {
		return
	}
	reuse := complete && b.reuse
	if !b.t.unwatch(b.c) {
		reuse = false // the context ended and closed the connection
	}
	if reuse {
		b.t.put(b.c)
	} else {
		b.c.conn.Close()
	}
	b.t, b.c = nil, nil
}
