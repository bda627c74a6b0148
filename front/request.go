package front

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/cas-proxy/cas/httpwire"
)

// The request head parser: net/http's readRequest (request line, MIME
// header as net/textproto reads it, body framing as its readTransfer
// decides for a request) and its server's checks, in the same order (so
// the same request gets the same status), but reading the head as one
// string: keys and values are sliced from it, keys canonicalised in place
// before it is made.

var (
	// errUnsupportedTE is net/http's unsupportedTEError, answered 501.
	errUnsupportedTE = errors.New("unsupported transfer encoding")
	// errBadRequest is any malformed head, answered 400 as net/http
	// answers its parser's errors.
	errBadRequest = errors.New("malformed request")
)

// field is one header field of a head: offsets of its key and value. A
// folded value (obs-fold) spans lines, from vs to ve, and is rebuilt.
type field struct {
	ks, ke, vs, ve int
	folded         bool
}

// readHead returns the next request's head from c.br, through the blank
// line that ends it; its bytes may be changed (keys are canonicalised in
// place) until n bytes are discarded from c.br (n is 0 when the head was
// copied out of it). When deadline is set, a head not already buffered
// is read under ReadHeaderTimeout.
func (c *conn) readHead(deadline bool) (head []byte, n int, err error) {
	br := c.br
	if b, _ := br.Peek(br.Buffered()); len(b) > 0 {
		if n := headEnd(b); n > 0 {
			return b[:n], n, nil
		}
	}
	if deadline {
		c.setReadDeadline(c.srv.ReadHeaderTimeout)
	}
	buf := c.head[:0]
	start := 0 // of the current line
	for {
		frag, err := br.ReadSlice('\n')
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		c.head = buf
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, err
		}
		line := buf[start:]
		if start == 0 {
			// As net/http: a bad request line is refused before the
			// rest of the head arrives.
			if blank(line) {
				return buf, 0, nil
			}
			rl, err := parseRequestLine(string(trimEOL(line)))
			if err == nil {
				_, err = parseTarget(rl.method, rl.uri)
			}
			if err != nil {
				return nil, 0, err
			}
		} else if blank(line) {
			return buf, 0, nil
		}
		start = len(buf)
	}
}

// headEnd returns the length of the head at the start of b, through the
// blank line that ends it (or the request line, if blank); 0 if b does
// not hold all of it.
func headEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0
	}
	if blank(b[:i+1]) {
		return i + 1
	}
	for {
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			return 0
		}
		line := b[i+1 : i+j+2]
		i += j + 1
		if blank(line) {
			return i + 1
		}
	}
}

// blank reports whether line (with its LF) is empty.
func blank(line []byte) bool {
	return len(line) == 1 || len(line) == 2 && line[0] == '\r'
}

// trimEOL drops a line's LF and a CR before it, as bufio.Reader.ReadLine.
func trimEOL(line []byte) []byte {
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line
}

// requestLine is what a request line says.
type requestLine struct {
	method, uri, proto string
	major, minor       int
}

// parseRequestLine parses a request line as net/http's readRequest does,
// but for its target (parseTarget).
func parseRequestLine(line string) (rl requestLine, err error) {
	var ok1, ok2 bool
	var rest string
	rl.method, rest, ok1 = strings.Cut(line, " ")
	rl.uri, rl.proto, ok2 = strings.Cut(rest, " ")
	if !ok1 || !ok2 || !httpguts.ValidHeaderFieldName(rl.method) {
		return rl, errBadRequest
	}
	var ok bool
	if rl.major, rl.minor, ok = http.ParseHTTPVersion(rl.proto); !ok {
		return rl, errBadRequest
	}
	return rl, nil
}

// parseTarget parses a request's target as net/http's readRequest does.
func parseTarget(method, target string) (*url.URL, error) {
	// CONNECT's target is an authority (tunnels) or a path (net/rpc).
	justAuthority := method == http.MethodConnect && !strings.HasPrefix(target, "/")
	if justAuthority {
		target = "http://" + target
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, errBadRequest
	}
	if justAuthority {
		u.Scheme = ""
	}
	return u, nil
}

