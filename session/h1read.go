package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/cas-proxy/cas/httpwire"
)

// maxHeadBytes bounds a response head, as http.Transport's default
// MaxResponseHeaderBytes does (http.ReadResponse alone has no bound).
const maxHeadBytes = 10 << 20

// readResponse reads a response to req from br as http.ReadResponse does,
// with the same result (status, protocol, header with textproto's keys,
// values and errors, framing, Close, Trailer once a chunked body is read,
// the same bytes consumed by a response and its body), in far fewer
// allocations: the head is one
// string that the status, protocol, most keys and the values are sliced
// from, and the response, its body reader and the first header values
// share one allocation. A body, when there is one, is an *h1Body; the
// caller attaches its connection.
//
// Where it differs, it errs rather than answer differently: a head longer
// than maxHeadBytes, and an empty Content-Length under
// GODEBUG=httplaxcontentlength=1, are errors here. And it reports an
// invalid header line once the whole head has arrived, not as soon as the
// line has (a bad status line, or a first header line that starts with a
// space, it reports at once).
func readResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	head, err := readHead(br)
	if err != nil {
		return nil, err
	}
	r := &h1Response{}
	resp := &r.resp
	resp.Request = req
	if err := parseHead(head, resp, r.vals[:]); err != nil {
		return nil, err
	}
	method := "GET"
	if req != nil {
		method = req.Method
	}
	if err := frame(resp, method, br, &r.body, &r.te); err != nil {
		return nil, err
	}
	return resp, nil
}

// h1Response is what readResponse allocates for a response, in one piece.
type h1Response struct {
	resp http.Response
	body h1Body
	te   [1]string
	// vals backs the values of a short header (most keys have one).
	vals [8]string
}

// readHead consumes and returns a response head: the status line and the
// header lines through the blank line that ends them. As textproto reads
// lines, a line ends at LF, and a blank line is LF or CR LF alone.
func readHead(br *bufio.Reader) (string, error) {
	start, scan := 0, 0 // the current line's first byte, the first byte not searched for LF
	status := true      // the current line is the status line
	for {
		buf, _ := br.Peek(br.Buffered())
		for {
			i := bytes.IndexByte(buf[scan:], '\n')
			if i < 0 {
				scan = len(buf)
				break
			}
			end := scan + i + 1
			if !status && isBlankLine(buf[start:end]) {
				head := string(buf[:end])
				br.Discard(end)
				return head, nil
			}
			status = false
			start, scan = end, end
		}
		if len(buf) == br.Size() {
			return readLongHead(br, buf, start, status)
		}
		if !status {
			// A malformed status line, or a header that starts with a
			// continuation, fails now as in ReadResponse, not once the app
			// sends more.
			line, rest, _ := bytes.Cut(buf, []byte("\n"))
			if _, _, _, _, _, err := parseStatusLine(string(dropCR(line))); err != nil {
				return "", err
			}
			if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				return "", errors.New("malformed MIME header initial line")
			}
		}
		if _, err := br.Peek(len(buf) + 1); err != nil {
			return "", unexpectedEOF(err)
		}
	}
}

