package session

import (
	"bytes"
	"mime"
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

func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{"", "text/html", "application/json;charset=UTF-8", " Text/HTML ; Charset = \"utf-8\" ;", "text/html; charset", "a/b; x=1; X=2", "a/b; x=1; X=1",
		"a/b;;", "a/b; ;", `a/b; x="q\"uote"`, "a/b; x*=utf-8''%41", "text", "text/", "/html", "a/b c", "a/b; x=\"\"", "a/b; x=\"unterminated", "a/b; x=1 y=2", "\u00e9/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		mt, ok := parseMediaType(v)
		want, _, err := mime.ParseMediaType(v)
		if err != nil {
			want = ""
		}
		if mt != want || ok != (err == nil) {
			t.Errorf("parseMediaType(%q) = %q, %v; mime: %q, %v", v, mt, ok, want, err)
		}
	})
}

func FuzzRequestCookie(f *testing.F) {
	for _, s := range []string{"__cas_session=tok-sf; BrowserId=b1", `__cas_session="q"`, "__cas_session=a\\b; __cas_session=ok", " __cas_session = x ", "__cas_session=; __cas_session=2", "x=1;;__cas_session=\x7f"} {
		f.Add(s, "")
		f.Add(s, "__cas_session=second")
	}
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		for _, vals := range [][]string{{v1}, {v1, v2}} {
			r := &http.Request{Header: http.Header{"Cookie": vals}}
			got, ok := requestCookie(r, "__cas_session")
			c, err := r.Cookie("__cas_session")
			if ok != (err == nil) || ok && got != c.Value {
				t.Errorf("requestCookie(%q) = %q, %v; r.Cookie: %v, %v", vals, got, ok, c, err)
			}
		}
	})
}

func refAcceptEncoding(vals []string) string {
	var keep []string
	for _, v := range vals {
		for _, c := range strings.Split(v, ",") {
			name, _, _ := strings.Cut(c, ";")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "deflate", "br":
				keep = append(keep, strings.TrimSpace(c))
			}
		}
	}
	return strings.Join(keep, ", ")
}

func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"gzip, deflate, br, zstd", "zstd, br;q=1.0 ,GZIP", "identity", "", " gzip ,, br", "br,gzip", "gzip;q=0.5, deflate", "gzip,\u00a0br", "\u212a"} {
		f.Add(s, "deflate")
	}
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		for _, vals := range [][]string{{v1}, {v1, v2}} {
			if got, want := acceptEncoding(vals), refAcceptEncoding(vals); got != want {
				t.Errorf("acceptEncoding(%q) = %q, want %q", vals, got, want)
			}
		}
		if got, want := containsFold(v1, "cas.example.net"), strings.Contains(strings.ToLower(v1), "cas.example.net"); got != want {
			t.Errorf("containsFold(%q) = %v, want %v", v1, got, want)
		}
	})
}

func TestCloneHeader(t *testing.T) {
	h := http.Header{"A": {"1", "2"}, "B": nil, "C": {}, "D": {"x"}}
	for _, buf := range [][]string{nil, make([]string, 0, 2), make([]string, 0, 16)} {
		got := cloneHeader(h, buf)
		if headerText(got) != headerText(h.Clone()) || got["B"] != nil || got["C"] == nil || len(got) != 4 {
			t.Errorf("cloneHeader = %#v", got)
		}
		got["A"][0] = "changed"
		if h["A"][0] != "1" {
			t.Fatal("the clone shares values")
		}
		d := append(got["D"], "y")
		if d[0] != "x" || len(got["D"]) != 1 {
			t.Fatal("append to a cloned value went wrong")
		}
		for k, vv := range got {
			for _, v := range vv {
				if v == "y" {
					t.Fatalf("append to D wrote into %s", k)
				}
			}
		}
	}
	if cloneHeader(nil, nil) != nil {
		t.Error("cloneHeader(nil) != nil")
	}
}

func FuzzIndexRare(f *testing.F) {
	f.Add([]byte("https://acme.my.salesforce.com/x force.com"), []byte("force.com"))
	f.Add([]byte("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxab"), []byte("xab"))
	f.Add([]byte("a"), []byte("ab"))
	f.Fuzz(func(t *testing.T, s, sep []byte) {
		if len(sep) == 0 {
			return
		}
		if got, want := indexRare(s, sep, rareOffset(sep)), bytes.Index(s, sep); got != want {
			t.Errorf("indexRare(%q, %q) = %d, want %d", s, sep, got, want)
		}
		for off := range sep {
			if got, want := indexRare(s, sep, off), bytes.Index(s, sep); got != want {
				t.Errorf("indexRare(%q, %q, %d) = %d, want %d", s, sep, off, got, want)
			}
		}
	})
}