// newRequest makes the request of rl, with ctx. An origin-form target
// ("/path?query", not "//", no "#") is parsed by http.NewRequest's
// url.Parse, which then parses it as url.ParseRequestURI does; others
// are parsed apart.
func newRequest(ctx context.Context, rl requestLine) (*http.Request, error) {
	target := ""
	if strings.HasPrefix(rl.uri, "/") && !strings.HasPrefix(rl.uri, "//") && strings.IndexByte(rl.uri, '#') < 0 {
		target = rl.uri
	}
	req, err := http.NewRequestWithContext(ctx, rl.method, target, nil)
	if err != nil {
		return nil, errBadRequest
	}
	if target == "" {
		if req.URL, err = parseTarget(rl.method, rl.uri); err != nil {
			return nil, err
		}
	}
	req.RequestURI = rl.uri
	req.Proto, req.ProtoMajor, req.ProtoMinor = rl.proto, rl.major, rl.minor
	return req, nil
}

// parseFields finds the header fields of head (after its request line,
// which ends at eol), checks them as net/textproto does and canonicalises
// their keys in place. badName reports a key net/textproto takes but the
// server refuses (one with a space), which is answered later, in the
// server's order.
func parseFields(head []byte, eol int, fields []field) (_ []field, badName bool, err error) {
	i := eol
	for {
		j := bytes.IndexByte(head[i:], '\n')
		line := trimEOL(head[i : i+j+1])
		if len(line) == 0 {
			return fields, badName, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// A first line that is a continuation (later ones are taken
			// with the line they continue).
			return fields, badName, errBadRequest
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return fields, badName, errBadRequest
		}
		f := field{ks: i, ke: i + colon}
		switch kind, _ := httpwire.Key(head[f.ks:f.ke]); kind {
		case httpwire.KeyInvalid:
			return fields, badName, errBadRequest
		case httpwire.KeySpace:
			badName = true
		default:
			httpwire.CanonicalizeKey(head[f.ks:f.ke])
		}
		f.vs, f.ve = trimSpace(head, i+colon+1, i+len(line))
		if !validValue(head[f.vs:f.ve]) {
			return fields, badName, errBadRequest
		}
		i += j + 1
		// Continuation lines (obs-fold) join the value.
		for head[i] == ' ' || head[i] == '\t' {
			j := bytes.IndexByte(head[i:], '\n')
			line := trimEOL(head[i : i+j+1])
			if !validValue(line) {
				return fields, badName, errBadRequest
			}
			f.folded = true
			f.ve = i + len(line)
			i += j + 1
		}
		fields = append(fields, f)
	}
}

// trimSpace returns the bounds of head[s:e] without leading and trailing
// spaces and tabs.
func trimSpace(head []byte, s, e int) (int, int) {
	for s < e && (head[s] == ' ' || head[s] == '\t') {
		s++
	}
	for e > s && (head[e-1] == ' ' || head[e-1] == '\t') {
		e--
	}
	return s, e
}

// foldedValue joins a folded value as net/textproto does: each line
// trimmed, joined by one space.
func foldedValue(head string, f field) string {
	var b strings.Builder
	lines := head[f.vs:f.ve]
	first, rest, _ := strings.Cut(lines, "\n")
	b.WriteString(trimLine(first))
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		b.WriteByte(' ')
		b.WriteString(trimLine(line))
	}
	// The value starts after the spaces following the colon, which may
	// include the first continuation's.
	return strings.TrimLeft(b.String(), " \t")
}

// trimLine drops a line's CR (its LF is gone) and surrounding spaces and
// tabs.
func trimLine(s string) string {
	s = strings.TrimSuffix(s, "\r")
	return strings.Trim(s, " \t")
}

func validValue(v []byte) bool {
	for _, c := range v {
		if !httpwire.IsValueByte(c) {
			return false
		}
	}
	return true
}

// readRequest reads the next request from the connection, with ctx as
// its context; what follows its head (its body) is left in c.br.
func (c *conn) readRequest(ctx context.Context, deadline bool) (*http.Request, error) {
	head, n, err := c.readHead(deadline)
	if err != nil {
		return nil, err
	}
	eol := bytes.IndexByte(head, '\n') + 1
	if eol == len(head) {
		return nil, errBadRequest // a blank request line
	}
	// All the head's errors are 400s: the request line's can wait for
	// the fields' checks.
	fields, badName, err := parseFields(head, eol, c.fields[:0])
	c.fields = fields[:0]
	if err != nil {
		return nil, err
	}
	s := string(head)
	if n > 0 {
		c.br.Discard(n)
	}
	if cap(c.head) > 64<<10 {
		c.head = nil // a large head's buffer is not kept
	}
	rl, err := parseRequestLine(strings.TrimSuffix(s[:eol-1], "\r"))
	if err != nil {
		return nil, err
	}
	req, err := newRequest(ctx, rl)
	if err != nil {
		return nil, err
	}
	if len(fields) > 8 {
		// Sized at once, not grown from the one group NewRequest's
		// starts with.
		req.Header = make(http.Header, len(fields))
	}
	hosts := fillHeader(req.Header, s, fields)
	if err := frame(req, hosts, c.br); err != nil {
		return nil, err
	}
	if err := checkRequest(req, hosts, badName); err != nil {
		return nil, err
	}
	req.RemoteAddr, req.TLS = c.remote, c.tls
	return req, nil
}

