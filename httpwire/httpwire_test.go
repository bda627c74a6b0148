package httpwire

import (
	"bufio"
	"net/http"
	"net/textproto"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

func TestByteClasses(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if got, want := IsTokenByte(b), c < 0x80 && httpguts.IsTokenRune(rune(c)); got != want {
			t.Errorf("IsTokenByte(%#x) = %v, httpguts says %v", c, got, want)
		}
		// net/textproto refuses a value holding a control byte other than
		// HTAB; obs-text (0x80-0xff) passes.
		if got, want := IsValueByte(b), httpguts.ValidHeaderFieldValue(string([]byte{'a', b})); got != want {
			t.Errorf("IsValueByte(%#x) = %v, httpguts says %v", c, got, want)
		}
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		key       string
		kind      int
		canonical bool
	}{
		{"Content-Type", KeyToken, true},
		{"content-type", KeyToken, false},
		{"CONTENT-TYPE", KeyToken, false},
		{"X-Forwarded-For", KeyToken, true},
		{"X-forwarded-for", KeyToken, false},
		{"Www-Authenticate", KeyToken, true},
		{"WWW-Authenticate", KeyToken, false},
		{"A", KeyToken, true},
		{"a", KeyToken, false},
		{"-", KeyToken, true},
		{"X--Y", KeyToken, true},
		{"1a", KeyToken, true}, // only a first byte or one after a dash is upper-cased
		{"1A", KeyToken, false},
		{"Content Type", KeySpace, false},
		{"", KeyInvalid, false},
		{"Content:Type", KeyInvalid, false},
		{"Café", KeyInvalid, false},
		{"Bad\tKey", KeyInvalid, false},
	}
	for _, tc := range tests {
		kind, canonical := Key(tc.key)
		if kind != tc.kind || canonical != tc.canonical {
			t.Errorf("Key(%q) = %d, %v; want %d, %v", tc.key, kind, canonical, tc.kind, tc.canonical)
		}
		if k, c := Key([]byte(tc.key)); k != kind || c != canonical {
			t.Errorf("Key([]byte(%q)) = %d, %v; Key(string) says %d, %v", tc.key, k, c, kind, canonical)
		}
	}
}

// FuzzKey holds Key and CanonicalizeKey to net/textproto: a token name is
// canonical exactly when CanonicalMIMEHeaderKey leaves it as it is, and
// CanonicalizeKey gives what CanonicalMIMEHeaderKey gives; a name with a
// space, or with a byte that is neither, is left alone by net/textproto.
func FuzzKey(f *testing.F) {
	for _, s := range []string{"content-type", "X-FORWARDED-FOR", "a-b-c", "Content Type", "", "x:y", "ß", "1a-2B", "--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		kind, canonical := Key(key)
		want := textproto.CanonicalMIMEHeaderKey(key)
		switch kind {
		case KeyToken:
			b := []byte(key)
			CanonicalizeKey(b)
			if string(b) != want {
				t.Fatalf("CanonicalizeKey(%q) = %q, net/textproto %q", key, b, want)
			}
			if canonical != (key == want) {
				t.Fatalf("Key(%q) says canonical %v, net/textproto gives %q", key, canonical, want)
			}
		case KeySpace, KeyInvalid:
			if want != key {
				t.Fatalf("Key(%q) = %d, but net/textproto canonicalises it to %q", key, kind, want)
			}
		}
	})
}

func TestContentLength(t *testing.T) {
	tests := []struct {
		vals []string
		want int64
		bad  bool
	}{
		{nil, -1, false},
		{[]string{"0"}, 0, false},
		{[]string{" 1024 "}, 1024, false},
		{[]string{"12", "12"}, 12, false},
		{[]string{"12", " 12"}, 12, false},
		{[]string{"12", "13"}, 0, true},
		{[]string{""}, 0, true},
		{[]string{"-1"}, 0, true},
		{[]string{"+5"}, 0, true},
		{[]string{"0x10"}, 0, true},
		{[]string{"1 2"}, 0, true},
		{[]string{"9223372036854775808"}, 0, true}, // beyond int64
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.vals != nil {
			h["Content-Length"] = append([]string(nil), tc.vals...)
		}
		n, err := ContentLength(h)
		if (err != nil) != tc.bad || !tc.bad && n != tc.want {
			t.Errorf("ContentLength(%q) = %d, %v; want %d (error %v)", tc.vals, n, err, tc.want, tc.bad)
		}
		if !tc.bad && len(tc.vals) > 1 && len(h["Content-Length"]) != 1 {
			t.Errorf("ContentLength(%q) left %q: repeats of one value count once", tc.vals, h["Content-Length"])
		}
	}
}

