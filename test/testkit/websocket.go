package testkit

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
)

// WSConn is the client side of RFC 6455 for tests: masked frames out,
// unmasked frames in.
type WSConn struct {
	Conn net.Conn
	R    *bufio.Reader
}

// DialWS sends a WebSocket opening handshake for u (wss://host/path) over
// conn, an HTTP/1.1 connection to u's host, with the given Origin and Cookie
// header (either may be empty). It returns the response and, when it is
// 101 Switching Protocols, the WebSocket; a wrong Sec-WebSocket-Accept is
// a test error.
func DialWS(t *testing.T, conn net.Conn, u, origin, cookie string) (*http.Response, *WSConn) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 16)
	rand.Read(key)
	k := base64.StdEncoding.EncodeToString(key)
	req, _ := http.NewRequest(http.MethodGet, "https://"+pu.Host+pu.RequestURI(), nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", k)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
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
	sum := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) // RFC 6455 §4.2.2 mandates SHA-1
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	return resp, &WSConn{Conn: conn, R: r}
}

// Send writes one masked frame.
func (w *WSConn) Send(t *testing.T, fin bool, opcode byte, payload []byte) {
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
	frame := append(hdr, mask...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	if _, err := w.Conn.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// Recv reads one server frame, which must be unmasked and final, and
// returns its opcode and payload.
func (w *WSConn) Recv(t *testing.T) (byte, []byte) {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(w.R, hdr[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if hdr[1]&0x80 != 0 || hdr[0]&0x80 == 0 {
		t.Fatalf("server frame masked or fragmented: % x", hdr)
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		io.ReadFull(w.R, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		io.ReadFull(w.R, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(w.R, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return hdr[0] & 0x0F, p
}
