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

	// The round trips whose context can end (see watch).
	wmu      sync.Mutex
	watched  []*h1Conn
	sweep    *time.Timer // runs sweepEnded
	sweeping bool        // sweep is due
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

	// ctx is the context of the round trip in progress while it is
	// watched (only the round trip's goroutine sets it); slot is its
	// index in the transport's watched; ended is set when a sweep closed
	// conn because ctx ended. slot and ended are guarded by the
	// transport's wmu.
	ctx   context.Context
	slot  int
	ended bool
}

func newH1Conn(conn net.Conn, key h1Key) *h1Conn {
	return &h1Conn{conn: conn, br: bufio.NewReaderSize(conn, 32<<10), bw: bufio.NewWriterSize(conn, 16<<10), key: key}
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
	if err := req.Context().Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	key := keyOf(req.URL)
	// A reused connection may have been closed by the app meanwhile; a
	// request that can be sent again is, once, on a new connection.
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context(), key, req.URL)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.exchange(c, req)
		if err == nil {
			return resp, nil
		}
		c.conn.Close()
		if !reused || attempt > 0 || !replayable(req) || req.Context().Err() != nil {
			return nil, err
		}
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// closeBody closes the body of a request that is not sent, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
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
	// A context that ends closes the connection, which ends a write or
	// read blocked on it.
	t.watch(c, req.Context())
	resp, err := c.exchange(req)
	if err != nil {
		t.unwatch(c)
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	// After a 101 the connection speaks another protocol.
	reuse := !resp.Close && !req.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if b, ok := resp.Body.(*h1Body); ok {
		b.t, b.c, b.reuse = t, c, reuse
		return resp, nil
	}
	// No body: the connection is free already.
	if t.unwatch(c) && reuse {
		t.put(c)
	} else {
		c.conn.Close()
	}
	return resp, nil
}

// exchange writes req on c and reads the final response's head.
func (c *h1Conn) exchange(req *http.Request) (*http.Response, error) {
	if err := writeRequest(c.bw, req); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	if err := c.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request: %w", err)
	}
	for {
		resp, err := readResponse(c.br, req)
		if err != nil {
			return nil, fmt.Errorf("read response: %w", err)
		}
		// 1xx (but 101) are interim: the final response follows.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
	}
}

// cancelCheck is how often the contexts of round trips in progress are
// checked.
const cancelCheck = 10 * time.Millisecond

// watch has the round trip on c end when ctx does: a sweep every
// cancelCheck, while round trips are in progress, closes the connections
// of those whose context has ended, which ends a read or write blocked on
// them. One sweep for all costs less than a context.AfterFunc each, which
// registers in the context (for the fresh context of each request served,
// 5 allocations and about a microsecond), for an end noticed up to
// cancelCheck later. A context that cannot end needs no watching.
func (t *H1Transport) watch(c *h1Conn, ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	t.wmu.Lock()
	c.ctx, c.slot = ctx, len(t.watched)
	t.watched = append(t.watched, c)
	if !t.sweeping {
		t.sweeping = true
		if t.sweep == nil {
			t.sweep = time.AfterFunc(cancelCheck, t.sweepEnded)
		} else {
			t.sweep.Reset(cancelCheck)
		}
	}
	t.wmu.Unlock()
}

// unwatch ends the watch of c's round trip; it reports false if its
// context ended and a sweep closed c.
func (t *H1Transport) unwatch(c *h1Conn) bool {
	if c.ctx == nil {
		return true
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	c.ctx = nil
	if c.ended {
		return false
	}
	t.unwatchLocked(c)
	return true
}

func (t *H1Transport) unwatchLocked(c *h1Conn) {
	last := len(t.watched) - 1
	t.watched[c.slot] = t.watched[last]
	t.watched[c.slot].slot = c.slot
	t.watched[last] = nil
	t.watched = t.watched[:last]
}

// sweepEnded closes the connections of round trips whose context ended.
func (t *H1Transport) sweepEnded() {
	var ended []*h1Conn
	t.wmu.Lock()
	for i := 0; i < len(t.watched); {
		c := t.watched[i]
		if c.ctx.Err() == nil {
			i++
			continue
		}
		c.ended = true
		t.unwatchLocked(c)
		ended = append(ended, c)
	}
	if len(t.watched) > 0 {
		t.sweep.Reset(cancelCheck)
	} else {
		t.sweeping = false
	}
	t.wmu.Unlock()
	for _, c := range ended {
		c.conn.Close()
	}
}

// get returns an idle connection for key, or dials one.
func (t *H1Transport) get(ctx context.Context, key h1Key, u *url.URL) (*h1Conn, bool, error) {
	var now time.Time
	if t.IdleTimeout > 0 {
		now = time.Now()
	}
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
	if t.IdleTimeout > 0 {
		c.idleAt = time.Now()
	}
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
