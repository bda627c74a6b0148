package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// DetectorType names a content detector.
type DetectorType string

// Detector types. The built-in ones are validated beyond their shape (see
// detect.go for the exact rules).
const (
	DetectCC      DetectorType = "cc"      // payment card numbers, Luhn-checked
	DetectSSN     DetectorType = "ssn"     // US social security numbers, SSA rules
	DetectIBAN    DetectorType = "iban"    // IBANs, length per country and mod-97 checksum
	DetectEmail   DetectorType = "email"   // email addresses
	DetectRegex   DetectorType = "regex"   // a custom RE2 expression
	DetectKeyword DetectorType = "keyword" // a word, case-insensitive (ASCII)
)

// Limits of content scanning. A match must fit in maxMatchLen bytes to be
// found wherever it falls relative to the reader's chunks; built-in
// detectors are much shorter. Keywords are limited to maxKeywordLen bytes.
const (
	scanChunk     = 64 << 10
	maxMatchLen   = 1024
	leftContext   = 128
	maxKeywordLen = 256
)

// Detector is one compiled content detector. The zero value is not usable;
// build detectors with NewDetector.
type Detector struct {
	// Type is the kind of detector.
	Type DetectorType
	// Pattern is the regex or keyword; empty for built-ins.
	Pattern string

	re  *regexp.Regexp
	kw  []byte // lower-cased keyword
	key string
}

// NewDetector compiles a detector. Built-in types take no pattern; regex
// takes an RE2 expression; keyword takes a non-empty word of at most 256
// bytes, matched case-insensitively (ASCII).
func NewDetector(t DetectorType, pattern string) (Detector, error) {
	d := Detector{Type: t, Pattern: pattern}
	switch t {
	case DetectCC, DetectSSN, DetectIBAN, DetectEmail:
		if pattern != "" {
			return d, fmt.Errorf("detector %s takes no pattern", t)
		}
		d.key = string(t)
	case DetectRegex:
		if pattern == "" {
			return d, errors.New("regex detector needs a pattern")
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return d, fmt.Errorf("invalid regex %q: %w", pattern, err)
		}
		if re.MatchString("") {
			return d, fmt.Errorf("regex %q matches the empty string", pattern)
		}
		d.re = re
		d.key = "regex:" + pattern
	case DetectKeyword:
		if strings.TrimSpace(pattern) == "" {
			return d, errors.New("keyword detector needs a word")
		}
		if len(pattern) > maxKeywordLen {
			return d, fmt.Errorf("keyword is longer than %d bytes", maxKeywordLen)
		}
		d.kw = []byte(strings.ToLower(pattern))
		d.key = "keyword:" + string(d.kw)
	default:
		return d, fmt.Errorf("unknown detector %q (want cc, ssn, iban, email, regex, keyword)", string(t))
	}
	return d, nil
}

// Key identifies the detector in ContentHits.Counts: "cc", "ssn", "iban",
// "email", "regex:<pattern>" or "keyword:<lower-cased word>".
func (d Detector) Key() string { return d.key }

// detectorKey returns the key a rule's detector will have, without compiling.
func detectorKey(t DetectorType, pattern string) string {
	switch t {
	case DetectRegex:
		return "regex:" + pattern
	case DetectKeyword:
		return "keyword:" + strings.ToLower(pattern)
	}
	return string(t)
}

// ContentHits is the result of scanning a file's content.
type ContentHits struct {
	// Counts holds the number of matches per Detector.Key; detectors
	// without a match may be absent.
	Counts map[string]int `json:"counts,omitempty" yaml:"counts,omitempty"`
	// Bytes is the number of bytes scanned.
	Bytes int64 `json:"bytes" yaml:"bytes"`
	// TooLarge is set by the caller when the content exceeded its
	// inspection limit and was not (fully) scanned: session policies with a
	// content filter then match and take their Fallback action.
	TooLarge bool `json:"too_large,omitempty" yaml:"too_large,omitempty"`
}

// Count returns the number of matches of the detector with the given key.
func (h *ContentHits) Count(key string) int {
	if h == nil {
		return 0
	}
	return h.Counts[key]
}

// ParseContentRule parses the CLI's --content syntax: a built-in detector
// with an optional minimum count ("cc", "ssn:3"), "regex:EXPR" or
// "keyword:WORD" (minimum count 1).
func ParseContentRule(s string) (ContentRule, error) {
	typ, rest, hasRest := strings.Cut(s, ":")
	r := ContentRule{Type: DetectorType(typ)}
	switch r.Type {
	case DetectRegex, DetectKeyword:
		r.Pattern = rest
	case DetectCC, DetectSSN, DetectIBAN, DetectEmail:
		if hasRest {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 1 {
				return r, fmt.Errorf("content rule %q: minimum count %q is not a positive number", s, rest)
			}
			r.MinCount = n
		}
	default:
		return r, fmt.Errorf("content rule %q: unknown detector %q (want cc, ssn, iban, email, regex:EXPR, keyword:WORD)", s, typ)
	}
	if _, err := NewDetector(r.Type, r.Pattern); err != nil {
		return r, fmt.Errorf("content rule %q: %w", s, err)
	}
	return r, nil
}

