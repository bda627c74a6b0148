package session

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// H1Transport is an HTTP/1.1 client for the proxy's upstream side that does
// each round trip on the calling goroutine over a pool of keep-alive
// connections: no per-request hand-offs to reader and writer goroutines as
// in net/http's Transport, which costs a proxy that forwards many small
// requests. Upgrades (WebSocket) go to Fallback.
type H1Transport struct {
	// DialContext opens TCP connections; required.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig is cloned per connection with ServerName set to the host.
	TLSConfig *tls.Config
	// MaxIdlePerHost bounds the idle connections kept per host:port.
	MaxIdlePerHost int
	// IdleTimeout closes connections idle longer than this.
	IdleTimeout time.Duration
	// Fallback serves what this transport does not: upgrades.
	Fallback http.RoundTripper

	mu   sync.Mutex
	idle map[h1Key][]*h1Conn
}

// h1Key identifies the connections to one scheme, host and port (the
// scheme's default when the URL has none).
type h1Key struct{ scheme, host, port string }

func keyOf(u *url.URL) h1Key {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return h1Key{u.Scheme, u.Hostname(), port}
}

var _ http.RoundTripper = (*H1Transport)(nil)

type h1Conn struct {
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	key    h1Key
	idleAt time.Time
	// close closes conn: made once, for every round trip's cancellation.
	close func()
}

func newH1Conn(conn net.Conn, key h1Key) *h1Conn {
	c := &h1Conn{conn: conn, br: bufio.NewReaderSize(conn, 32<<10), bw: bufio.NewWriterSize(conn, 16<<10), key: key}
	c.close = func() { c.conn.Close() }
	return c
}

// RoundTrip sends req and returns the response; the body holds the
// connection until it is read to the end (then the connection is reused)
// or closed (then it is dropped, unless the rest of the body is already
// buffered). A response without a body frees the connection at once.
func (t *H1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if headerValue(req.Header, "Upgrade") != "" || (req.URL.Scheme != "https" && req.URL.Scheme != "http") {
		if t.Fallback == nil {
			return nil, errors.New("session: h1 transport: upgrade without a fallback transport")
		}
		return t.Fallback.RoundTrip(req)
	}
	key := keyOf(req.URL)
	// A reused connection may have been closed by the app meanwhile; a
	// request that can be sent again is, once, on a new connection.
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context(), key, req.URL)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(c, req)
		if err == nil {
			return resp, nil
		}
		c.conn.Close()
		if !reused || attempt > 0 || !replayable(req) {
			return nil, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// replayable reports whether req may be sent a second time.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	}
	return false
}

// exchange writes req on c and reads its response.
func (t *H1Transport) exchange(c *h1Conn, req *http.Request) (*http.Response, error) {
	stop := noStop
	if ctx := req.Context(); ctx.Done() != nil {
		// A cancelled request closes the connection, which ends a write
		// or read blocked on it. (A context that cannot end needs none.)
		stop = context.AfterFunc(ctx, c.close)
	}
	if err := writeRequest(c.bw, req); err != nil {
		stop()
		return nil, fmt.Errorf("write request: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("write request: %w", err)
	}
	var resp *http.Response
	for {
		var err error
		resp, err = readResponse(c.br, req)
		if err != nil {
			stop()
			if ctxErr := req.Context().Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, fmt.Errorf("read response: %w", err)
		}
		// 1xx (but 101) are interim: the final response follows.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	// After a 101 the connection speaks another protocol.
	reuse := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if b, ok := resp.Body.(*h1Body); ok {
		b.t, b.c, b.reuse, b.stop = t, c, reuse, stop
		return resp, nil
	}
	// No body: the connection is free already.
	if stop() && reuse {
		t.put(c)
	} else {
		c.conn.Close()
	}
	return resp, nil
}

// noStop is the stop of a round trip whose context cannot end.
func noStop() bool { return true }

// get returns an idle connection for key, or dials one.
func (t *H1Transport) get(ctx context.Context, key h1Key, u *url.URL) (*h1Conn, bool, error) {
	now := time.Now()
	t.mu.Lock()
	for list := t.idle[key]; len(list) > 0; list = t.idle[key] {
		c := list[len(list)-1]
		t.idle[key] = list[:len(list)-1]
		if t.IdleTimeout > 0 && now.Sub(c.idleAt) > t.IdleTimeout {
			c.conn.Close()
			continue
		}
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	scheme, addr := key.scheme, net.JoinHostPort(key.host, key.port)
	conn, err := t.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	if scheme == "https" {
		cfg := t.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg.ServerName = u.Hostname()
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, false, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	return newH1Conn(conn, key), false, nil
}

// put returns a connection to the idle pool.
func (t *H1Transport) put(c *h1Conn) {
	c.idleAt = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = map[h1Key][]*h1Conn{}
	}
	if len(t.idle[c.key]) >= max(t.MaxIdlePerHost, 1) {
		c.conn.Close()
		return
	}
	t.idle[c.key] = append(t.idle[c.key], c)
}

// CloseIdleConnections closes the pooled connections.
func (t *H1Transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, list := range t.idle {
		for _, c := range list {
			c.conn.Close()
		}
	}
	t.idle = nil
}