// readLongHead goes on reading a head that has filled br's buffer, buf
// (its current line starts at start), line by line into a growing copy.
func readLongHead(br *bufio.Reader, buf []byte, start int, status bool) (string, error) {
	acc := append(make([]byte, 0, 2*len(buf)), buf...)
	br.Discard(len(buf))
	for {
		line, err := br.ReadSlice('\n')
		acc = append(acc, line...)
		if len(acc) > maxHeadBytes {
			return "", fmt.Errorf("response head longer than %d bytes", maxHeadBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", unexpectedEOF(err)
		}
		if !status && isBlankLine(acc[start:]) {
			return string(acc), nil
		}
		status = false
		start = len(acc)
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// isBlankLine reports whether line, ending in LF, is empty once bufio's
// ReadLine has removed its CR LF or LF.
func isBlankLine(line []byte) bool {
	return len(line) == 1 || len(line) == 2 && line[0] == '\r'
}

// dropCR removes the CR of a line's CR LF (the LF is already gone).
func dropCR[S string | []byte](line S) S {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// nextLine splits s, which holds an LF, after its first line, returning
// the line without its CR LF or LF.
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	return dropCR(s[:i]), s[i+1:]
}

// parseStatusLine parses a status line exactly as http.ReadResponse does.
func parseStatusLine(line string) (proto, status string, code, major, minor int, err error) {
	proto, status, ok := strings.Cut(line, " ")
	if !ok {
		return "", "", 0, 0, 0, fmt.Errorf("malformed HTTP response %q", line)
	}
	status = strings.TrimLeft(status, " ")
	digits, _, _ := strings.Cut(status, " ")
	if len(digits) != 3 {
		return "", "", 0, 0, 0, fmt.Errorf("malformed HTTP status code %q", digits)
	}
	if code, err = strconv.Atoi(digits); err != nil || code < 0 {
		return "", "", 0, 0, 0, fmt.Errorf("malformed HTTP status code %q", digits)
	}
	if major, minor, ok = http.ParseHTTPVersion(proto); !ok {
		return "", "", 0, 0, 0, fmt.Errorf("malformed HTTP version %q", proto)
	}
	return proto, status, code, major, minor, nil
}

// parseHead fills resp's status, protocol and header from head (as read
// by readHead) as http.ReadResponse does, with textproto.ReadMIMEHeader's
// rules for header lines; vals backs the first values of a short header,
// one allocation those of a longer one.
func parseHead(head string, resp *http.Response, vals []string) error {
	line, rest := nextLine(head)
	var err error
	resp.Proto, resp.Status, resp.StatusCode, resp.ProtoMajor, resp.ProtoMinor, err = parseStatusLine(line)
	if err != nil {
		return err
	}
	// The lines but the status line and the blank one bound the keys.
	n := strings.Count(rest, "\n") - 1
	h := make(http.Header, n)
	if n > len(vals) {
		vals = make([]string, n)
	}
	if rest[0] == ' ' || rest[0] == '\t' {
		line, _ := nextLine(rest)
		return fmt.Errorf("malformed MIME header initial line: %q", line[:min(len(line), 80)])
	}
	for {
		line, rest = nextLine(rest)
		if line == "" {
			break
		}
		if strings.IndexByte(line, ':') < 0 {
			return fmt.Errorf("malformed MIME header: missing colon: %q", line)
		}
		kv := trimSPHT(line)
		if rest[0] == ' ' || rest[0] == '\t' {
			// obs-fold: the continuation lines join the first, each
			// trimmed, with one space.
			b := []byte(kv)
			for rest[0] == ' ' || rest[0] == '\t' {
				line, rest = nextLine(rest)
				b = append(b, ' ')
				b = append(b, trimSPHT(line)...)
			}
			kv = string(b)
		}
		k, v, _ := strings.Cut(kv, ":")
		key, ok := canonicalKey(k)
		if !ok {
			return fmt.Errorf("malformed MIME header line: %q", kv)
		}
		for i := 0; i < len(v); i++ {
			if !httpwire.IsValueByte(v[i]) {
				return fmt.Errorf("malformed MIME header line: %q", kv)
			}
		}
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		if vv := h[key]; vv != nil || len(vals) == 0 {
			h[key] = append(vv, v)
		} else {
			vals[0] = v
			h[key], vals = vals[:1:1], vals[1:]
		}
	}
	// RFC 7234 §5.4, as ReadResponse: Pragma: no-cache is Cache-Control: no-cache.
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	resp.Header = h
	return nil
}

// trimSPHT removes the spaces and tabs around s, as textproto trims a
// header line (CR stays, and makes the line invalid).
func trimSPHT(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// canonicalKey returns the key of a header line as textproto makes it:
// canonical when it is a token, as it is when it also holds spaces, and
// not ok when it is empty or holds other bytes. A key that is canonical
// already is k itself; a common one comes from a table.
func canonicalKey(k string) (string, bool) {
	switch kind, canonical := httpwire.Key(k); {
	case kind == httpwire.KeyInvalid:
		return "", false
	case kind == httpwire.KeySpace || canonical:
		return k, true
	}
	var arr [64]byte
	b := append(arr[:0], k...)
	httpwire.CanonicalizeKey(b)
	if s, ok := commonKeys[string(b)]; ok {
		return s, true
	}
	return string(b), true
}

// commonKeys holds the header names apps commonly answer with, so that a
// lower-case one needs no new string.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Alt-Svc", "Cache-Control", "Connection", "Content-Disposition",
		"Content-Encoding", "Content-Language", "Content-Length", "Content-Location", "Content-Range",
		"Content-Security-Policy", "Content-Security-Policy-Report-Only", "Content-Type",
		"Cross-Origin-Embedder-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy",
		"Date", "Etag", "Expires", "Keep-Alive", "Last-Modified", "Link", "Location", "Nel",
		"Permissions-Policy", "Pragma", "Referrer-Policy", "Report-To", "Retry-After", "Server",
		"Server-Timing", "Set-Cookie", "Strict-Transport-Security", "Timing-Allow-Origin", "Trailer",
		"Transfer-Encoding", "Upgrade", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options",
		"X-Frame-Options", "X-Powered-By", "X-Request-Id", "X-Xss-Protection",
	} {
		m[k] = k
	}
	return m
}()

// frame sets resp's framing from its header as net/http's readTransfer
// does for a response to a request with method: ContentLength,
// TransferEncoding, Close, Trailer and Body (http.NoBody, or body
// prepared to read br). te backs TransferEncoding.
func frame(resp *http.Response, method string, br *bufio.Reader, body *h1Body, te *[1]string) error {
	h := resp.Header
	resp.Close = httpwire.ShouldClose(resp.ProtoMajor, resp.ProtoMinor, h)
	if resp.Close && resp.ProtoAtLeast(1, 1) {
		delete(h, "Connection") // as net/http does
	}

	chunked := false
	if raw, ok := h["Transfer-Encoding"]; ok {
		delete(h, "Transfer-Encoding")
		major, minor := resp.ProtoMajor, resp.ProtoMinor
		if major == 0 && minor == 0 {
			major, minor = 1, 1
		}
		// Only one Transfer-Encoding, chunked, and only from HTTP/1.1 on.
		if major > 1 || major == 1 && minor >= 1 {
			if len(raw) != 1 {
				return fmt.Errorf("too many transfer encodings: %q", raw)
			}
			if !httpwire.ASCIIEqualFold(raw[0], "chunked") {
				return fmt.Errorf("unsupported transfer encoding: %q", raw[0])
			}
			chunked = true
		}
	}

	n, err := httpwire.ContentLength(h)
	if err != nil {
		return err
	}
	noBody := method == "HEAD" || !bodyAllowedForStatus(resp.StatusCode)
	length := int64(-1) // of the body on the wire, -1 when not known
	switch {
	case noBody:
		length = 0
	case chunked:
		delete(h, "Content-Length")
	case n >= 0:
		length = n
	}
	resp.ContentLength = length
	if method == "HEAD" {
		resp.ContentLength = n
	}

	if vv, ok := h["Trailer"]; ok && chunked {
		delete(h, "Trailer")
		trailer, err := httpwire.TrailerKeys(vv)
		if err != nil {
			return err
		}
		resp.Trailer = trailer
	}

	if length == -1 && !chunked && bodyAllowedForStatus(resp.StatusCode) {
		resp.Close = true // the body ends when the connection does
	}
	if chunked {
		te[0] = "chunked"
		resp.TransferEncoding = te[:]
	}
	switch {
	case chunked && !noBody:
		*body = h1Body{br: br, kind: bodyChunked, chunked: newChunkedReader(br), resp: resp}
	case length > 0:
		*body = h1Body{br: br, kind: bodyLength, n: length}
	case length < 0 && !chunked:
		*body = h1Body{br: br, kind: bodyClose}
	default:
		resp.Body = http.NoBody
		return nil
	}
	resp.Body = body
	return nil
}

// bodyAllowedForStatus reports whether a response with this status may
// have a body (RFC 9110 §6.4.1).
func bodyAllowedForStatus(status int) bool {
	return !(status >= 100 && status <= 199 || status == 204 || status == 304)
}
