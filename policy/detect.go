package policy

import "encoding/binary"

// Built-in detectors. They work on bytes without regular expressions, in one
// pass, so that scanning runs at several hundred MB/s.
//
// Credit cards (cc): 13 to 19 digits, Luhn-valid, not all the same digit,
// written either contiguously or in groups joined by one kind of separator
// (space or '-') in the layouts cards are printed with: 4-4-4-4, 4-4-4-4-1..3,
// 4-6-5 (Amex), 4-6-4 (Diners). The number must stand alone: no letter,
// digit or '_' directly before or after it, and it must not be part of a
// decimal or thousands-grouped number ("1,234" / "3.1415…").
//
// US SSNs (ssn): AAA-GG-SSSS with '-' or ' ' (the same both times); nine
// bare digits are not reported (too many false positives). Rules of the
// SSA: area not 000, 666 or 900–999; group not 00; serial not 0000. The
// numbers known to be invalid because of their public use (078-05-1120,
// 219-09-9999, 123-45-6789) are not reported.
//
// IBANs (iban): upper-case country code with a known IBAN length, two check
// digits, then the BBAN in upper-case letters and digits, either contiguous
// or in groups of four separated by single spaces; the mod-97 checksum
// (ISO 13616) must be 1.
//
// Email (email): local@domain.tld with a local part of 1–64 characters from
// [A-Za-z0-9._%+-] (leading dots are not part of it), and a domain of at least two
// labels of [A-Za-z0-9-] whose last label is 2+ letters.

const (
	clsDigit = 1
	clsAt    = 2
)

// maxRun caps how far a digit run is followed, maxGroups how many groups
// of digits it may have; both keep the work per run bounded and the result
// independent of how the input is chunked.
const (
	maxRun    = 160
	maxGroups = 16
)

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool {
	return isDigit(c) || isUpper(c) || ('a' <= c && c <= 'z')
}

func isWord(c byte) bool { return isAlnum(c) || c == '_' }

// scanBuiltins runs the built-in detectors over w[from:limit]. The loop
// stops only at digits and '@': an IBAN is recognised at its first check
// digit (two upper-case letters before it), so capitalised words cost
// nothing.
func (sc *scanner) scanBuiltins(w []byte, from, limit int, base int64) {
	if start := sc.skipUntil - base; start > int64(from) {
		if start >= int64(limit) {
			return
		}
		from = int(start)
	}
	cls := &sc.class
	wantIBAN, wantRun := sc.want[bIBAN], sc.want[bCC] || sc.want[bSSN]
	for i := from; i < limit; {
		// Skip eight bytes at a time while none is a digit or '@'.
		if i+8 <= limit && !hasDigitOrAt(binary.LittleEndian.Uint64(w[i:])) {
			i += 8
			continue
		}
		k := cls[w[i]]
		if k == 0 {
			i++
			continue
		}
		end := -1
		if k == clsAt {
			end = sc.email(w, i)
		} else if wantIBAN && i >= 2 && isUpper(w[i-1]) && isUpper(w[i-2]) {
			end = sc.iban(w, i-2)
		} else if wantRun {
			end = sc.digitRun(w, i)
		}
		if end > i {
			i = end
			sc.skipUntil = base + int64(end)
		} else {
			i++
		}
	}
}

// SWAR constants: one in every byte, the high bit of every byte.
const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// hasDigitOrAt reports whether one of the eight bytes of x is an ASCII
// digit or '@' (bit tricks from "Bit Twiddling Hacks": hasbetween, haszero).
func hasDigitOrAt(x uint64) bool {
	const m, n = '0' - 1, '9' + 1
	digits := (lo8*(127+n) - x&(lo8*127)) &^ x & (x&(lo8*127) + lo8*(127-m)) & hi8
	z := x ^ (lo8 * '@')
	at := (z - lo8) &^ z & hi8
	return digits|at != 0
}

