package session

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProxyTLSUpstream runs the app over TLS with HTTP/2 behind the default
// transport: requests go over HTTP/2, WebSocket upgrades over HTTP/1.1.
func TestProxyTLSUpstream(t *testing.T) {
	app := httptest.NewUnstartedServer(&fakeApp{})
	app.EnableHTTP2 = true
	app.StartTLS()
	t.Cleanup(app.Close)
	roots := x509.NewCertPool()
	roots.AddCert(app.Certificate())
	h := newHarness(t, func(c *Config) {
		tr := NewTransport()
		// Every app host reaches the test server, whose certificate names
		// example.com.
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, ServerName: "example.com"}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, app.Listener.Addr().String())
		}
		c.Transport = tr
		c.UpstreamScheme = "https"
	})
	resp, b := h.do("GET", sf+"/home.br", nil, map[string]string{"Accept-Encoding": "br"})
	if resp.StatusCode != 200 || resp.Header.Get("X-Proto") != "HTTP/2.0" || resp.Header.Get("Content-Encoding") != "br" || len(b) == 0 {
		t.Errorf("status %d, proto %q, encoding %q", resp.StatusCode, resp.Header.Get("X-Proto"), resp.Header.Get("Content-Encoding"))
	}

	conn, err := h.client.Transport.(*http.Transport).DialContext(context.Background(), "tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: acme.my.salesforce.com.cas.example.net\r\n"+
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Origin: https://acme.my.salesforce.com.cas.example.net\r\nCookie: __cas_session=tok-sf\r\n\r\n")
	br := bufio.NewReader(conn)
	wsResp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if wsResp.StatusCode != 101 {
		t.Fatalf("websocket over TLS upstream: status %d", wsResp.StatusCode)
	}
	io.WriteString(conn, "over tls\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo: over tls\n" {
		t.Errorf("echo = %q, %v", line, err)
	}
}
