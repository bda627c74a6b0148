package session

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"sync"
)

// Direction says which way a rewrite maps host names.
type Direction int

const (
	// Response maps app hosts to proxy hosts (what the browser sees).
	Response Direction = iota
	// Request maps proxy hosts back to app hosts (what the app sees).
	Request
)

// maxRun is the longest run of host characters that is ever rewritten: a
// DNS name (253 bytes) plus an escape in front of it (\u002F) and slack.
// Longer runs are copied untouched; the bound keeps the streaming window
// small.
const maxRun = 260

// chunkSize bounds how much input one scanning step holds.
const chunkSize = 32 << 10

// hostChar marks the bytes a host name may contain in a body. Upper case is
// included so that a host in upper case is one run, but the anchors are
// matched case-sensitively: bodies carry host names in lower case, and a
// case-insensitive scan would cost most of the speed.
var hostChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['.'], t['-'] = true, true
	return t
}()

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// Rewriter replaces host names in text: app hosts by proxy hosts (Response)
// or proxy hosts by app hosts (Request). It is immutable and safe for
// concurrent use; each stream gets its own Writer or Reader.
//
// What is rewritten: every maximal run of host characters
// ([A-Za-z0-9.-]) of at most maxRun bytes which, after dropping an escape
// in front of it and dots around it, is a host the Mapper maps. Because the
// run is maximal, label boundaries hold: notacme.my.salesforce.com.evil and
// an already proxied acme.my.salesforce.com.<suffix> are not app hosts and
// stay as they are. The escapes understood in front of a host are the ones
// URLs carry in HTML, JavaScript and JSON: "/" and "\/" need none (they are
// not host characters), "%2F"/"%2f" (percent-encoding), "\u002F" and
// "\x2F" (JavaScript escapes).
//
// Runs are found from anchors, so the scan costs about one bytes.Index
// pass per anchor: for Response the anchors are the pattern bases (minus
// those containing another one, so *.salesforce.com and *.force.com need
// only "force.com"); for Request the anchor is the proxy suffix.
type Rewriter struct {
	m       *Mapper
	anchors [2][][]byte
	rare    [2][]int // each anchor's rareOffset
	// anchorStrs are the anchors as strings, for String's quick test.
	anchorStrs [2][]string
	writers    [2]sync.Pool // of *Writer, reused by RewriteBody
	bufs       sync.Pool    // of *[]byte copy buffers
	codecs     codecs
}

// NewRewriter returns a Rewriter for the hosts m maps.
func NewRewriter(m *Mapper) *Rewriter {
	r := &Rewriter{m: m}
	var bases []string
	for _, p := range m.patterns {
		bases = append(bases, p.base)
	}
	// Shortest first, so that a base containing an earlier one is dropped.
	sort.Slice(bases, func(i, j int) bool { return len(bases[i]) < len(bases[j]) })
	var kept []string
next:
	for _, b := range bases {
		for _, k := range kept {
			if bytes.Contains([]byte(b), []byte(k)) {
				continue next
			}
		}
		kept = append(kept, b)
	}
	for _, k := range kept {
		r.anchors[Response] = append(r.anchors[Response], []byte(k))
	}
	r.anchorStrs[Response] = kept
	r.anchors[Request] = [][]byte{[]byte(m.suffix)}
	r.anchorStrs[Request] = []string{m.suffix}
	for _, dir := range []Direction{Response, Request} {
		for _, a := range r.anchors[dir] {
			r.rare[dir] = append(r.rare[dir], rareOffset(a))
		}
	}
	for _, dir := range []Direction{Response, Request} {
		r.writers[dir].New = func() any { return r.NewWriter(dir, nil) }
	}
	r.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	return r
}

// getWriter returns a pooled Writer reset to write into w.
func (r *Rewriter) getWriter(dir Direction, w io.Writer) *Writer {
	wr := r.writers[dir].Get().(*Writer)
	wr.reset(w)
	return wr
}

