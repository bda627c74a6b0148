package demo

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

// dialWS opens a WebSocket to u through the test listener with the
// client's cookies for u and the given Origin; it returns the handshake's
// response and, on 101, the connection.
func dialWS(t *testing.T, n *testNet, c *http.Client, u, origin string) (*http.Response, *testkit.WSConn) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", n.srv.Listener.Addr().String(), &tls.Config{ServerName: pu.Hostname(), RootCAs: n.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := &http.Request{Header: http.Header{}}
	for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "https", Host: pu.Host, Path: pu.Path}) {
		req.AddCookie(ck)
	}
	return testkit.DialWS(t, conn, u, origin, req.Header.Get("Cookie"))
}

func TestAppWebSocketEcho(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "alice")
	l := e.app.links()
	page := get(t, c, l.Streaming)
	status := elements(t, page.Body)["ws-status"]
	if status == nil || attr(status, "data-socket") != l.WS || !strings.HasPrefix(l.WS, "wss://acme.my.") {
		t.Fatalf("streaming page: %.300s", page.Body)
	}
	origin := e.app.base(e.app.lightHost)
	resp, ws := dialWS(t, e.n, c, l.WS, origin)
	if ws == nil {
		t.Fatalf("handshake: %s", resp.Status)
	}

	ws.Send(t, true, opText, []byte("hello"))
	if op, p := ws.Recv(t); op != opText || string(p) != "hello" {
		t.Errorf("echo: op %d %q", op, p)
	}
	big := bytes.Repeat([]byte("é"), 40000) // 80000 bytes: a 64-bit length
	ws.Send(t, true, opText, big)
	if op, p := ws.Recv(t); op != opText || !bytes.Equal(p, big) {
		t.Errorf("big echo: op %d, %d bytes", op, len(p))
	}
	ws.Send(t, true, opPing, []byte("p1"))
	if op, p := ws.Recv(t); op != opPong || string(p) != "p1" {
		t.Errorf("ping: op %d %q", op, p)
	}
	// A fragmented binary message with a ping in the middle.
	ws.Send(t, false, opBinary, []byte{1, 2})
	ws.Send(t, true, opPing, nil)
	ws.Send(t, true, opContinuation, []byte{3})
	if op, _ := ws.Recv(t); op != opPong {
		t.Errorf("ping inside a fragmented message: op %d", op)
	}
	if op, p := ws.Recv(t); op != opBinary || !bytes.Equal(p, []byte{1, 2, 3}) {
		t.Errorf("fragmented echo: op %d % x", op, p)
	}
	ws.Send(t, true, opClose, binary.BigEndian.AppendUint16(nil, closeNormal))
	if op, p := ws.Recv(t); op != opClose || binary.BigEndian.Uint16(p) != closeNormal {
		t.Errorf("close: op %d % x", op, p)
	}

	// Invalid UTF-8 in a text message closes with 1007.
	_, ws = dialWS(t, e.n, c, l.WS, origin)
	ws.Send(t, true, opText, []byte{0xff, 0xfe})
	if op, p := ws.Recv(t); op != opClose || binary.BigEndian.Uint16(p) != closeInvalidData {
		t.Errorf("invalid UTF-8: op %d % x", op, p)
	}

	for _, tt := range []struct {
		name   string
		client *http.Client
		origin string
		status int
	}{
		{"foreign origin", c, "https://evil.example", http.StatusForbidden},
		{"no session", e.n.client(t), origin, http.StatusUnauthorized},
	} {
		if resp, ws := dialWS(t, e.n, tt.client, l.WS, tt.origin); ws != nil || resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
}

func TestWSAccept(t *testing.T) {
	// The example of RFC 6455 §1.3.
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("wsAccept = %q", got)
	}
}
