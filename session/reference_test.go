package session

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// The straightforward versions of the hot-path helpers, kept as their
// specification: the fuzz tests below check that the fast ones agree.

func refStripCookie(h http.Header, name string) {
	vals := h.Values("Cookie")
	if len(vals) == 0 {
		return
	}
	var kept []string
	for _, v := range vals {
		for _, c := range strings.Split(v, ";") {
			c = textproto.TrimString(c)
			if c == "" {
				continue
			}
			n, _, _ := strings.Cut(c, "=")
			if textproto.TrimString(n) == name {
				continue
			}
			kept = append(kept, c)
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

func refString(r *Rewriter, dir Direction, s string) string {
	if s == "" {
		return s
	}
	out, _ := r.newScanner(dir).process([]byte(s), true, nil)
	return string(out)
}

func headerText(h http.Header) string {
	var b bytes.Buffer
	h.Write(&b)
	return b.String()
}

func FuzzStripCookie(f *testing.F) {
	for _, s := range []string{"__cas_session=tok; BrowserId=b1", "a=1; __cas_session=x", "a=1; __cas_session=x; b=2", "a=1;b=2", " a=1 ;  b=2 ; ", "__cas_session=x", ";;", "", "a=1; a=1; __cas_session ; =3"} {
		f.Add(s, "")
		f.Add(s, "c=3")
	}
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		for _, vals := range [][]string{{v1}, {v1, v2}} {
			got, want := http.Header{"Cookie": append([]string(nil), vals...)}, http.Header{"Cookie": append([]string(nil), vals...)}
			stripCookie(got, "__cas_session")
			refStripCookie(want, "__cas_session")
			if g, w := headerText(got), headerText(want); g != w {
				t.Errorf("stripCookie(%q):\n got %q\nwant %q", vals, g, w)
			}
		}
	})
}

func FuzzRewriteString(f *testing.F) {
	for _, s := range []string{"https://acme.lightning.force.com.cas.example.net/one/one.app", "https://acme.my.salesforce.com/x", "force.com", "", strings.Repeat("a.force.com ", 100)} {
		f.Add(s)
	}
	rs := []*Rewriter{NewRewriter(mustMapper(f, ModeSuffix)), NewRewriter(mustMapper(f, ModeFlat))}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range rs {
			for _, dir := range []Direction{Request, Response} {
				if got, want := r.String(dir, s), refString(r, dir, s); got != want {
					t.Errorf("String(%d, %q) = %q, want %q", dir, s, got, want)
				}
			}
		}
	})
}
