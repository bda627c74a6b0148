package session

import (
	"mime"
	"strings"
	"unicode/utf8"
)

// parseMediaType returns what mime.ParseMediaType makes of a Content-Type
// value v: the media type (lower case, without parameters) and whether v
// parses at all. It reads the common forms itself, without building the
// parameter map that mime.ParseMediaType allocates on every call, and
// leaves anything unusual (non-ASCII, quoted escapes, RFC 2231 parameters,
// many parameters) to mime.ParseMediaType.
func parseMediaType(v string) (string, bool) {
	if mt, ok, sure := quickMediaType(v); sure {
		if !ok {
			return "", false
		}
		return mt, true
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return "", false
	}
	return mt, true
}

// quickMediaType is parseMediaType's own reading; sure is false when it
// leaves v to mime.ParseMediaType.
func quickMediaType(v string) (mt string, ok, sure bool) {
	for i := 0; i < len(v); i++ {
		if v[i] >= utf8.RuneSelf {
			return "", false, false
		}
	}
	base, _, _ := strings.Cut(v, ";")
	mt = strings.TrimSpace(strings.ToLower(base))
	if !validMediaType(mt) {
		return "", false, true
	}
	// The parameters, as mime.ParseMediaType's consumeMediaParam reads
	// them: ";" name "=" (token | quoted-string), with spaces around each.
	type param struct{ name, value string }
	var seen [8]param
	n := 0
	rest := v[len(base):]
	for {
		rest = trimLeftSpace(rest)
		if rest == "" {
			return mt, true, true
		}
		p, ok := strings.CutPrefix(rest, ";")
		if !ok {
			return "", false, true
		}
		p = trimLeftSpace(p)
		name, after := consumeToken(p)
		if name == "" {
			// Only trailing semicolons are no error.
			return mt, strings.TrimSpace(rest) == ";", true
		}
		if strings.IndexByte(name, '*') >= 0 {
			return "", false, false // RFC 2231 continuations and encodings
		}
		after, ok = strings.CutPrefix(trimLeftSpace(after), "=")
		if !ok {
			return mt, strings.TrimSpace(rest) == ";", true
		}
		after = trimLeftSpace(after)
		var value string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexAny(after[1:], "\"\\\r\n")
			if end < 0 || after[1+end] != '"' {
				return "", false, false // escapes, line breaks, no end quote
			}
			value, after = after[1:1+end], after[2+end:]
		} else if value, after = consumeToken(after); value == "" {
			return mt, strings.TrimSpace(rest) == ";", true
		}
		for _, q := range seen[:n] {
			if strings.EqualFold(q.name, name) {
				if q.value != value {
					return "", false, true // a duplicate with another value
				}
				break
			}
		}
		if n == len(seen) {
			return "", false, false
		}
		seen[n] = param{name, value}
		n++
		rest = after
	}
}

// validMediaType reports whether the lower-case s is a token, or a token
// "/" token, as mime.ParseMediaType requires.
func validMediaType(s string) bool {
	typ, rest := consumeToken(s)
	if typ == "" {
		return false
	}
	if rest == "" {
		return true
	}
	rest, ok := strings.CutPrefix(rest, "/")
	if !ok {
		return false
	}
	sub, rest := consumeToken(rest)
	return sub != "" && rest == ""
}

func consumeToken(v string) (token, rest string) {
	for i := 0; i < len(v); i++ {
		if !isTokenChar(v[i]) {
			return v[:i], v[i:]
		}
	}
	return v, ""
}

// isTokenChar reports whether c may appear in an RFC 2045 token: printable
// ASCII but space and the tspecials.
func isTokenChar(c byte) bool { return tokenChar[c] }

var tokenChar = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune(`()<>@,;:\"/[]?=`, c)
	}
	return t
}()

// trimLeftSpace trims the ASCII spaces unicode.IsSpace knows.
func trimLeftSpace(s string) string {
	for len(s) > 0 {
		switch s[0] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			s = s[1:]
			continue
		}
		break
	}
	return s
}
