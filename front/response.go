package front

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// response is the http.ResponseWriter of one request. A response's head
// is written when its body outgrows autoLengthMax, when the handler
// flushes, or when it returns; a response that ended by then is sent with
// a Content-Length, a longer one chunked (or, to HTTP/1.0, delimited by
// closing the connection).
type response struct {
	c      *conn
	req    *http.Request
	header http.Header
	// sent is a copy of header as it was at WriteHeader, made when the
	// handler asks for the header after it: what is sent, as net/http.
	sent   http.Header
	isHEAD bool

	status      int    // set by WriteHeader
	committed   bool   // the head is written
	pending     []byte // body bytes written before the head
	chunked     bool
	closeAfter  bool
	noBody      bool // the status or method has no body
	handlerDone bool
	// ownDeadline is set when the handler set the read deadline, which
	// the server then leaves alone.
	ownDeadline bool

	contentLength int64 // declared by the handler, -1 if none
	written       int64 // body bytes accepted from the handler
	// headType is the Content-Type sniffed from a HEAD response's first
	// write, which is not kept.
	headType string
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
	_ io.ReaderFrom       = (*response)(nil)
)

func (w *response) Header() http.Header {
	if w.status != 0 && !w.committed && w.sent == nil {
		w.sent = w.header.Clone()
	}
	return w.header
}

// WriteHeader records the status; informational ones (1xx but 101) are
// sent at once, as net/http does.
func (w *response) WriteHeader(code int) {
	if w.c.hijacked || w.status != 0 {
		return
	}
	if code < 100 || code > 999 {
		panic("front: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if w.committed {
			return
		}
		bw := w.c.bw
		writeStatusLine(bw, true, code)
		writeHeaders(bw, w.header, skipFraming)
		bw.WriteString("\r\n")
		w.c.flush()
		return
	}
	w.status = code
	if cl := headerGet(w.header, "Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			w.c.srv.logf("front: invalid Content-Length %q", cl)
			w.header.Del("Content-Length")
		}
	}
	w.noBody = w.isHEAD || !bodyAllowed(code)
	if code == http.StatusSwitchingProtocols {
		w.closeAfter = true // what follows is not HTTP/1.1 any more
	}
}

func (w *response) Write(p []byte) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	if w.isHEAD {
		if w.written == 0 && !w.committed {
			w.headType = http.DetectContentType(p)
		}
		w.written += int64(len(p))
		return len(p), nil
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.contentLength < 0 && len(w.pending)+len(p) <= autoLengthMax {
			if w.pending == nil {
				w.pending = w.c.pendBuf()
			}
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(p)
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// ReadFrom copies r into the response through a pooled buffer (io.Copy
// would otherwise allocate one per call).
func (w *response) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, r, *bp) // the struct hides ReadFrom
}

func (w *response) writeBody(p []byte) error {
	bw := w.c.bw
	if w.chunked {
		writeInt(bw, int64(len(p)), 16)
		bw.WriteString("\r\n")
		bw.Write(p)
		_, err := bw.WriteString("\r\n")
		return err
	}
	_, err := bw.Write(p)
	return err
}

