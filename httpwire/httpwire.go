// Package httpwire holds the HTTP/1.1 framing rules that front's request
// parser and session's response reader share, each as net/http applies
// them, so that both read messages exactly as net/http would (their fuzz
// tests hold them to it).
package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// ErrTrailerEOF is ReadTrailer's error when the message ends inside the
// trailer.
var ErrTrailerEOF = errors.New("http: unexpected EOF reading trailer")

// ReadTrailer reads what follows a chunked body's last chunk from br into
// *dst (made when nil), as net/http's body does: an empty trailer is the
// final CRLF; otherwise its end must already be within br's buffer.
func ReadTrailer(br *bufio.Reader, dst *http.Header) error {
	buf, err := br.Peek(2)
	if bytes.Equal(buf, []byte("\r\n")) {
		br.Discard(2)
		return nil
	}
	if len(buf) < 2 {
		return ErrTrailerEOF
	}
	if err != nil {
		return err
	}
	if !seeUpcomingDoubleCRLF(br) {
		return errors.New("http: suspiciously long trailer after chunked body")
	}
	hdr, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		if err == io.EOF {
			return ErrTrailerEOF
		}
		return err
	}
	if *dst == nil {
		*dst = http.Header(hdr)
	} else {
		maps.Copy(*dst, http.Header(hdr))
	}
	return nil
}

// seeUpcomingDoubleCRLF reports whether r's buffer holds a CRLF CRLF.
func seeUpcomingDoubleCRLF(r *bufio.Reader) bool {
	for n := 4; ; n++ {
		// Peek fails once r's buffer is full: the loop ends there.
		buf, err := r.Peek(n)
		if bytes.HasSuffix(buf, []byte("\r\n\r\n")) {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// TrailerKeys returns the keys a Trailer header announces, as net/http
// does: nil when none, an error for the framing keys.
func TrailerKeys(vv []string) (http.Header, error) {
	var trailer http.Header
	for _, v := range vv {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f == "" {
				continue
			}
			switch key := http.CanonicalHeaderKey(f); key {
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, fmt.Errorf("bad trailer key %q", key)
			default:
				if trailer == nil {
					trailer = http.Header{}
				}
				trailer[key] = nil
			}
		}
	}
	return trailer, nil
}

// ContentLength reads a message's Content-Length header as net/http does:
// -1 when there is none; repeats of one value count once (h keeps one);
// different values, an empty one or one that is not a decimal number are
// errors.
func ContentLength(h http.Header) (int64, error) {
	cls := h["Content-Length"]
	if len(cls) == 0 {
		return -1, nil
	}
	if len(cls) > 1 {
		first := textproto.TrimString(cls[0])
		for _, v := range cls[1:] {
			if textproto.TrimString(v) != first {
				return 0, fmt.Errorf("http: message cannot contain multiple Content-Length headers; got %q", cls)
			}
		}
		h["Content-Length"] = []string{first}
	}
	v := textproto.TrimString(cls[0])
	if v == "" {
		return 0, errors.New("invalid empty Content-Length")
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("bad Content-Length %q", v)
	}
	return int64(n), nil
}

// ShouldClose reports whether the connection ends after a message with
// this protocol version and header, as net/http decides it.
func ShouldClose(major, minor int, h http.Header) bool {
	if major < 1 {
		return true
	}
	conn := h["Connection"]
	hasClose := httpguts.HeaderValuesContainsToken(conn, "close")
	if major == 1 && minor == 0 {
		return hasClose || !httpguts.HeaderValuesContainsToken(conn, "keep-alive")
	}
	return hasClose
}

// ASCIIEqualFold reports whether s and t are equal under ASCII case
// folding alone (strings.EqualFold also folds U+212A to k).
func ASCIIEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != lower(t[i]) {
			return false
		}
	}
	return true
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + ('a' - 'A')
	}
	return b
}

// What a header name is to net/textproto (Key).
const (
	KeyToken   = iota // token bytes only: canonicalised
	KeySpace          // token bytes and spaces: accepted, and kept as it is
	KeyInvalid        // empty, or a byte neither a token byte nor a space
)

// Key reports what kind of header name key is and, for a KeyToken,
// whether it is in net/textproto's canonical form already.
func Key[T string | []byte](key T) (kind int, canonical bool) {
	if len(key) == 0 {
		return KeyInvalid, false
	}
	upper, canonical, space := true, true, false
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !IsTokenByte(c) {
			if c != ' ' {
				return KeyInvalid, false
			}
			space = true
			continue
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if space {
		return KeySpace, false
	}
	return KeyToken, canonical
}

// CanonicalizeKey puts a KeyToken name into net/textproto's canonical
// form in place: its first letter and each one after a '-' in upper case,
// the others in lower case.
func CanonicalizeKey(key []byte) {
	upper := true
	for i, c := range key {
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		key[i] = c
		upper = c == '-'
	}
}

// IsTokenByte reports whether c may be in a header name: an RFC 9110
// tchar.
func IsTokenByte(c byte) bool { return byteClass[c]&tokenByte != 0 }

// IsValueByte reports whether c may be in a header value, as
// net/textproto decides it: VCHAR, obs-text, SP and HTAB.
func IsValueByte(c byte) bool { return byteClass[c]&valueByte != 0 }

const (
	tokenByte = 1 << iota
	valueByte
)

var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 0x21 && c <= 0x7e || c == ' ' || c == '\t' || c >= 0x80 {
			t[c] |= valueByte
		}
		if '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0 {
			t[c] |= tokenByte
		}
	}
	return t
}()
