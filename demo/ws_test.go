package demo

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// wsClient is the client side of RFC 6455 for tests: masked frames.
type wsClient struct {
	conn *tls.Conn
	r    *bufio.Reader
}

// dialWS opens a WebSocket to u through the test listener with the
// client's cookies for u and the given Origin; it returns the handshake's
// response and, on 101, the connection.
func dialWS(t *testing.T, n *testNet, c *http.Client, u, origin string) (*http.Response, *wsClient) {
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
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	req, _ := http.NewRequest(http.MethodGet, "https://"+pu.Host+pu.RequestURI(), nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	httpURL := &url.URL{Scheme: "https", Host: pu.Host, Path: pu.Path}
	for _, ck := range c.Jar.Cookies(httpURL) {
		req.AddCookie(ck)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return resp, nil
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(base64.StdEncoding.EncodeToString(key)) {
		t.Errorf("Sec-WebSocket-Accept = %q", got)
	}
	return resp, &wsClient{conn: conn, r: r}
}

func (w *wsClient) send(t *testing.T, fin bool, opcode byte, payload []byte) {
	t.Helper()
	hdr := []byte{opcode, 0x80}
	if fin {
		hdr[0] |= 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		hdr[1] |= byte(n)
	case n <= 0xFFFF:
		hdr[1] |= 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] |= 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	masked := make([]byte, len(payload))
	for i := range payload {
		masked[i] = payload[i] ^ mask[i%4]
	}
	if _, err := w.conn.Write(append(append(hdr, mask...), masked...)); err != nil {
		t.Fatal(err)
	}
}

// recv reads one server frame, which must be unmasked.
func (w *wsClient) recv(t *testing.T) (byte, []byte) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if hdr[1]&0x80 != 0 || hdr[0]&0x80 == 0 {
		t.Fatalf("server frame masked or fragmented: % x", hdr)
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		_, _ = io.ReadFull(w.r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, _ = io.ReadFull(w.r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.r, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return hdr[0] & 0x0F, p
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

	ws.send(t, true, opText, []byte("hello"))
	if op, p := ws.recv(t); op != opText || string(p) != "hello" {
		t.Errorf("echo: op %d %q", op, p)
	}
	big := bytes.Repeat([]byte("é"), 40000) // 80000 bytes: a 64-bit length
	ws.send(t, true, opText, big)
	if op, p := ws.recv(t); op != opText || !bytes.Equal(p, big) {
		t.Errorf("big echo: op %d, %d bytes", op, len(p))
	}
	ws.send(t, true, opPing, []byte("p1"))
	if op, p := ws.recv(t); op != opPong || string(p) != "p1" {
		t.Errorf("ping: op %d %q", op, p)
	}
	// A fragmented binary message with a ping in the middle.
	ws.send(t, false, opBinary, []byte{1, 2})
	ws.send(t, true, opPing, nil)
	ws.send(t, true, opContinuation, []byte{3})
	if op, _ := ws.recv(t); op != opPong {
		t.Errorf("ping inside a fragmented message: op %d", op)
	}
	if op, p := ws.recv(t); op != opBinary || !bytes.Equal(p, []byte{1, 2, 3}) {
		t.Errorf("fragmented echo: op %d % x", op, p)
	}
	ws.send(t, true, opClose, binary.BigEndian.AppendUint16(nil, closeNormal))
	if op, p := ws.recv(t); op != opClose || binary.BigEndian.Uint16(p) != closeNormal {
		t.Errorf("close: op %d % x", op, p)
	}

	// Invalid UTF-8 in a text message closes with 1007.
	_, ws = dialWS(t, e.n, c, l.WS, origin)
	ws.send(t, true, opText, []byte{0xff, 0xfe})
	if op, p := ws.recv(t); op != opClose || binary.BigEndian.Uint16(p) != closeInvalidData {
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
