package policy

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

func builtins(t testing.TB) []Detector {
	t.Helper()
	var ds []Detector
	for _, typ := range []DetectorType{DetectCC, DetectSSN, DetectIBAN, DetectEmail} {
		d, err := NewDetector(typ, "")
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func mustDetector(t testing.TB, typ DetectorType, pattern string) Detector {
	t.Helper()
	d, err := NewDetector(typ, pattern)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// detectorCases are true and false positives; want is the count per key.
var detectorCases = []struct {
	name string
	text string
	want map[string]int
}{
	{"visa contiguous", "card 4111111111111111 ok", map[string]int{"cc": 1}},
	{"visa spaced", "4111 1111 1111 1111", map[string]int{"cc": 1}},
	{"visa dashed", "Order 4111-1111-1111-1111, thanks", map[string]int{"cc": 1}},
	{"mastercard", "5555555555554444", map[string]int{"cc": 1}},
	{"discover", "6011111111111117.", map[string]int{"cc": 1}},
	{"amex 4-6-5", "3782 822463 10005", map[string]int{"cc": 1}},
	{"amex contiguous", "(378282246310005)", map[string]int{"cc": 1}},
	{"diners 4-6-4", "3056 930902 5904", map[string]int{"cc": 1}},
	{"19 digits 4-4-4-4-3", "6011 1111 1111 1111 113", map[string]int{"cc": 0}},
	{"two cards", "4111111111111111 and 5555-5555-5555-4444", map[string]int{"cc": 2}},
	{"card after phone", "call 555 4111111111111111", map[string]int{"cc": 1}},
	{"luhn invalid", "4111111111111112", map[string]int{"cc": 0}},
	{"luhn invalid spaced", "4111 1111 1111 1112", map[string]int{"cc": 0}},
	{"all zeros", "0000 0000 0000 0000", map[string]int{"cc": 0}},
	{"20 digits", "41111111111111111113", map[string]int{"cc": 0}},
	{"12 digits", "411111111113", map[string]int{"cc": 0}},
	{"five groups of four", "4111 1111 1111 1111 1111", map[string]int{"cc": 0}},
	{"letter before", "x4111111111111111", map[string]int{"cc": 0}},
	{"letter after", "4111111111111111x", map[string]int{"cc": 0}},
	{"decimal", "pi 3.4111111111111111", map[string]int{"cc": 0}},
	{"thousands", "1,411,111,111,111,111", map[string]int{"cc": 0}},
	{"mixed separators", "4111 1111-1111 1111", map[string]int{"cc": 0}},
	{"ssn dashed", "SSN: 123-45-6788", map[string]int{"ssn": 1}},
	{"ssn spaced", "123 45 6788", map[string]int{"ssn": 1}},
	{"ssn area 000", "000-12-3456", map[string]int{"ssn": 0}},
	{"ssn area 666", "666-12-3456", map[string]int{"ssn": 0}},
	{"ssn area 9xx", "912-12-3456", map[string]int{"ssn": 0}},
	{"ssn group 00", "123-00-4567", map[string]int{"ssn": 0}},
	{"ssn serial 0000", "123-45-0000", map[string]int{"ssn": 0}},
	{"ssn woolworth", "078-05-1120", map[string]int{"ssn": 0}},
	{"ssn sample", "123-45-6789", map[string]int{"ssn": 0}},
	{"ssn bare digits", "123456788", map[string]int{"ssn": 0}},
	{"ssn mixed separators", "123-45 6788", map[string]int{"ssn": 0}},
	{"ssn longer area", "1123-45-6788", map[string]int{"ssn": 0}},
	{"ssn longer serial", "123-45-67880", map[string]int{"ssn": 0}},
	{"ssn in longer run", "123-45-6788-1234", map[string]int{"ssn": 0}},
	{"ssn then date", "ssn 123-45-6788 on 2024 11 02", map[string]int{"ssn": 1}},
	{"iban de", "IBAN DE89370400440532013000.", map[string]int{"iban": 1}},
	{"iban de grouped", "DE89 3704 0044 0532 0130 00", map[string]int{"iban": 1}},
	{"iban gb", "GB82WEST12345698765432", map[string]int{"iban": 1}},
	{"iban gb grouped", "GB82 WEST 1234 5698 7654 32", map[string]int{"iban": 1}},
	{"iban fr", "FR1420041010050500013M02606", map[string]int{"iban": 1}},
	{"iban nl", "NL91ABNA0417164300", map[string]int{"iban": 1}},
	{"iban bad checksum", "DE89370400440532013001", map[string]int{"iban": 0}},
	{"iban unknown country", "XX89370400440532013000", map[string]int{"iban": 0}},
	{"iban lower case", "de89370400440532013000", map[string]int{"iban": 0}},
	{"iban too long", "DE893704004405320130001", map[string]int{"iban": 0}},
	{"iban too short", "DE8937040044053201300", map[string]int{"iban": 0}},
	{"email", "write to alice@example.com.", map[string]int{"email": 1}},
	{"email subdomains", "a.b+c@mail.example.co.uk", map[string]int{"email": 1}},
	{"two emails", "a@x.io,b@y.io", map[string]int{"email": 2}},
	{"email no tld", "foo@bar", map[string]int{"email": 0}},
	{"email short tld", "alice@example.c", map[string]int{"email": 0}},
	{"email numeric tld", "x@1.2", map[string]int{"email": 0}},
	{"email no local", "@example.com", map[string]int{"email": 0}},
	{"email dot start", ".x@example.com", map[string]int{"email": 1}},
	{"nothing", "The quick brown fox, 42 times, in 2026.", map[string]int{}},
}

func TestDetectors(t *testing.T) {
	ds := builtins(t)
	for _, tt := range detectorCases {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ScanReader(strings.NewReader(tt.text), ds)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"cc", "ssn", "iban", "email"} {
				if got, want := h.Counts[k], tt.want[k]; got != want {
					t.Errorf("%s = %d, want %d in %q", k, got, want, tt.text)
				}
			}
			if h.Bytes != int64(len(tt.text)) {
				t.Errorf("Bytes = %d, want %d", h.Bytes, len(tt.text))
			}
		})
	}
}