// putWriter returns wr to the pool, dropping buffers that grew large.
func (r *Rewriter) putWriter(dir Direction, wr *Writer) {
	if cap(wr.buf) > 2*chunkSize || cap(wr.out) > 4*chunkSize {
		return
	}
	wr.w = nil
	r.writers[dir].Put(wr)
}

// Mapper returns the Mapper the Rewriter uses.
func (r *Rewriter) Mapper() *Mapper { return r.m }

// String rewrites s in one go. It returns s itself when nothing in it is
// rewritten, and allocates only the result otherwise (for a short s).
func (r *Rewriter) String(dir Direction, s string) string {
	found := false
	for _, a := range r.anchorStrs[dir] {
		if strings.Contains(s, a) {
			found = true
			break
		}
	}
	if !found {
		return s // no anchor, no host to rewrite
	}
	var in, out [512]byte
	var next [8]int
	sc := r.localScanner(dir, next[:])
	res, _ := sc.process(append(in[:0], s...), true, out[:0])
	if string(res) == s {
		return s
	}
	return string(res)
}

// Bytes rewrites b in one go, appending the result to dst.
func (r *Rewriter) Bytes(dir Direction, dst, b []byte) []byte {
	var next [8]int
	sc := r.localScanner(dir, next[:])
	out, _ := sc.process(b, true, dst)
	return out
}

