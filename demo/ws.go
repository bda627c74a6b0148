package demo

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// The server side of RFC 6455, enough for an echo: the opening handshake,
// masked client frames, fragmentation, ping/pong and the closing handshake.

const (
	wsGUID        = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	wsMaxMessage  = 1 << 20
	wsIdleTimeout = 5 * time.Minute

	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA

	closeNormal        = 1000
	closeProtocolError = 1002
	closeInvalidData   = 1007
	closeTooBig        = 1009
)

// wsAccept is the Sec-WebSocket-Accept value for a client's key.
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID)) // RFC 6455 §4.2.2 mandates SHA-1
	return base64.StdEncoding.EncodeToString(h[:])
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serveWebSocket is the app's streaming endpoint (/cometd/ws): it echoes
// every message. It wants a session and an Origin on the app's hosts, as a
// real app guards against cross-site WebSocket hijacking.
func (a *App) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !headerHasToken(r.Header, "Connection", "upgrade") || !headerHasToken(r.Header, "Upgrade", "websocket") {
		http.Error(w, "websocket upgrade required", http.StatusUpgradeRequired)
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "unsupported websocket version", http.StatusUpgradeRequired)
		return
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		http.Error(w, "bad Sec-WebSocket-Key", http.StatusBadRequest)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !a.isAppOrigin(origin) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	s, _, ok := a.session(r)
	if !ok {
		http.Error(w, "session expired or invalid", http.StatusUnauthorized)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked; browsers use HTTP/1.1 for WebSockets.
		http.Error(w, "websocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	defer conn.Close()
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsAccept(key) + "\r\n\r\n"
	if _, err := brw.WriteString(resp); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	a.log.Info("demo app: websocket opened", "user", s.email)
	err = wsEcho(conn, brw.Reader)
	a.log.Info("demo app: websocket closed", "user", s.email, "err", err)
}

func (a *App) isAppOrigin(origin string) bool {
	for _, h := range a.Hosts() {
		if origin == a.base(h) {
			return true
		}
	}
	return false
}

type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// wsEcho runs the echo loop until the peer closes or breaks the protocol.
func wsEcho(conn net.Conn, r *bufio.Reader) error {
	var msg []byte
	var msgOp byte
	for {
		// An I/O deadline, not a decision: the real clock is right here.
		_ = conn.SetReadDeadline(time.Now().Add(wsIdleTimeout))
		f, err := readFrame(r, wsMaxMessage-len(msg))
		if err != nil {
			code := uint16(closeProtocolError)
			if errors.Is(err, errFrameTooBig) {
				code = closeTooBig
			}
			if !errors.Is(err, io.EOF) && !isTimeout(err) {
				_ = writeClose(conn, code)
			}
			return err
		}
		switch f.opcode {
		case opPing:
			if err := writeFrame(conn, opPong, f.payload); err != nil {
				return err
			}
		case opPong:
		case opClose:
			code := uint16(closeNormal)
			if len(f.payload) >= 2 {
				code = binary.BigEndian.Uint16(f.payload)
			}
			_ = writeClose(conn, code)
			return nil
		case opText, opBinary:
			if msgOp != 0 {
				_ = writeClose(conn, closeProtocolError)
				return errors.New("websocket: new message inside a fragmented one")
			}
			msgOp, msg = f.opcode, f.payload
		case opContinuation:
			if msgOp == 0 {
				_ = writeClose(conn, closeProtocolError)
				return errors.New("websocket: continuation without a message")
			}
			msg = append(msg, f.payload...)
		default:
			_ = writeClose(conn, closeProtocolError)
			return errors.New("websocket: unknown opcode")
		}
		if f.opcode <= opBinary && f.fin {
			if msgOp == opText && !utf8.Valid(msg) {
				_ = writeClose(conn, closeInvalidData)
				return errors.New("websocket: text message is not UTF-8")
			}
			if err := writeFrame(conn, msgOp, msg); err != nil {
				return err
			}
			msg, msgOp = nil, 0
		}
	}
}

var errFrameTooBig = errors.New("websocket: message too big")

// readFrame reads one client frame, which must be masked, and unmasks it.
func readFrame(r *bufio.Reader, limit int) (wsFrame, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return wsFrame{}, err
	}
	f := wsFrame{fin: hdr[0]&0x80 != 0, opcode: hdr[0] & 0x0F}
	if hdr[0]&0x70 != 0 {
		return f, errors.New("websocket: reserved bits set")
	}
	if hdr[1]&0x80 == 0 {
		return f, errors.New("websocket: client frame not masked")
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if f.opcode >= opClose && (n > 125 || !f.fin) {
		return f, errors.New("websocket: bad control frame")
	}
	if limit < 0 || n > uint64(limit) {
		return f, errFrameTooBig
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return f, err
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, err
	}
	for i := range f.payload {
		f.payload[i] ^= mask[i%4]
	}
	return f, nil
}

// writeFrame writes one unmasked, unfragmented server frame.
func writeFrame(w io.Writer, opcode byte, payload []byte) error {
	hdr := make([]byte, 2, 10+len(payload))
	hdr[0] = 0x80 | opcode
	switch n := len(payload); {
	case n <= 125:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	_, err := w.Write(append(hdr, payload...))
	return err
}

func writeClose(w io.Writer, code uint16) error {
	return writeFrame(w, opClose, binary.BigEndian.AppendUint16(nil, code))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
