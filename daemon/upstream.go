package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"

	"github.com/cas-proxy/cas/session"
)

// newUpstream returns the transport that reaches the apps: the session
// package's tuned transport, with names under .localhost dialled on
// loopback (RFC 6761, as browsers do) and casd's internal CA trusted beside
// the system's roots (apps served by casd itself, as in the demo, carry its
// certificates).
func (d *Daemon) newUpstream() http.RoundTripper {
	tr := session.NewTransport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dial(ctx, network, addr)
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if d.tlsCA != nil {
		roots.AddCert(d.tlsCA.Cert)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return tr
}