// mapHost appends the rewritten form of host to dst, or reports false and
// returns dst unchanged. dotted says a dot stood in front of host: with
// suffix mapping, ".salesforce.com" (a domain, as in a script's
// hostname.endsWith(".force.com") or a cookie domain) maps to
// ".salesforce.com.<suffix>" when it is an app domain or an ancestor of
// one, because every proxied host below it ends that way. Flat mapping has
// no such domain, so there it stays.
func (r *Rewriter) mapHost(dir Direction, dst, host []byte, dotted bool) ([]byte, bool) {
	var lowerBuf [maxRun]byte
	if len(host) > len(lowerBuf) {
		return dst, false
	}
	lower := lowerBuf[:len(host)]
	for i, c := range host {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	m := r.m
	if dir == Response {
		if !m.matchBytes(lower) && !(dotted && m.mode == ModeSuffix && m.related(string(lower))) {
			return dst, false
		}
		if m.mode == ModeSuffix {
			if len(host)+1+len(m.suffix) > maxHost {
				return dst, false
			}
			dst = append(dst, host...)
			dst = append(dst, '.')
			return append(dst, m.suffix...), true
		}
		n := len(dst)
		for _, c := range lower {
			switch c {
			case '-':
				dst = append(dst, '-', '0')
			case '.':
				dst = append(dst, '-', '-')
			default:
				dst = append(dst, c)
			}
		}
		if len(dst)-n > maxLabel {
			return dst[:n], false
		}
		dst = append(dst, '.')
		return append(dst, m.suffix...), true
	}
	// Request: <name>.<suffix>.
	rest := len(lower) - len(m.suffix) - 1
	if rest <= 0 || lower[rest] != '.' || !bytes.Equal(lower[rest+1:], []byte(m.suffix)) {
		return dst, false
	}
	if m.mode == ModeSuffix {
		if !m.matchBytes(lower[:rest]) && !(dotted && m.related(string(lower[:rest]))) {
			return dst, false
		}
		return append(dst, host[:rest]...), true
	}
	n := len(dst)
	label := lower[:rest]
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c == '.' {
			return dst[:n], false
		}
		if c != '-' {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(label) {
			return dst[:n], false
		}
		i++
		switch label[i] {
		case '-':
			dst = append(dst, '.')
		case '0':
			dst = append(dst, '-')
		default:
			return dst[:n], false
		}
	}
	if !m.matchBytes(dst[n:]) {
		return dst[:n], false
	}
	return dst, true
}

// matchBytes reports whether the lower-case host h matches a pattern.
func (m *Mapper) matchBytes(h []byte) bool {
	for i := range m.patterns {
		p := &m.patterns[i]
		if !p.wildcard {
			if len(h) == len(p.base) && string(h) == p.base {
				return true
			}
			continue
		}
		if len(h) > len(p.base)+1 && string(h[len(h)-len(p.base):]) == p.base && h[len(h)-len(p.base)-1] == '.' {
			return true
		}
	}
	return false
}

// scanner is the state of one stream being rewritten.
type scanner struct {
	r       *Rewriter
	dir     Direction
	anchors [][]byte
	rare    []int
	next    []int
	prev    byte // the last byte consumed before the current buffer
	cont    bool // the current buffer starts inside an overlong run
}

func (r *Rewriter) newScanner(dir Direction) *scanner {
	return &scanner{r: r, dir: dir, anchors: r.anchors[dir], rare: r.rare[dir], next: make([]int, len(r.anchors[dir]))}
}

// localScanner returns a scanner for one call, using next (the caller's,
// typically on its stack) when it is long enough.
func (r *Rewriter) localScanner(dir Direction, next []int) scanner {
	n := len(r.anchors[dir])
	if n > len(next) {
		next = make([]int, n)
	}
	return scanner{r: r, dir: dir, anchors: r.anchors[dir], rare: r.rare[dir], next: next[:n]}
}

// hit returns the earliest anchor occurrence at or after pos and its length,
// or -1.
func (s *scanner) hit(buf []byte, pos int) (int, int) {
	best, blen := -1, 0
	for k, a := range s.anchors {
		if s.next[k] < pos {
			i := indexRare(buf[pos:], a, s.rare[k])
			if i < 0 {
				s.next[k] = len(buf) + 1
			} else {
				s.next[k] = pos + i
			}
		}
		if n := s.next[k]; n <= len(buf)-len(a) && (best < 0 || n < best) {
			best, blen = n, len(a)
		}
	}
	return best, blen
}

// process rewrites buf, appending the output to out. Unless final, it may
// keep back a tail of buf (a run of host characters that may continue in the
// next buffer): keep is its length, and the caller passes it again in front
// of the next input.
func (s *scanner) process(buf []byte, final bool, out []byte) (_ []byte, keep int) {
	for k := range s.next {
		s.next[k] = -1
	}
	emit, pos := 0, 0
	if s.cont {
		for pos < len(buf) && hostChar[buf[pos]] {
			pos++
		}
		if pos == len(buf) && !final {
			s.prev = buf[len(buf)-1]
			return append(out, buf...), 0
		}
		s.cont = false
	}
	for {
		i, alen := s.hit(buf, pos)
		if i < 0 {
			break
		}
		start := i
		for start > pos && hostChar[buf[start-1]] && i-start <= maxRun {
			start--
		}
		end := i + alen
		for end < len(buf) && hostChar[buf[end]] && end-start <= maxRun {
			end++
		}
		if end-start > maxRun {
			// Overlong: skip the whole run, wherever it ends.
			for end < len(buf) && hostChar[buf[end]] {
				end++
			}
			if end == len(buf) && !final {
				s.cont = true
				s.prev = buf[len(buf)-1]
				return append(out, buf[emit:]...), 0
			}
			pos = end
			continue
		}
		if end == len(buf) && !final {
			out = append(out, buf[emit:start]...)
			if start > 0 {
				s.prev = buf[start-1]
			}
			return out, len(buf) - start
		}
		hs, he := start, end
		prev := s.prev
		if start > 0 {
			prev = buf[start-1]
		}
		switch prev {
		case '%':
			if he-hs >= 2 && isHex(buf[hs]) && isHex(buf[hs+1]) {
				hs += 2
			}
		case '\\':
			if he-hs >= 5 && buf[hs] == 'u' && isHex(buf[hs+1]) && isHex(buf[hs+2]) && isHex(buf[hs+3]) && isHex(buf[hs+4]) {
				hs += 5
			} else if he-hs >= 3 && buf[hs] == 'x' && isHex(buf[hs+1]) && isHex(buf[hs+2]) {
				hs += 3
			}
		}
		hs0 := hs
		for hs < he && buf[hs] == '.' {
			hs++
		}
		dotted := hs > hs0
		for he > hs && buf[he-1] == '.' {
			he--
		}
		if hs < he {
			n := len(out)
			out = append(out, buf[emit:hs]...)
			var ok bool
			if out, ok = s.r.mapHost(s.dir, out, buf[hs:he], dotted); ok {
				emit = he
			} else {
				out = out[:n]
			}
		}
		pos = end
	}
	if final {
		return append(out, buf[emit:]...), 0
	}
	t := len(buf)
	for t > pos && hostChar[buf[t-1]] && len(buf)-t <= maxRun {
		t--
	}
	if len(buf)-t > maxRun {
		s.cont = true
		t = len(buf)
	}
	out = append(out, buf[emit:t]...)
	if t > 0 {
		s.prev = buf[t-1]
	}
	return out, len(buf) - t
}

// Writer rewrites what is written to it and writes the result to an
// underlying writer. It holds at most one chunk (32 KiB) plus a tail of
// maxRun bytes. Close flushes the tail; it does not close the underlying
// writer.
type Writer struct {
	s   *scanner
	w   io.Writer
	buf []byte
	out []byte
	err error
}

// NewWriter returns a Writer that rewrites in direction dir into w.
func (r *Rewriter) NewWriter(dir Direction, w io.Writer) *Writer {
	return &Writer{s: r.newScanner(dir), w: w}
}

func (w *Writer) reset(dst io.Writer) {
	w.w, w.err = dst, nil
	w.buf, w.out = w.buf[:0], w.out[:0]
	w.s.prev, w.s.cont = 0, false
}

// Write rewrites p. The output may lag the input by up to maxRun bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		c := min(len(p), chunkSize)
		if err := w.step(p[:c], false); err != nil {
			return n - len(p), err
		}
		p = p[c:]
	}
	return n, nil
}