// hostFields is what a head says of Host, which the server checks and
// drops from the header the handler sees.
type hostFields struct {
	n     int    // fields
	first string // value of the first
}

// fillHeader puts the fields in h but Host, their strings sliced from
// head, their value slices from one array; it returns the Host fields.
func fillHeader(h http.Header, head string, fields []field) (hosts hostFields) {
	var vals []string
	for i, f := range fields {
		key := head[f.ks:f.ke]
		var v string
		if f.folded {
			v = foldedValue(head, f)
		} else {
			v = head[f.vs:f.ve]
		}
		if key == "Host" {
			if hosts.n == 0 {
				hosts.first = v
			}
			hosts.n++
			continue
		}
		if vv, ok := h[key]; ok {
			h[key] = append(vv, v)
			continue
		}
		if vals == nil {
			vals = make([]string, len(fields)-i)
		}
		vals[0] = v
		h[key], vals = vals[:1:1], vals[1:]
	}
	return hosts
}

// frame sets what net/http's readRequest sets after the header: Host,
// Close, and the body's framing (readTransfer), with its errors.
func frame(req *http.Request, hosts hostFields, br *bufio.Reader) error {
	h := req.Header
	if hosts.n > 1 {
		return errBadRequest
	}
	// RFC 9112, section 3.2.2: an absolute-form target's authority wins
	// over Host.
	req.Host = req.URL.Host
	if req.Host == "" {
		req.Host = hosts.first
	}
	if hp := h["Pragma"]; len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	req.Close = httpwire.ShouldClose(req.ProtoMajor, req.ProtoMinor, h)

	// Transfer-Encoding: only "chunked", once, and only from HTTP/1.1 on
	// (net/http takes version 0.0 for 1.1 here).
	major, minor := req.ProtoMajor, req.ProtoMinor
	if major == 0 && minor == 0 {
		major, minor = 1, 1
	}
	chunked := false
	if te, ok := h["Transfer-Encoding"]; ok {
		delete(h, "Transfer-Encoding")
		if major > 1 || major == 1 && minor >= 1 {
			if len(te) != 1 || !httpwire.ASCIIEqualFold(te[0], "chunked") {
				return errUnsupportedTE
			}
			chunked = true
		}
	}

	// Content-Length: repeated only with the same value, a decimal
	// number; Transfer-Encoding overrides it.
	length, err := httpwire.ContentLength(h)
	if err != nil {
		return errBadRequest
	}
	length = max(length, 0)
	if chunked {
		delete(h, "Content-Length")
		length = -1
	}

	// Trailer: declared keys, when chunked.
	if vv, ok := h["Trailer"]; ok && chunked {
		delete(h, "Trailer")
		trailer, err := httpwire.TrailerKeys(vv)
		if err != nil {
			return errBadRequest
		}
		req.Trailer = trailer
	}

	req.ContentLength = length
	switch {
	case chunked:
		req.TransferEncoding = []string{"chunked"}
		req.Body = &requestBody{chunked: newChunkedReader(br), br: br, req: req}
	case length > 0:
		req.Body = &requestBody{br: br, left: length}
	default:
		req.Body = http.NoBody
	}
	return nil
}

// checkRequest applies what net/http's server checks beyond its parser
// ((*conn).readRequest). Values were checked by the parser, by the same
// rule.
func checkRequest(req *http.Request, hosts hostFields, badName bool) error {
	if req.ProtoMajor != 1 {
		// net/http also lets "PRI * HTTP/2.0" reach the handler, for h2c;
		// casd speaks HTTP/2 only after ALPN.
		return statusError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	}
	if req.ProtoAtLeast(1, 1) && hosts.n == 0 && req.Method != http.MethodConnect {
		return statusError{http.StatusBadRequest, "missing required Host header"}
	}
	if hosts.n == 1 && !httpguts.ValidHostHeader(hosts.first) {
		return statusError{http.StatusBadRequest, "malformed Host header"}
	}
	if badName {
		return statusError{http.StatusBadRequest, "invalid header name"}
	}
	return nil
}
