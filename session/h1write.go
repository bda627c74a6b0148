package session

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// writeRequest writes req on bw, byte for byte as req.Write would, and
// closes its body. It writes the common requests itself, without
// req.Write's formatting and transfer-writer allocations: no body or one of
// a known length, no trailers, no Transfer-Encoding, an ASCII host. The
// others (and traced requests) it leaves to req.Write.
//
// What req.Write guarantees against smuggling holds: the Host comes from
// req.Host or else the URL (an invalid one is sent empty), the request
// target may hold no control byte, the framing comes from ContentLength
// alone (Host, Content-Length, Transfer-Encoding and Trailer in the header
// map are never written), header names that are not tokens are dropped,
// and CR and LF in values become spaces. Beyond req.Write, a method that is
// not a token is refused, as http.Transport refuses it.
func writeRequest(bw *bufio.Writer, req *http.Request) (err error) {
	if req.Method != "" && !isToken(req.Method) {
		if req.Body != nil {
			req.Body.Close()
		}
		return fmt.Errorf("net/http: invalid method %q", req.Method)
	}
	if !plainRequest(req) {
		return req.Write(bw)
	}
	closed := false
	defer func() {
		if !closed && req.Body != nil {
			if cerr := req.Body.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		host = "" // as req.Write: an empty Host rather than an altered one
	}
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	query := req.URL.ForceQuery || req.URL.RawQuery != ""
	if hasCTL(path) || query && hasCTL(req.URL.RawQuery) {
		return errors.New("net/http: can't write control character in Request.URL")
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	bw.WriteString(path)
	if query {
		bw.WriteByte('?')
		bw.WriteString(req.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	// Go's User-Agent unless the header has the key, even without a value.
	ua := "Go-http-client/1.1"
	if vals, ok := req.Header["User-Agent"]; ok {
		ua = ""
		if len(vals) > 0 {
			ua = vals[0]
		}
	}
	if ua != "" {
		writeHeaderLine(bw, "User-Agent", ua)
	}
	cl := req.ContentLength // 0 without a body: see plainRequest
	if cl > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), cl, 10))
		bw.WriteString("\r\n")
	}
	// The other headers in the order of their names, as req.Write.
	var keyBuf [32]string
	keys := keyBuf[:0]
	for k := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue // dropped, as req.Write drops it
		}
		for _, v := range req.Header[k] {
			writeHeaderLine(bw, k, v)
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if cl == 0 {
		return nil
	}
	if !inMemory(req.Body) {
		// The headers go first: the body may take its time.
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	n, err := io.Copy(bw, io.LimitReader(req.Body, cl))
	if err != nil {
		return err
	}
	extra, err := io.Copy(io.Discard, req.Body)
	if err != nil {
		return err
	}
	closed = true
	if err := req.Body.Close(); err != nil {
		return err
	}
	if n+extra != cl {
		return fmt.Errorf("http: ContentLength=%d with Body length %d", cl, n+extra)
	}
	return nil
}

// plainRequest reports whether writeRequest writes req itself.
func plainRequest(req *http.Request) bool {
	if req.URL == nil || req.URL.Opaque != "" || req.Method == http.MethodConnect ||
		len(req.TransferEncoding) > 0 || req.Trailer != nil || req.Close {
		return false
	}
	noBody := req.Body == nil || req.Body == http.NoBody
	if noBody && req.ContentLength != 0 || !noBody && req.ContentLength <= 0 {
		return false // errors, chunking or probing the body: req.Write's
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 || host[i] == '%' {
			return false // punycode or an IPv6 zone to remove
		}
	}
	return httptrace.ContextClientTrace(req.Context()) == nil
}

// writeHeaderLine writes "k: v\r\n" with v as req.Write sends it: CR and LF
// replaced by spaces, surrounding spaces trimmed.
func writeHeaderLine(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\n", " ", "\r", " ").Replace(v)
	}
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(textproto.TrimString(v))
	bw.WriteString("\r\n")
}

// isToken reports whether s is a non-empty HTTP token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !httpguts.IsTokenRune(rune(s[i])) {
			return false
		}
	}
	return true
}

// hasCTL reports whether s has an ASCII control byte.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// inMemory reports whether body is one req.Write knows to be in memory (it
// then sends headers and body together): a bytes.Reader, bytes.Buffer or
// strings.Reader, bare or in an io.NopCloser.
func inMemory(body io.Reader) bool {
	switch body.(type) {
	case *bytes.Reader, *bytes.Buffer, *strings.Reader:
		return true
	}
	// As net/http unwraps io.NopCloser, whose types are io's own.
	switch reflect.TypeOf(body) {
	case nopCloserType, nopCloserWriterToType:
		return inMemory(reflect.ValueOf(body).Field(0).Interface().(io.Reader))
	}
	return false
}

var (
	nopCloserType         = reflect.TypeOf(io.NopCloser(struct{ io.Reader }{}))
	nopCloserWriterToType = reflect.TypeOf(io.NopCloser(struct {
		io.Reader
		io.WriterTo
	}{}))
)