func (w *Writer) step(p []byte, final bool) error {
	w.buf = append(w.buf, p...)
	var keep int
	w.out, keep = w.s.process(w.buf, final, w.out[:0])
	w.buf = w.buf[:copy(w.buf, w.buf[len(w.buf)-keep:])]
	if len(w.out) > 0 {
		if _, err := w.w.Write(w.out); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// Close writes out the held-back tail. Writing after Close is an error.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	err := w.step(nil, true)
	if err == nil {
		w.err = io.ErrClosedPipe
	}
	return err
}

// Reader rewrites what it reads from an underlying reader.
type Reader struct {
	s    *scanner
	r    io.Reader
	buf  []byte // input: held-back tail then fresh bytes
	out  []byte
	off  int // read position in out
	err  error
	done bool
}

// NewReader returns a Reader that rewrites in direction dir what it reads
// from rd.
func (r *Rewriter) NewReader(dir Direction, rd io.Reader) *Reader {
	return &Reader{s: r.newScanner(dir), r: rd, buf: make([]byte, 0, chunkSize+maxRun+1)}
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for r.off == len(r.out) {
		if r.done {
			if r.err != nil {
				return 0, r.err
			}
			return 0, io.EOF
		}
		r.fill()
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	return n, nil
}

func (r *Reader) fill() {
	keep := len(r.buf)
	r.buf = r.buf[:cap(r.buf)]
	n, err := r.r.Read(r.buf[keep : chunkSize+keep])
	r.buf = r.buf[:keep+n]
	final := err != nil
	if err != nil && err != io.EOF {
		r.err = err
	}
	r.out, keep = r.s.process(r.buf, final, r.out[:0])
	r.off = 0
	r.buf = r.buf[:copy(r.buf, r.buf[len(r.buf)-keep:])]
	r.done = final
}