func TestCustomDetectors(t *testing.T) {
	ds := []Detector{
		mustDetector(t, DetectKeyword, "Confidential"),
		mustDetector(t, DetectKeyword, "aa"),
		mustDetector(t, DetectRegex, `ACME-\d{6}`),
	}
	text := "CONFIDENTIAL: ACME-123456, acme-654321, ACME-12345. confidential! aaa"
	h, err := ScanReader(strings.NewReader(text), ds)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"keyword:confidential": 2, "keyword:aa": 2, `regex:ACME-\d{6}`: 1}
	for k, n := range want {
		if h.Counts[k] != n {
			t.Errorf("%s = %d, want %d", k, h.Counts[k], n)
		}
	}
}

func TestNewDetectorErrors(t *testing.T) {
	tests := []struct {
		typ     DetectorType
		pattern string
		want    string
	}{
		{DetectCC, "x", "detector cc takes no pattern"},
		{DetectRegex, "", "regex detector needs a pattern"},
		{DetectRegex, "(", "invalid regex \"(\": error parsing regexp: missing closing ): `(`"},
		{DetectRegex, "a*", `regex "a*" matches the empty string`},
		{DetectKeyword, " ", "keyword detector needs a word"},
		{DetectKeyword, strings.Repeat("k", 257), "keyword is longer than 256 bytes"},
		{"luhn", "", `unknown detector "luhn" (want cc, ssn, iban, email, regex, keyword)`},
	}
	for _, tt := range tests {
		_, err := NewDetector(tt.typ, tt.pattern)
		if err == nil || err.Error() != tt.want {
			t.Errorf("NewDetector(%s, %q) = %v, want %q", tt.typ, tt.pattern, err, tt.want)
		}
	}
}

