package session

import "bytes"

// byteRank ranks bytes by how common they are in the bodies the proxy
// rewrites (HTML, scripts, JSON): 0 for the commonest, higher for rarer,
// 255 for bytes not listed. It is a heuristic; it only affects speed.
var byteRank = func() (r [256]byte) {
	for i := range r {
		r[i] = 255
	}
	const common = " etaoinsrlcdhu\"pm.:/=gf,bw<>-_y'vk0x12(){};3456789jqzETAOINSRLCDHUPMGFBWYVKXJQZ"
	for i := 0; i < len(common); i++ {
		r[common[i]] = byte(i)
	}
	return r
}()

// rareOffset returns the offset in sep of its rarest byte by byteRank.
func rareOffset(sep []byte) int {
	off := 0
	for i, c := range sep {
		if byteRank[c] > byteRank[sep[off]] {
			off = i
		}
	}
	return off
}

// indexRare is bytes.Index(s, sep) for a non-empty sep whose rarest byte
// is at off: it looks for that byte first, which skips most of a body at
// memchr speed where bytes.Index would stop at every occurrence of a
// common first byte. When the rare byte turns out to be common in s, it
// hands the rest of s to bytes.Index.
func indexRare(s, sep []byte, off int) int {
	n := len(sep)
	if n > len(s) {
		return -1
	}
	c := sep[off]
	fails := 0
	// start is the first position where sep may still begin.
	for start := 0; start <= len(s)-n; {
		j := bytes.IndexByte(s[start+off:len(s)-n+off+1], c)
		if j < 0 {
			return -1
		}
		start += j
		if bytes.Equal(s[start:start+n], sep) {
			return start
		}
		start++
		if fails++; fails > 4+start>>4 {
			if i := bytes.Index(s[start:], sep); i >= 0 {
				return start + i
			}
			return -1
		}
	}
	return -1
}