// runStart reports whether the digit at w[i] starts a number: the byte
// before is neither a word byte nor a separator or decimal mark that follows
// a digit.
func runStart(w []byte, i int) bool {
	if i == 0 {
		return true
	}
	p := w[i-1]
	if isWord(p) {
		return false
	}
	if (p == ' ' || p == '-' || p == '.' || p == ',') && i >= 2 && isDigit(w[i-2]) {
		return false
	}
	return true
}

// digitRun parses the number starting at w[i] (groups of digits joined by
// single spaces or dashes), counts the cards and SSNs in it and returns its
// end, or -1 when w[i] does not start a number.
func (sc *scanner) digitRun(w []byte, i int) int {
	if !runStart(w, i) {
		// Inside a word or a longer number: skip its digits.
		j := i + 1
		for j < len(w) && isDigit(w[j]) {
			j++
		}
		return j
	}
	var starts, lens [maxGroups]int32
	var seps [maxGroups]byte
	k, total := 0, 0
	j := i
	for k < maxGroups && j-i < maxRun {
		starts[k] = int32(j)
		for j < len(w) && isDigit(w[j]) && j-i < maxRun {
			j++
		}
		lens[k] = int32(j) - starts[k]
		total += int(lens[k])
		k++
		if k < maxGroups && j+1 < len(w) && (w[j] == ' ' || w[j] == '-') && isDigit(w[j+1]) && j-i < maxRun {
			seps[k-1] = w[j]
			j++
			continue
		}
		break
	}
	end := j
	if total < 9 {
		return end // too short for an SSN or a card
	}
	// The number must stand alone.
	if end < len(w) {
		c := w[end]
		if isWord(c) {
			return end
		}
		if (c == '.' || c == ',') && end+1 < len(w) && isDigit(w[end+1]) {
			return end
		}
	}
	if sc.want[bCC] {
		for g := 0; g < k; g++ {
			if lens[g] >= 13 && lens[g] <= 19 && luhn(w, starts[:], lens[:], g, g) {
				sc.counts[bCC]++
			}
		}
	}
	// Segments: maximal sequences of groups joined by the same separator.
	for a := 0; a+1 < k; {
		b := a + 1
		for b+1 < k && seps[b] == seps[a] {
			b++
		}
		n := b - a + 1
		if sc.want[bCC] && cardLayout(lens[a:b+1]) && luhn(w, starts[:], lens[:], a, b) {
			sc.counts[bCC]++
		}
		if sc.want[bSSN] && n == 3 && lens[a] == 3 && lens[a+1] == 2 && lens[a+2] == 4 && validSSN(w, int(starts[a]), int(starts[a+1]), int(starts[a+2])) {
			sc.counts[bSSN]++
		}
		a = b
	}
	return end
}

// cardLayout reports whether group lengths are a printed card layout.
func cardLayout(l []int32) bool {
	switch len(l) {
	case 3:
		return l[0] == 4 && l[1] == 6 && (l[2] == 5 || l[2] == 4)
	case 4:
		return l[0] == 4 && l[1] == 4 && l[2] == 4 && l[3] == 4
	case 5:
		return l[0] == 4 && l[1] == 4 && l[2] == 4 && l[3] == 4 && l[4] <= 3
	}
	return false
}

// luhn checks the digits of groups a..b (inclusive): Luhn-valid, 13–19
// digits, not all the same digit.
func luhn(w []byte, starts, lens []int32, a, b int) bool {
	total := 0
	for g := a; g <= b; g++ {
		total += int(lens[g])
	}
	if total < 13 || total > 19 {
		return false
	}
	sum, pos := 0, 0
	same := true
	first := w[starts[a]]
	for g := b; g >= a; g-- {
		for x := int(starts[g] + lens[g] - 1); x >= int(starts[g]); x-- {
			d := int(w[x] - '0')
			if w[x] != first {
				same = false
			}
			if pos&1 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
			pos++
		}
	}
	return !same && sum%10 == 0
}

// num3 reads n (≤ 4) digits at w[i:].
func numAt(w []byte, i, n int) int {
	v := 0
	for x := i; x < i+n; x++ {
		v = v*10 + int(w[x]-'0')
	}
	return v
}