// commit writes the head, and any pending body bytes, into the
// connection's buffer; next is the body's next bytes, for sniffing its
// Content-Type when none are pending.
func (w *response) commit(next []byte) {
	if w.committed {
		return
	}
	w.committed = true
	h := w.header
	if w.sent != nil {
		h = w.sent
	}
	req := w.req
	code := w.status
	// The server frames the body itself: the handler's Content-Length
	// (parsed by WriteHeader), Transfer-Encoding and trailers (not sent
	// over HTTP/1.1 by this server) are left out of the head.
	skip := skipFraming
	// The lines the server adds, written after the handler's header.
	var (
		length      int64 = -1
		contentType string
		connClose   bool
	)
	switch {
	case !bodyAllowed(code):
		if code == http.StatusNotModified {
			skip |= skipContentType
		}
	case w.contentLength >= 0:
		length = w.contentLength
	case w.isHEAD:
		if w.handlerDone && w.written > 0 {
			length = w.written // the length the GET would have had
		}
	case w.handlerDone:
		w.contentLength = int64(len(w.pending))
		length = w.contentLength
	case req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the body ends with the connection
	}
	if bodyAllowed(code) {
		if _, ok := h["Content-Type"]; !ok && headerGet(h, "Content-Encoding") == "" {
			contentType = w.sniff(next)
		}
	}
	if headerGet(h, "Connection") == "close" || w.c.srv.closing.Load() {
		w.closeAfter = true
	}
	if w.closeAfter && code != http.StatusSwitchingProtocols {
		skip |= skipConnection
		connClose = req.ProtoAtLeast(1, 1)
	}
	bw := w.c.bw
	writeStatusLine(bw, req.ProtoAtLeast(1, 1), code)
	writeHeaders(bw, h, skip)
	if length >= 0 {
		bw.WriteString("Content-Length: ")
		writeInt(bw, length, 10)
		bw.WriteString("\r\n")
	}
	if w.chunked {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if contentType != "" {
		bw.WriteString("Content-Type: ")
		bw.WriteString(contentType)
		bw.WriteString("\r\n")
	}
	if connClose {
		bw.WriteString("Connection: close\r\n")
	}
	if _, ok := h["Date"]; !ok {
		bw.WriteString("Date: ")
		bw.Write(httpDate())
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	if len(w.pending) > 0 && !w.noBody {
		w.writeBody(w.pending)
	}
	w.pending = nil
}

// sniff returns the Content-Type of the body's first bytes, "" if none.
func (w *response) sniff(next []byte) string {
	if w.isHEAD {
		return w.headType
	}
	data := w.pending
	if len(data) < sniffLen && len(next) > 0 {
		if len(data) == 0 {
			data = next
		} else {
			data = append(data[:len(data):len(data)], next[:min(len(next), sniffLen-len(data))]...)
		}
	}
	if len(data) == 0 {
		return ""
	}
	return http.DetectContentType(data)
}

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

// finish ends the response after the handler returned: the head if not
// yet written, the last chunk, the flush; then what is left of the
// request body is drained or the connection marked for closing.
func (w *response) finish(body *requestBody) {
	w.handlerDone = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed && !w.closeAfter && !body.drain() {
		// Say so in the head: the unread body ends the connection.
		w.closeAfter = true
	}
	w.commit(nil)
	if w.chunked {
		w.c.bw.WriteString("0\r\n\r\n")
	}
	if w.contentLength >= 0 && !w.noBody && w.written != w.contentLength {
		// The handler declared more than it wrote: the client cannot tell
		// where this body ends but by the connection closing.
		w.closeAfter = true
	}
	w.c.flush()
	if !w.closeAfter && !body.drain() {
		w.closeAfter = true
	}
}

// Flush writes the head and what is buffered to the client.
func (w *response) Flush() {
	w.FlushError()
}

// FlushError is Flush with its error, for http.ResponseController.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(nil)
	return w.c.flush()
}

// Hijack hands the connection to the handler: bytes the server already
// read from it are in the returned reader, and anything written so far is
// flushed first.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.status != 0 || len(w.pending) > 0 {
		w.commit(nil)
	}
	if err := c.flush(); err != nil {
		return nil, nil, err
	}
	if !w.ownDeadline {
		c.clearReadDeadline()
	}
	c.hijacked = true
	c.srv.track(c, false)
	// Hand over the buffers and the bare connection: the head limit is
	// off, and the writer no longer goes through c.
	c.lr.n = -1
	c.bw.Reset(c.nc)
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	w.ownDeadline = true
	return w.c.setReadDeadlineAt(t)
}
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

func bodyAllowed(code int) bool {
	switch {
	case code >= 100 && code <= 199:
		return false
	case code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

func writeStatusLine(bw *bufio.Writer, is11 bool, code int) {
	if is11 {
		bw.WriteString("HTTP/1.1 ")
	} else {
		bw.WriteString("HTTP/1.0 ")
	}
	writeInt(bw, int64(code), 10)
	bw.WriteByte(' ')
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	bw.WriteString(text)
	bw.WriteString("\r\n")
}

// headerGet is h.Get for a key already canonical (without Get's
// canonicalising it again).
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// writeInt writes n in base into bw's buffer (a number in a local array
// would escape through bw.Write to the heap).
func writeInt(bw *bufio.Writer, n int64, base int) {
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, base))
}

// What writeHeaders leaves out of a head.
const (
	skipFraming     = 1 << iota // Content-Length, Transfer-Encoding, trailers
	skipConnection              // Connection
	skipContentType             // Content-Type
)

// writeHeaders writes h but what skip says and invalid names (values with
// CR or LF in them made harmless, as net/http does).
func writeHeaders(bw *bufio.Writer, h http.Header, skip int) {
	for k, vv := range h {
		if !httpguts.ValidHeaderFieldName(k) || skipped(k, skip) {
			continue
		}
		for _, v := range vv {
			bw.WriteString(k)
			bw.WriteString(": ")
			if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 { // faster than ContainsAny
				v = newlineToSpace.Replace(v)
			}
			bw.WriteString(strings.TrimSpace(v))
			bw.WriteString("\r\n")
		}
	}
}

func skipped(k string, skip int) bool {
	switch k {
	case "Content-Length", "Transfer-Encoding", "Trailer":
		return skip&skipFraming != 0
	case "Connection":
		return skip&skipConnection != 0
	case "Content-Type":
		return skip&skipContentType != 0
	}
	return skip&skipFraming != 0 && strings.HasPrefix(k, http.TrailerPrefix)
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// dateCache holds the Date header's value for the current second.
type dateCache struct {
	sec int64
	b   []byte
}

var date atomic.Pointer[dateCache]

func httpDate() []byte {
	now := time.Now()
	if d := date.Load(); d != nil && d.sec == now.Unix() {
		return d.b
	}
	d := &dateCache{sec: now.Unix(), b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.b
}
