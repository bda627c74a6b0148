// Package front is casd's HTTP/1.1 server for the connections browsers and
// other clients open to its HTTPS listener (HTTP/2 stays with net/http).
//
// It parses requests with a parser of its own (request.go) that makes the
// *http.Request net/http's parser and server make, with the same checks
// in the same order, so it refuses what net/http refuses, with the same
// status; but it reads the head as one string that keys and values are
// sliced from. Bodies are framed and read as net/http does, with its own
// chunked reader, and trailers reach the handler's request. TestParity
// feeds both servers the same raw requests and compares what the handler
// sees; FuzzParity and FuzzReadRequest hold front to that on arbitrary
// bytes. What it leaves out is the per-request machinery a proxy does not
// need: a background reader per request, small-buffer chunking, channel
// hand-offs, and all but one read deadline per request (often none); each
// connection is served on one goroutine with pooled buffers. A response
// body that outgrows the 16 KiB write buffer gathers, when the socket
// beneath can (netio's Conn), in up to 64 KiB more until the handler
// flushes or ends, so that its TLS records leave a few per system call;
// a handler that streams flushes as it would under net/http. Passing a
// 1 KiB JSON through with casd's H1Transport, it spends 24–29 µs of CPU
// per request where net/http's server spends 29–40 (bench/floor.sh).
//
// Its differences from net/http are deliberate; but for the first, they
// refuse or close where net/http would not (TestParity shows them):
//   - a client that goes away while its request is being handled is
//     noticed when the response is written (or the request body read),
//     not before, as in nginx;
//   - a connection's idle wait may end up to 1/64 of IdleTimeout early
//     (the deadline is not moved for every request);
//   - "PRI * HTTP/2.0" (an h2c preface) is refused with 505, not handed
//     to the handler;
//   - an Expect other than exactly "100-continue" is refused with 417;
//   - HTTP/1.0 connections are not kept alive.
//
// And where they answer a request no handler sees differently: a head
// cut short by the client's half-close is not answered (net/http answers
// 400), and one both malformed and over MaxHeaderBytes may be answered
// 431 where net/http answers 400; an empty Content-Length is refused even
// under GODEBUG=httplaxcontentlength=1. A handler's Body.Close does not
// read the rest of the body (nor so its trailers) at once, as net/http's
// does; the server reads it after the handler.
package front

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.x on connections handed to ServeConn.
type Server struct {
	// Handler answers every request; required.
	Handler http.Handler
	// ReadHeaderTimeout bounds the time from a request's first byte to
	// the end of its head (slow clients are cut off), and the reading of
	// what the handler left of a request body (to keep the connection).
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a connection;
	// the wait may end up to 1/64 of it early (armIdle).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's head; beyond it the answer is 431.
	MaxHeaderBytes int
	// BaseContext is the parent of every request's context; nil means
	// context.Background().
	BaseContext context.Context
	// ErrorLog receives handler panics and protocol errors; nil means the
	// log package's standard logger.
	ErrorLog *log.Logger

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing atomic.Bool
}

const (
	defaultMaxHeaderBytes = 1 << 20
	// maxDiscard is how much of a request body the handler left unread
	// is drained to keep the connection; more and it is closed.
	maxDiscard = 256 << 10
	// writeBufSize is the connection's write buffer: a whole TLS record.
	writeBufSize = 16 << 10
	readBufSize  = 4 << 10
	// autoLengthMax is how much a response may buffer before its head is
	// written: a response that ends within it is sent with a
	// Content-Length, one that does not is chunked.
	autoLengthMax = 4 << 10
)

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}
)

// conn states, for Shutdown: idle conns can be closed at once.
const (
	stateIdle int32 = iota
	stateActive
)

type conn struct {
	srv    *Server
	nc     net.Conn
	lr     limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	tls    *tls.ConnectionState
	remote string
	ctx    context.Context
	cancel context.CancelFunc
	state  atomic.Int32
	// hijacked is set when a handler took the connection over.
	hijacked bool
	// werr is the first error writing to the client; the connection is
	// not reused after one.
	werr error
	// ck is the socket beneath nc when it can gather writes (netio's
	// Conn); corked says it is gathering a response's body, flushing that
	// the server is writing out all it has (see conn.Write).
	ck               corker
	corked, flushing bool
	// pend is the buffer a response's first bytes wait in, reused.
	pend []byte
	// head and fields are the request parser's buffers, reused.
	head   []byte
	fields []field
	// rdl is the read deadline set on the connection (zero: none);
	// rdlIdle says it is the idle timeout's (armIdle).
	rdl     time.Time
	rdlIdle bool
}