// validSSN applies the SSA rules to the area, group and serial at the given
// offsets.
func validSSN(w []byte, a, g, s int) bool {
	area, group, serial := numAt(w, a, 3), numAt(w, g, 2), numAt(w, s, 4)
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return false
	}
	switch {
	case area == 78 && group == 5 && serial == 1120,
		area == 219 && group == 9 && serial == 9999,
		area == 123 && group == 45 && serial == 6789:
		return false
	}
	return true
}

// ibanLengths maps the countries using IBAN to the IBAN's length.
var ibanLengths = map[[2]byte]uint8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28, {'B', 'A'}: 20,
	{'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'R'}: 29, {'B', 'Y'}: 28, {'C', 'H'}: 21,
	{'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24, {'D', 'E'}: 22, {'D', 'K'}: 18, {'D', 'O'}: 28,
	{'E', 'E'}: 20, {'E', 'G'}: 29, {'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27,
	{'G', 'B'}: 22, {'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28,
	{'H', 'R'}: 21, {'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23, {'I', 'S'}: 26,
	{'I', 'T'}: 27, {'J', 'O'}: 30, {'K', 'W'}: 30, {'K', 'Z'}: 20, {'L', 'B'}: 28, {'L', 'C'}: 32,
	{'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20, {'L', 'V'}: 21, {'M', 'C'}: 27, {'M', 'D'}: 24,
	{'M', 'E'}: 22, {'M', 'K'}: 19, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'L'}: 18,
	{'N', 'O'}: 15, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25, {'Q', 'A'}: 29,
	{'R', 'O'}: 24, {'R', 'S'}: 22, {'S', 'A'}: 24, {'S', 'C'}: 31, {'S', 'E'}: 24, {'S', 'I'}: 19,
	{'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'T'}: 25, {'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24,
	{'T', 'R'}: 26, {'U', 'A'}: 29, {'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20,
}

// iban checks for an IBAN starting at w[i] and returns its end, or -1.
func (sc *scanner) iban(w []byte, i int) int {
	if i+4 > len(w) || !isUpper(w[i+1]) || !isDigit(w[i+2]) || !isDigit(w[i+3]) {
		return -1
	}
	if i > 0 && isWord(w[i-1]) {
		return -1
	}
	n := int(ibanLengths[[2]byte{w[i], w[i+1]}])
	if n == 0 {
		return -1
	}
	rem := 0
	j, got := i+4, 4
	grouped := j < len(w) && w[j] == ' '
	for got < n {
		if grouped && got%4 == 0 {
			if j >= len(w) || w[j] != ' ' {
				return -1
			}
			j++
		}
		if j >= len(w) {
			return -1
		}
		c := w[j]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return -1
		}
		j++
		got++
	}
	if j < len(w) && isWord(w[j]) {
		return -1
	}
	tail := int(w[i]-'A'+10)*10000 + int(w[i+1]-'A'+10)*100 + int(w[i+2]-'0')*10 + int(w[i+3]-'0')
	if (rem*1000000+tail)%97 != 1 {
		return -1
	}
	sc.counts[bIBAN]++
	return j
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// email checks for an address around the '@' at w[i] and returns the end of
// its domain, or -1.
func (sc *scanner) email(w []byte, i int) int {
	s := i
	for s > 0 && i-s < 64 && isLocal(w[s-1]) {
		s--
	}
	for s < i && w[s] == '.' {
		s++
	}
	if s == i {
		return -1
	}
	j := i + 1
	labels, labelLen, alphaLabel := 0, 0, true
	lastEnd := -1
	for j < len(w) && j-i <= 254 {
		c := w[j]
		switch {
		case isAlnum(c) || c == '-':
			labelLen++
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				alphaLabel = false
			}
			j++
			continue
		case c == '.' && labelLen > 0 && j+1 < len(w) && isAlnum(w[j+1]):
			labels++
			labelLen, alphaLabel = 0, true
			j++
			continue
		}
		break
	}
	if labelLen > 0 {
		labels++
		if labels >= 2 && alphaLabel && labelLen >= 2 {
			lastEnd = j
		}
	}
	if lastEnd < 0 {
		return -1
	}
	sc.counts[bEmail]++
	return lastEnd
}
