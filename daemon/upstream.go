package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/cas-proxy/cas/netio"
	"github.com/cas-proxy/cas/session"
)

// newUpstream returns the transport that reaches the apps: the session
// package's tuned transport, with names under .localhost dialled on
// loopback (RFC 6761, as browsers do), an app whose URLs name a port (its
// ACS URL) reached on that port, and casd's internal CA trusted beside the
// system's roots (apps served by casd itself, as in the demo, carry its
// certificates).
func (d *Daemon) newUpstream() http.RoundTripper {
	tr := session.NewTransport()
	tr.ForceAttemptHTTP2 = d.config().Session.UpstreamHTTP2
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil {
			if port == "443" {
				port = d.appPort(host, port)
			}
			if host == "localhost" || strings.HasSuffix(host, ".localhost") {
				host = "127.0.0.1"
			}
			addr = net.JoinHostPort(host, port)
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return netio.Wrap(c), nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if d.tlsCA != nil {
		roots.AddCert(d.tlsCA.Cert)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if d.config().Session.UpstreamHTTP2 {
		return tr
	}
	// HTTP/1.1 with the round trip on the request's goroutine; upgrades
	// (WebSocket) through the standard transport.
	return &session.H1Transport{
		DialContext:    tr.DialContext,
		TLSConfig:      tr.TLSClientConfig,
		MaxIdlePerHost: tr.MaxIdleConnsPerHost,
		IdleTimeout:    tr.IdleConnTimeout,
		Fallback:       tr,
	}
}

// appPort is the port of the app that host belongs to, from the app's ACS
// URL, or def when it names none.
func (d *Daemon) appPort(host, def string) string {
	m := d.mapper.Load()
	if m == nil {
		return def
	}
	name, ok := m.App(host)
	if !ok {
		return def
	}
	rt := d.app(name)
	if rt == nil {
		return def
	}
	if u, err := url.Parse(rt.app.ACSURL); err == nil && u.Port() != "" {
		return u.Port()
	}
	return def
}