// ScanReader reads r to the end and counts the matches of every detector.
// Memory is bounded (one 64 KiB chunk plus a 1 KiB overlap, whatever the
// length of r), and a match straddling two reads is found once. Regex
// matches longer than 1 KiB may be missed where they straddle a chunk
// boundary. Keyword occurrences may overlap ("aa" occurs twice in "aaa").
func ScanReader(r io.Reader, detectors []Detector) (ContentHits, error) {
	hits := ContentHits{Counts: make(map[string]int, len(detectors))}
	var sc scanner
	sc.init(detectors)
	buf := make([]byte, leftContext+maxMatchLen+scanChunk)
	var low []byte
	if sc.keywords {
		low = make([]byte, len(buf))
	}
	n, from := 0, 0
	var base int64
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		hits.Bytes += int64(m)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return hits, fmt.Errorf("scan content: %w", err)
		}
		limit := n - maxMatchLen
		if eof {
			limit = n
		}
		if limit > from {
			sc.scan(buf[:n], from, limit, base, low)
		}
		if eof {
			break
		}
		keep := max(limit-leftContext, 0)
		copy(buf, buf[keep:n])
		base += int64(keep)
		n -= keep
		from = limit - keep
	}
	for i, d := range detectors {
		if d.key == "" {
			return hits, fmt.Errorf("scan content: detector %d was not built with NewDetector", i)
		}
		if c := sc.count(d); c > 0 {
			hits.Counts[d.key] = c
		}
	}
	return hits, nil
}

// scanner holds the state of one ScanReader call.
type scanner struct {
	want      [4]bool // cc, ssn, iban, email
	class     [256]uint8
	counts    [4]int
	skipUntil int64
	regexes   []*regexp.Regexp
	reCounts  []int
	kws       [][]byte
	kwCounts  []int
	keywords  bool
}

const (
	bCC = iota
	bSSN
	bIBAN
	bEmail
)

func (sc *scanner) init(ds []Detector) {
	for _, d := range ds {
		switch d.Type {
		case DetectCC:
			sc.want[bCC] = true
		case DetectSSN:
			sc.want[bSSN] = true
		case DetectIBAN:
			sc.want[bIBAN] = true
		case DetectEmail:
			sc.want[bEmail] = true
		case DetectRegex:
			if d.re != nil {
				sc.regexes = append(sc.regexes, d.re)
			}
		case DetectKeyword:
			if len(d.kw) > 0 {
				sc.kws = append(sc.kws, d.kw)
				sc.keywords = true
			}
		}
	}
	sc.reCounts = make([]int, len(sc.regexes))
	sc.kwCounts = make([]int, len(sc.kws))
	if sc.want[bCC] || sc.want[bSSN] || sc.want[bIBAN] {
		for c := '0'; c <= '9'; c++ {
			sc.class[c] = clsDigit
		}
	}
	if sc.want[bEmail] {
		sc.class['@'] = clsAt
	}
}

// count returns the total for one detector after the scan.
func (sc *scanner) count(d Detector) int {
	switch d.Type {
	case DetectCC:
		return sc.counts[bCC]
	case DetectSSN:
		return sc.counts[bSSN]
	case DetectIBAN:
		return sc.counts[bIBAN]
	case DetectEmail:
		return sc.counts[bEmail]
	case DetectRegex:
		for i, re := range sc.regexes {
			if re == d.re {
				return sc.reCounts[i]
			}
		}
	case DetectKeyword:
		for i, kw := range sc.kws {
			if bytes.Equal(kw, d.kw) {
				return sc.kwCounts[i]
			}
		}
	}
	return 0
}

// scan counts the matches starting in w[from:limit]; w[:from] is context
// already scanned, and w[limit:] is look-ahead that the next window scans.
// base is the offset of w[0] in the whole stream.
func (sc *scanner) scan(w []byte, from, limit int, base int64, low []byte) {
	sc.scanBuiltins(w, from, limit, base)
	for i, re := range sc.regexes {
		for _, loc := range re.FindAllIndex(w, -1) {
			if loc[0] >= from && loc[0] < limit {
				sc.reCounts[i]++
			}
		}
	}
	if sc.keywords {
		low = low[:len(w)]
		for i, c := range w {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		for i, kw := range sc.kws {
			pos := from
			for pos < limit {
				j := bytes.Index(low[pos:], kw)
				if j < 0 || pos+j >= limit {
					break
				}
				sc.kwCounts[i]++
				pos += j + 1
			}
		}
	}
}