func (c *conn) pendBuf() []byte {
	if c.pend == nil {
		c.pend = make([]byte, 0, autoLengthMax)
	}
	return c.pend[:0]
}

// limitReader lets the server bound what a request head may read.
type limitReader struct {
	r   io.Reader
	n   int64 // bytes left; < 0 means unlimited
	hit bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return l.r.Read(p)
	}
	if l.n == 0 {
		l.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// ServeConn serves HTTP/1.x requests on nc until the client closes it, an
// error or timeout ends it, a handler hijacks it, or the server shuts
// down; it then closes nc (unless hijacked). A *tls.Conn must have
// completed its handshake (its negotiated protocol chose this server).
func (s *Server) ServeConn(nc net.Conn) {
	c := &conn{srv: s, nc: nc}
	if ra := nc.RemoteAddr(); ra != nil {
		c.remote = ra.String()
	}
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
		c.ck, _ = tc.NetConn().(corker)
	} else {
		c.ck, _ = nc.(corker)
	}
	// Close cancels the connection's context, and so its request's: a
	// handler waiting on it (an upstream round trip) ends with it.
	base := s.BaseContext
	if base == nil {
		base = context.Background()
	}
	c.ctx, c.cancel = context.WithCancel(context.WithValue(base, http.LocalAddrContextKey, nc.LocalAddr()))
	defer c.cancel()
	if !s.track(c, true) {
		nc.Close()
		return
	}
	c.lr.r, c.lr.n = nc, -1
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.lr)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c)
	defer func() {
		if err := recover(); err != nil && err != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			s.logf("front: panic serving %s: %v\n%s", c.remote, err, buf)
		}
		s.track(c, false)
		if !c.hijacked {
			nc.Close()
			c.br.Reset(nil)
			readerPool.Put(c.br)
			c.bw.Reset(nil)
			writerPool.Put(c.bw)
		}
	}()
	c.serve()
}

// corker is a socket that can gather writes and make them at once.
type corker interface {
	Cork()
	Uncork() error
}

// Write is the connection's writer under its bufio.Writer: it remembers
// the first failure. A write that is not the server flushing (c.flush) is
// the buffer filling in the middle of a response: a body that outgrows
// the buffer gathers in the socket beneath TLS (corker) until the flush,
// so that its records go out a few at a time, not one per system call.
func (c *conn) Write(p []byte) (int, error) {
	if !c.flushing && !c.corked && c.ck != nil {
		c.ck.Cork()
		c.corked = true
	}
	n, err := c.nc.Write(p)
	if err != nil && c.werr == nil {
		c.werr = err
	}
	return n, err
}

// flush writes out everything buffered for the client.
func (c *conn) flush() error {
	c.flushing = true
	err := c.bw.Flush()
	c.flushing = false
	if c.corked {
		c.corked = false
		if uerr := c.ck.Uncork(); uerr != nil {
			if c.werr == nil {
				c.werr = uerr
			}
			if err == nil {
				err = uerr
			}
		}
	}
	return err
}

func (c *conn) serve() {
	s := c.srv
	maxHead := int64(s.MaxHeaderBytes)
	if maxHead <= 0 {
		maxHead = defaultMaxHeaderBytes
	}
	lastPOST := false
	for first := true; ; first = false {
		// Wait for the next request's first byte under the idle timeout
		// (a new connection's under ReadHeaderTimeout); the rest of its
		// head, unless it came with that byte, is read under
		// ReadHeaderTimeout (readHead). The deadline left is lifted when
		// the handler reads (requestBody.Read, Hijack).
		if first {
			if s.ReadHeaderTimeout > 0 {
				c.setReadDeadline(s.ReadHeaderTimeout)
			}
		} else if c.br.Buffered() == 0 {
			c.armIdle()
		}
		if _, err := c.br.Peek(1); err != nil {
			return
		}
		if s.closing.Load() {
			return
		}
		c.state.Store(stateActive)
		c.lr.n, c.lr.hit = maxHead+readBufSize, false
		if lastPOST {
			// As net/http (RFC 9112, section 2.2): old clients end a
			// POST body with a CRLF they did not count.
			if !first && c.br.Buffered() < 4 {
				c.setReadDeadline(s.ReadHeaderTimeout)
			}
			peek, _ := c.br.Peek(4)
			c.br.Discard(leadingCRLF(peek))
		}
		ctx, cancel := context.WithCancel(c.ctx)
		req, err := c.readRequest(ctx, !first)
		if err != nil {
			cancel()
			c.refuse(err)
			return
		}
		lastPOST = req.Method == http.MethodPost
		c.lr.n = -1
		keep := c.handle(req)
		cancel()
		if !keep {
			return
		}
		c.state.Store(stateIdle)
	}
}

