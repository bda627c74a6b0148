package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

// TestWebSocketThroughCasd: a browser opens WebSockets over HTTP/1.1 (casd's
// front server hands the connection to the session proxy, which tunnels it
// to the app); without a session the upgrade is not tunnelled.
func TestWebSocketThroughCasd(t *testing.T) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	b := testkit.NewBrowserProto(t, "http/1.1", ca)
	demoSession(t, d, b, "alice")
	wsURL := "wss://" + testkit.Proxied(testkit.DemoMyHost) + ":" + strconv.Itoa(d.Port) + "/cometd/ws"
	origin := d.URL(testkit.Proxied(testkit.DemoLightHost), "")

	resp, ws := dialWS(t, ca, d.Port, b, wsURL, origin)
	if ws == nil {
		t.Fatalf("handshake through casd: %s", resp.Status)
	}
	ws.send(t, 0x1, []byte("hello through casd"))
	if op, p := ws.recv(t); op != 0x1 || string(p) != "hello through casd" {
		t.Fatalf("echo: op %d %q", op, p)
	}
	big := bytes.Repeat([]byte("0123456789"), 20000) // 200,000 bytes: a 64-bit length
	ws.send(t, 0x2, big)
	if op, p := ws.recv(t); op != 0x2 || !bytes.Equal(p, big) {
		t.Fatalf("big echo: op %d, %d bytes", op, len(p))
	}

	// No session cookie: casd answers itself (a login redirect), the app
	// never sees the upgrade.
	anon := testkit.NewBrowserProto(t, "http/1.1", ca)
	resp, ws = dialWS(t, ca, d.Port, anon, wsURL, origin)
	if ws != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("upgrade without a session: %s", resp.Status)
	}
}

// TestHTTP1KeepAliveAndPipelining: several requests on one HTTP/1.1
// connection to a proxied host, the second sent before the first answer is
// read, each answered in order with its own page.
func TestHTTP1KeepAliveAndPipelining(t *testing.T) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	b := testkit.NewBrowserProto(t, "http/1.1", ca)
	demoSession(t, d, b, "alice")
	host := testkit.Proxied(testkit.DemoMyHost)
	conn := dialCasd(t, ca, d.Port, host)
	cookies := cookieHeader(b, "https://"+host+"/")
	paths := []string{"/home/home.jsp", "/00O000000000001", "/home/home.jsp"}
	var reqs bytes.Buffer
	for _, p := range paths {
		reqs.WriteString("GET " + p + " HTTP/1.1\r\nHost: " + host + ":" + strconv.Itoa(d.Port) + "\r\nCookie: " + cookies + "\r\n\r\n")
	}
	if _, err := conn.Write(reqs.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for _, p := range paths {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response to %s: %v", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("%s: %d close=%v err=%v\n%.300s", p, resp.StatusCode, resp.Close, err, body)
		}
		if bytes.Contains(body, []byte("demo-salesforce.localhost\"")) && !bytes.Contains(body, []byte(".cas.localhost")) {
			t.Errorf("%s: links not rewritten", p)
		}
	}
}

func dialCasd(t *testing.T, caPEM []byte, port int, host string) *tls.Conn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{ServerName: host, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("negotiated %q", p)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

func cookieHeader(b *testkit.Browser, u string) string {
	pu, _ := url.Parse(u)
	req := &http.Request{Header: http.Header{}}
	for _, c := range b.Jar.Cookies(pu) {
		req.AddCookie(c)
	}
	return req.Header.Get("Cookie")
}

type wsConn struct {
	conn *tls.Conn
	r    *bufio.Reader
}

// dialWS opens a WebSocket through casd with b's cookies and the Origin a
// browser would send; on 101 it returns the connection.
func dialWS(t *testing.T, caPEM []byte, port int, b *testkit.Browser, u, origin string) (*http.Response, *wsConn) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialCasd(t, caPEM, port, pu.Hostname())
	key := make([]byte, 16)
	rand.Read(key)
	req, _ := http.NewRequest(http.MethodGet, "https://"+pu.Host+pu.RequestURI(), nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	req.Header.Set("Origin", origin)
	if c := cookieHeader(b, "https://"+pu.Host+"/"); c != "" {
		req.Header.Set("Cookie", c)
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
	return resp, &wsConn{conn: conn, r: r}
}

// send writes one masked, final frame.
func (w *wsConn) send(t *testing.T, opcode byte, payload []byte) {
	t.Helper()
	hdr := []byte{0x80 | opcode, 0x80}
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
	mask := []byte{0x9a, 0x3c, 0x51, 0xe7}
	frame := append(hdr, mask...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	if _, err := w.conn.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// recv reads one unmasked server frame.
func (w *wsConn) recv(t *testing.T) (byte, []byte) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if hdr[1]&0x80 != 0 {
		t.Fatalf("server frame masked: % x", hdr)
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(w.r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		io.ReadFull(w.r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.r, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return hdr[0] & 0x0F, p
}