func TestParseContentRule(t *testing.T) {
	tests := []struct {
		in      string
		want    ContentRule
		wantErr string
	}{
		{"cc", ContentRule{Type: DetectCC}, ""},
		{"ssn:3", ContentRule{Type: DetectSSN, MinCount: 3}, ""},
		{"regex:ACME-[0-9]+", ContentRule{Type: DetectRegex, Pattern: "ACME-[0-9]+"}, ""},
		{"keyword:top secret", ContentRule{Type: DetectKeyword, Pattern: "top secret"}, ""},
		{"cc:0", ContentRule{}, `content rule "cc:0": minimum count "0" is not a positive number`},
		{"regex:(", ContentRule{}, "content rule \"regex:(\": invalid regex \"(\": error parsing regexp: missing closing ): `(`"},
		{"pan", ContentRule{}, `content rule "pan": unknown detector "pan" (want cc, ssn, iban, email, regex:EXPR, keyword:WORD)`},
	}
	for _, tt := range tests {
		got, err := ParseContentRule(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseContentRule(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseContentRule(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// filler returns n bytes of text without digits, '@' or upper-case letters.
func filler(n int) []byte {
	const words = "lorem ipsum dolor sit amet, consectetur adipiscing elit; sed do eiusmod tempor\n"
	return bytes.Repeat([]byte(words), n/len(words)+1)[:n]
}

// TestScanStraddlesChunks places one match of each kind at every offset
// around the scanner's window boundaries and expects it exactly once.
func TestScanStraddlesChunks(t *testing.T) {
	ds := append(builtins(t), mustDetector(t, DetectKeyword, "secret"), mustDetector(t, DetectRegex, `ACME-[0-9]{6}`))
	samples := []struct{ text, key string }{
		{" 4111 1111 1111 1111 ", "cc"},
		{" 123-45-6788 ", "ssn"},
		{" GB82 WEST 1234 5698 7654 32 ", "iban"},
		{" alice.smith@example.com ", "email"},
		{" SECRET ", "keyword:secret"},
		{" ACME-123456 ", "regex:ACME-[0-9]{6}"},
	}
	window := leftContext + maxMatchLen + scanChunk
	boundaries := []int{window - maxMatchLen, window, 2*window - leftContext - 2*maxMatchLen}
	for _, s := range samples {
		for _, b := range boundaries {
			for off := b - len(s.text) - 2; off <= b+2; off++ {
				doc := filler(3 * window)
				copy(doc[off:], s.text)
				h, err := ScanReader(iotest.HalfReader(bytes.NewReader(doc)), ds)
				if err != nil {
					t.Fatal(err)
				}
				if h.Counts[s.key] != 1 || len(h.Counts) != 1 {
					t.Fatalf("%q at %d: counts %v, want %s once", s.text, off, h.Counts, s.key)
				}
			}
		}
	}
}

// TestScanLargeDocument compares a multi-chunk scan with the sum of the
// snippets' own counts.
func TestScanLargeDocument(t *testing.T) {
	ds := builtins(t)
	r := rand.New(rand.NewPCG(9, 9))
	var doc bytes.Buffer
	want := map[string]int{}
	for doc.Len() < 1<<20 {
		c := detectorCases[r.IntN(len(detectorCases))]
		doc.WriteString(c.text)
		doc.WriteString(" \n")
		for k, n := range c.want {
			want[k] += n
		}
		doc.Write(filler(r.IntN(200)))
		doc.WriteString("\n")
	}
	h, err := ScanReader(iotest.OneByteReader(bytes.NewReader(doc.Bytes())), ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"cc", "ssn", "iban", "email"} {
		if h.Counts[k] != want[k] {
			t.Errorf("%s = %d, want %d", k, h.Counts[k], want[k])
		}
	}
}

func TestScanReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ScanReader(iotest.ErrReader(boom), builtins(t))
	if !errors.Is(err, boom) || err.Error() != "scan content: boom" {
		t.Errorf("err = %v, want scan content: boom", err)
	}
	if _, err := ScanReader(strings.NewReader("x"), []Detector{{Type: DetectCC}}); err == nil {
		t.Error("zero Detector accepted")
	}
}

// benchText is text with the density of an ordinary business document:
// words, some numbers and dates, an email or a card now and then.
func benchText(n int) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	words := strings.Fields("the quarterly Report shows Revenue of 1,234,567 EUR for Acme in Q3 2026 " +
		"see invoice 2026-11-02 contact sales@acme.com or call +1 555 123 4567 " +
		"Customer Name Address City Country Total Amount Due Net 30 days Page of")
	var b bytes.Buffer
	for b.Len() < n {
		if r.IntN(500) == 0 {
			b.WriteString("4111 1111 1111 1111 ")
		}
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
		if r.IntN(12) == 0 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()[:n]
}

func BenchmarkScanBuiltins(b *testing.B) {
	text := benchText(8 << 20)
	ds := builtins(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScanReader(bytes.NewReader(text), ds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanBuiltinsAndKeywords(b *testing.B) {
	text := benchText(8 << 20)
	ds := append(builtins(b), mustDetector(b, DetectKeyword, "confidential"), mustDetector(b, DetectKeyword, "internal only"))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ScanReader(bytes.NewReader(text), ds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanRegex(b *testing.B) {
	text := benchText(8 << 20)
	ds := []Detector{mustDetector(b, DetectRegex, `ACME-[0-9]{6}`)}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := ScanReader(bytes.NewReader(text), ds); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHasDigitOrAt(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := range 8 {
			var buf [8]byte
			for i := range buf {
				buf[i] = 'a'
			}
			buf[pos] = byte(b)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(buf[i])
			}
			want := isDigit(byte(b)) || b == '@'
			if got := hasDigitOrAt(x); got != want {
				t.Fatalf("hasDigitOrAt(byte %#x at %d) = %v, want %v", b, pos, got, want)
			}
		}
	}
}