func leadingCRLF(b []byte) int {
	n := 0
	for _, c := range b {
		if c != '\r' && c != '\n' {
			break
		}
		n++
	}
	return n
}

// setReadDeadline sets the connection's read deadline d from now, or
// none if d <= 0.
func (c *conn) setReadDeadline(d time.Duration) {
	var t time.Time
	if d > 0 {
		t = time.Now().Add(d)
	}
	c.setReadDeadlineAt(t)
}

func (c *conn) setReadDeadlineAt(t time.Time) error {
	c.rdl, c.rdlIdle = t, false
	return c.nc.SetReadDeadline(t)
}

// clearReadDeadline lifts the deadline the server left from reading a
// head, before the handler reads from the connection.
func (c *conn) clearReadDeadline() {
	if !c.rdl.IsZero() {
		c.setReadDeadlineAt(time.Time{})
	}
}

// armIdle sets the idle timeout for the wait for the next request. Under
// a steady flow of requests, the one set before is kept while it is less
// than 1/64 of IdleTimeout short: a deadline costs a system's timer
// update, and the wait may so end that much early.
func (c *conn) armIdle() {
	d := c.srv.IdleTimeout
	if d <= 0 {
		c.clearReadDeadline()
		return
	}
	t := time.Now().Add(d)
	if c.rdlIdle && t.Sub(c.rdl) < d/64 {
		return
	}
	c.nc.SetReadDeadline(t)
	c.rdl, c.rdlIdle = t, true
}

// statusError is a request refused with a status and a public reason.
type statusError struct {
	code int
	text string
}

func (e statusError) Error() string { return fmt.Sprintf("%d %s", e.code, e.text) }

// refuse answers a request that could not be read, as net/http does, and
// the connection is then closed.
func (c *conn) refuse(err error) {
	const headers = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	var se statusError
	switch {
	case c.lr.hit:
		const msg = "431 Request Header Fields Too Large"
		io.WriteString(c.nc, "HTTP/1.1 "+msg+headers+msg)
	case errors.As(err, &se):
		line := fmt.Sprintf("%d %s: %s", se.code, http.StatusText(se.code), se.text)
		io.WriteString(c.nc, "HTTP/1.1 "+line+headers+line)
	case err == errUnsupportedTE:
		const msg = "501 Not Implemented"
		io.WriteString(c.nc, "HTTP/1.1 "+msg+headers+"Unsupported transfer encoding")
	case isNetReadError(err):
		// The client went away or timed out: nothing to answer.
	default:
		const msg = "400 Bad Request"
		io.WriteString(c.nc, "HTTP/1.1 "+msg+headers+msg)
	}
}

func isNetReadError(err error) bool {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle runs the handler on req and finishes its response; it reports
// whether the connection may carry another request.
func (c *conn) handle(req *http.Request) (keep bool) {
	w := &response{c: c, req: req, header: make(http.Header, 8), contentLength: -1, isHEAD: req.Method == http.MethodHead}
	w.closeAfter = req.Close || !req.ProtoAtLeast(1, 1)
	body, _ := req.Body.(*requestBody)
	if body != nil {
		body.w = w
	}
	if ex := headerGet(req.Header, "Expect"); ex != "" {
		if !strings.EqualFold(ex, "100-continue") {
			w.closeAfter = true
			w.header.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusExpectationFailed)
			w.finish(body)
			return false
		}
		body.wantContinue = req.ProtoAtLeast(1, 1) && req.ContentLength != 0 && body != nil
	}
	c.srv.Handler.ServeHTTP(w, req)
	if c.hijacked {
		return false
	}
	w.finish(body)
	return !w.closeAfter && c.werr == nil && !c.srv.closing.Load()
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// track adds (or removes) c from the live connections; it refuses new
// connections once the server is shutting down.
func (s *Server) track(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		if s.conns == nil {
			s.conns = make(map[*conn]struct{})
		}
		s.conns[c] = struct{}{}
		return true
	}
	delete(s.conns, c)
	return true
}

// Shutdown stops accepting connections, closes idle ones, and waits for
// those handling a request to finish it (their responses say Connection:
// close) or for ctx to end, when it closes them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	wait := time.Millisecond
	for {
		s.mu.Lock()
		for c := range s.conns {
			if c.state.Load() == stateIdle {
				// Wake its wait for the next request; the loop sees closing.
				c.nc.SetReadDeadline(time.Unix(1, 0))
			}
		}
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-time.After(wait):
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// Close closes every connection at once, and cancels the contexts of the
// requests they were handling.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.cancel()
		c.nc.Close()
	}
	return nil
}
