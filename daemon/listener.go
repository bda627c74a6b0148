package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cas-proxy/cas/front"
	"github.com/cas-proxy/cas/netio"
)

// server is what casd shuts down when it stops.
type server interface {
	Shutdown(ctx context.Context) error
	Close() error
}

// proxyServer serves casd's HTTPS listener: it completes each TLS
// handshake itself and then hands the connection to the HTTP/1.1 server
// (front) or, when the client negotiated h2, to net/http's HTTP/2 server.
type proxyServer struct {
	ln               net.Listener
	tlsCfg           *tls.Config
	handshakeTimeout time.Duration
	h1               *front.Server
	h2               *http.Server
	h2conns          *connQueue
	log              *slog.Logger
	ctx              context.Context
	closing          atomic.Bool
}

var _ server = (*proxyServer)(nil)

// serve accepts connections until the listener is closed.
func (p *proxyServer) serve() error {
	// Serve returns when Shutdown or Close closes h2conns.
	go p.h2.Serve(p.h2conns)
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// Out of file descriptors and such: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				p.log.Warn("proxy listener: accept", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		go p.handle(c)
	}
}

func (p *proxyServer) handle(c net.Conn) {
	defer func() {
		// A panic in the handshake's callbacks ends this connection only
		// (front and net/http recover their handlers' panics themselves).
		if err := recover(); err != nil {
			p.log.Error("proxy listener: panic during handshake", "remote", c.RemoteAddr().String(), "err", err, "stack", string(debug.Stack()))
			c.Close()
		}
	}()
	tc := tls.Server(netio.Wrap(c), p.tlsCfg)
	tc.SetDeadline(time.Now().Add(p.handshakeTimeout))
	if err := tc.HandshakeContext(p.ctx); err != nil {
		reason := err.Error()
		var re tls.RecordHeaderError
		if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
			io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
			reason = "client sent an HTTP request to an HTTPS server"
		}
		p.log.Debug("tls handshake error", "remote", c.RemoteAddr().String(), "err", reason)
		c.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		if !p.h2conns.push(tc) {
			tc.Close()
		}
		return
	}
	p.h1.ServeConn(tc)
}

// looksLikeHTTP reports whether a TLS record header is the start of a
// plain HTTP request.
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// Shutdown stops accepting, then shuts both servers down gracefully.
func (p *proxyServer) Shutdown(ctx context.Context) error {
	p.closing.Store(true)
	p.ln.Close()
	errc := make(chan error, 1)
	go func() { errc <- p.h2.Shutdown(ctx) }()
	err := p.h1.Shutdown(ctx)
	return errors.Join(err, <-errc)
}

// Close closes the listener and every connection at once.
func (p *proxyServer) Close() error {
	p.closing.Store(true)
	p.ln.Close()
	return errors.Join(p.h1.Close(), p.h2.Close())
}

// connQueue is a net.Listener fed with connections casd accepted and
// handshook itself: the HTTP/2 ones, for net/http's server.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