func TestShouldClose(t *testing.T) {
	tests := []struct {
		major, minor int
		conn         []string
		want         bool
	}{
		{1, 1, nil, false},
		{1, 1, []string{"close"}, true},
		{1, 1, []string{"keep-alive, Close"}, true},
		{1, 1, []string{"Upgrade"}, false},
		{1, 0, nil, true},
		{1, 0, []string{"keep-alive"}, false},
		{1, 0, []string{"Keep-Alive", "close"}, true},
		{0, 9, nil, true},
		{2, 0, nil, false},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.conn != nil {
			h["Connection"] = tc.conn
		}
		if got := ShouldClose(tc.major, tc.minor, h); got != tc.want {
			t.Errorf("ShouldClose(%d.%d, %q) = %v, want %v", tc.major, tc.minor, tc.conn, got, tc.want)
		}
	}
}

func TestTrailerKeys(t *testing.T) {
	got, err := TrailerKeys([]string{"x-checksum, Expires", " ,x-other"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"X-Checksum", "Expires", "X-Other"} {
		if _, ok := got[k]; !ok {
			t.Errorf("TrailerKeys: %q missing from %v", k, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("TrailerKeys = %v, want 3 keys", got)
	}
	if got, err := TrailerKeys(nil); got != nil || err != nil {
		t.Errorf("TrailerKeys(nil) = %v, %v; want nil, nil", got, err)
	}
	for _, framing := range []string{"Content-Length", "transfer-encoding", "X-A, Trailer"} {
		if _, err := TrailerKeys([]string{framing}); err == nil {
			t.Errorf("TrailerKeys(%q): no error; a framing header cannot be a trailer", framing)
		}
	}
}

func TestReadTrailer(t *testing.T) {
	tests := []struct {
		name, in string
		want     http.Header
		err      string
		rest     string
	}{
		{name: "empty", in: "\r\nGET / HTTP/1.1", want: nil, rest: "GET / HTTP/1.1"},
		{name: "fields", in: "X-Checksum: abc\r\nX-Other: 1\r\n\r\nNEXT", want: http.Header{"X-Checksum": {"abc"}, "X-Other": {"1"}}, rest: "NEXT"},
		{name: "cut short", in: "X-Checksum: abc\r\n", err: "suspiciously long trailer"},
		{name: "nothing", in: "", err: ErrTrailerEOF.Error()},
		{name: "one byte", in: "\r", err: ErrTrailerEOF.Error()},
	}
	for _, tc := range tests {
		br := bufio.NewReader(strings.NewReader(tc.in))
		var h http.Header
		err := ReadTrailer(br, &h)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(h) != len(tc.want) {
			t.Errorf("%s: trailer %v, want %v", tc.name, h, tc.want)
		}
		for k, v := range tc.want {
			if strings.Join(h[k], ",") != strings.Join(v, ",") {
				t.Errorf("%s: %s = %q, want %q", tc.name, k, h[k], v)
			}
		}
		rest := make([]byte, len(tc.rest)+1)
		n, _ := br.Read(rest)
		if string(rest[:n]) != tc.rest {
			t.Errorf("%s: left %q after the trailer, want %q", tc.name, rest[:n], tc.rest)
		}
	}
	// Into an existing header: fields are added to it.
	h := http.Header{"X-Checksum": nil}
	if err := ReadTrailer(bufio.NewReader(strings.NewReader("X-Checksum: abc\r\n\r\n")), &h); err != nil || h.Get("X-Checksum") != "abc" {
		t.Errorf("ReadTrailer into a declared trailer: %v, %v", h, err)
	}
}

func TestASCIIEqualFold(t *testing.T) {
	tests := []struct {
		s, t string
		want bool
	}{
		{"chunked", "CHUNKED", true},
		{"Keep-Alive", "keep-alive", true},
		{"chunked", "chunke", false},
		{"k", "\u212a", false}, // strings.EqualFold says true: the Kelvin sign
		{"", "", true},
		{"a-b", "a_b", false},
	}
	for _, tc := range tests {
		if got := ASCIIEqualFold(tc.s, tc.t); got != tc.want {
			t.Errorf("ASCIIEqualFold(%q, %q) = %v, want %v", tc.s, tc.t, got, tc.want)
		}
	}
}
