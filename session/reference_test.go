package session

import (
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
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

// cloneHeader is h.Clone() with the values kept in buf's spare capacity
// when they fit there.
func cloneHeader(h http.Header, buf []string) http.Header {
	if h == nil {
		return nil
	}
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	if n > cap(buf)-len(buf) {
		buf = make([]string, 0, n)
	}
	h2 := make(http.Header, len(h))
	for k, vv := range h {
		if vv == nil {
			h2[k] = nil
			continue
		}
		i := len(buf)
		buf = append(buf, vv...)
		h2[k] = buf[i:len(buf):len(buf)]
	}
	return h2
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

// refForwardHeader is what outgoing made of the client's header before
// forwardHeader: a clone rewritten in place by RewriteRequestHeader, then
// Accept-Encoding from the client's and an empty User-Agent if none.
func refForwardHeader(r *Rewriter, src http.Header, opts RequestOptions) http.Header {
	h := cloneHeader(src, make([]string, 0, 16)) // as outgoing gave it upstreamRequest.vals
	r.RewriteRequestHeader(h, opts)
	if ae := refAcceptEncoding(src["Accept-Encoding"]); ae == "" {
		delete(h, "Accept-Encoding")
	} else {
		h["Accept-Encoding"] = []string{ae}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil
	}
	return h
}

// headerDump shows every key of h, in order, with its values, telling a
// nil value slice from an empty one.
func headerDump(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		vv := h[k]
		fmt.Fprintf(&b, "%q: nil=%v %q\n", k, vv == nil, vv)
	}
	return b.String()
}

// fuzzHeaderNames are the names fuzzHeader picks from: those the
// rewriters treat specially, in canonical and other spellings, and one
// they do not.
var fuzzHeaderNames = []string{
	"Connection", "Cookie", "Origin", "Referer", "X-Forwarded-For", "Accept-Encoding", "User-Agent",
	"Content-Type", "Content-Encoding", "Sec-Fetch-Dest", "Accept", "Keep-Alive", "Te", "Upgrade",
	"X-Real-Ip", "Forwarded", "accept-encoding", "X-Other", "Location", "Set-Cookie",
	"Content-Security-Policy", "Content-Length", "Etag", "Strict-Transport-Security", "Link",
	"Content-Disposition", "Digest", "Alt-Svc", "Refresh", "Transfer-Encoding", "Proxy-Connection", "X-Hop",
}

// fuzzHeader builds a header from fuzz input: bit 2i of mask includes
// fuzzHeaderNames[i], and bit 2i+1 of more, with i's share of the values
// vals gives (cut at "|"), a second value; an empty name value list is
// nil or empty by the next bit.
func fuzzHeader(mask, more uint64, vals string) http.Header {
	vs := strings.Split(vals, "|")
	h := http.Header{}
	for i, k := range fuzzHeaderNames {
		if mask&(1<<(i%64)) == 0 {
			continue
		}
		v := vs[i%len(vs)]
		switch (more >> ((2 * i) % 64)) & 3 {
		case 0:
			h[k] = []string{v}
		case 1:
			h[k] = []string{v, vs[(i+1)%len(vs)]}
		case 2:
			h[k] = nil
		case 3:
			h[k] = []string{}
		}
	}
	return h
}

func FuzzForwardHeader(f *testing.F) {
	f.Add(uint64(0xffffffff), uint64(0), "keep-alive, accept-encoding, X-Forwarded-For|__cas_session=tok; a=1|https://acme.my.salesforce.com.cas.example.net/x|gzip, deflate, br, zstd")
	f.Add(uint64(0x5a5a5a5a), uint64(0x1234567), "cookie, referer, sec-fetch-dest|a=1|document|text/html")
	f.Add(uint64(0xf0f0f0f0), uint64(0x7654321), "user-agent, content-type, origin|gzip|application/json|x")
	f.Add(uint64(1<<6|1<<4), uint64(1<<12), "1.2.3.4|5.6.7.8")
	rs := []*Rewriter{NewRewriter(mustMapper(f, ModeSuffix)), NewRewriter(mustMapper(f, ModeFlat))}
	f.Fuzz(func(t *testing.T, mask, more uint64, vals string) {
		for _, r := range rs {
			for _, opts := range []RequestOptions{
				{SessionCookie: "__cas_session"},
				{SessionCookie: "__cas_session", ForwardedFor: ForwardedForAppend, ClientIP: "10.0.0.1"},
				{ForwardedFor: ForwardedForReplace, ClientIP: "10.0.0.1"},
				{ForwardedFor: ForwardedForAppend},
			} {
				src := fuzzHeader(mask, more, vals)
				before := headerDump(src)
				want := refForwardHeader(r, src, opts)
				if headerDump(src) != before {
					t.Fatal("the reference changed its input")
				}
				got, rq := r.forwardHeader(src, make([]string, 0, int(more%8)), opts)
				if headerDump(src) != before {
					t.Fatalf("forwardHeader changed its input:\n%s\nto\n%s", before, headerDump(src))
				}
				if g, w := headerDump(got), headerDump(want); g != w {
					t.Fatalf("forwardHeader(%s, %+v):\n got %s\nwant %s", before, opts, g, w)
				}
				wantRQ := requestHeader{
					contentType: headerValue(want, "Content-Type"), contentEncoding: headerValue(want, "Content-Encoding"),
					secFetchDest: headerValue(want, "Sec-Fetch-Dest"), accept: headerValue(want, "Accept"),
				}
				if rq != wantRQ {
					t.Fatalf("forwardHeader(%s) found %+v, want %+v", before, rq, wantRQ)
				}
				// The result's values are its own.
				for _, vv := range got {
					for i := range vv {
						vv[i] = "changed"
					}
				}
				if headerDump(src) != before {
					t.Fatal("forwardHeader's values share the input's")
				}
			}
		}
	})
}

func FuzzIsCanonicalOf(f *testing.F) {
	for _, s := range []string{"keep-alive", "Keep-Alive", "x-FORWARDED-for", "a b", "é", "", "-a-", "Content-Type", "content_type"} {
		f.Add(s, textproto.CanonicalMIMEHeaderKey(s))
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, f, k string) {
		if got, want := isCanonicalOf(k, f), textproto.CanonicalMIMEHeaderKey(f) == k; got != want {
			t.Errorf("isCanonicalOf(%q, %q) = %v, want %v", k, f, got, want)
		}
		if c := textproto.CanonicalMIMEHeaderKey(f); !isCanonicalOf(c, f) {
			t.Errorf("isCanonicalOf(%q, %q) = false", c, f)
		}
	})
}

// refURLHeaders and refRewriteResponseHeader are RewriteResponseHeader
// before it became one walk.
var refURLHeaders = []string{
	"Location",
	"Content-Location",
	"Refresh",
	"Link",
	"Access-Control-Allow-Origin",
	"Timing-Allow-Origin",
	"Report-To",
	"Reporting-Endpoints",
	"Nel",
}

func refRewriteResponseHeader(r *Rewriter, h http.Header, sessionCookie string) {
	removeConnectionListed(h)
	for k := range h {
		if isHopByHop(k) || isDroppedResponseHeader(k) {
			delete(h, k)
		}
	}
	for _, k := range refURLHeaders {
		vals := h[k]
		for i, v := range vals {
			vals[i] = r.String(Response, v)
		}
	}
	if vals := h["Set-Cookie"]; len(vals) > 0 {
		kept := vals[:0]
		for _, v := range vals {
			name, _, _ := strings.Cut(v, "=")
			if sessionCookie != "" && textproto.TrimString(name) == sessionCookie {
				continue
			}
			if v = r.RewriteSetCookie(v); v != "" {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(h, "Set-Cookie")
		} else {
			h["Set-Cookie"] = kept
		}
	}
	for _, k := range [...]string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
		vals := h[k]
		for i, v := range vals {
			vals[i] = r.RewriteCSP(v)
		}
	}
}

// refCopyResponseHeader is what respond did with the app's header before
// copyResponseHeader: rewrite it in place, copy it all into dst, then with
// rewritten drop the length and digests and weaken a strong Etag.
func refCopyResponseHeader(r *Rewriter, dst, src http.Header, sessionCookie string, rewritten bool) responseHeader {
	refRewriteResponseHeader(r, src, sessionCookie)
	for k, v := range src {
		dst[k] = v
	}
	if rewritten {
		for _, k := range [...]string{"Content-Length", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest"} {
			delete(dst, k)
		}
		if et := headerValue(dst, "Etag"); et != "" && !strings.HasPrefix(et, "W/") {
			dst.Set("Etag", "W/"+et)
		}
	}
	return responseHeader{contentType: headerValue(src, "Content-Type"), contentEncoding: headerValue(src, "Content-Encoding"), contentLength: src["Content-Length"]}
}

func FuzzResponseHeader(f *testing.F) {
	f.Add(uint64(0xffffffff), uint64(0), uint64(0), "keep-alive, Location, content-length|https://acme.my.salesforce.com/x|sid=1; Domain=.force.com|\"e1\"")
	f.Add(uint64(0x5a5a5a5a), uint64(0x1234567), uint64(1<<22), "etag, set-cookie|W/\"x\"|__cas_session=evil|default-src https://*.force.com")
	f.Add(uint64(0xf0f0f0f0), uint64(0x7654321), uint64(0xffff), "a=1; Domain=example.org|text/event-stream|gzip|1000")
	rs := []*Rewriter{NewRewriter(mustMapper(f, ModeSuffix)), NewRewriter(mustMapper(f, ModeFlat))}
	f.Fuzz(func(t *testing.T, mask, more, beforeMask uint64, vals string) {
		for _, r := range rs {
			// In place.
			got, want := fuzzHeader(mask, more, vals), fuzzHeader(mask, more, vals)
			r.RewriteResponseHeader(got, "__cas_session")
			refRewriteResponseHeader(r, want, "__cas_session")
			if g, w := headerDump(got), headerDump(want); g != w {
				t.Fatalf("RewriteResponseHeader(%s):\n got %s\nwant %s", headerDump(fuzzHeader(mask, more, vals)), g, w)
			}
			// Into the response writer's header, empty or not.
			for _, bm := range []uint64{0, beforeMask} {
				for _, rewritten := range []bool{false, true} {
					src, wsrc := fuzzHeader(mask, more, vals), fuzzHeader(mask, more, vals)
					dst, wdst := fuzzHeader(bm, ^more, "before|W/\"b\"|\"b\""), fuzzHeader(bm, ^more, "before|W/\"b\"|\"b\"")
					rh := r.copyResponseHeader(dst, src, "__cas_session", rewritten)
					wrh := refCopyResponseHeader(r, wdst, wsrc, "__cas_session", rewritten)
					if g, w := headerDump(dst), headerDump(wdst); g != w {
						t.Fatalf("copyResponseHeader(%s, %s, %v):\n got %s\nwant %s", headerDump(fuzzHeader(bm, ^more, "before|W/\"b\"|\"b\"")), headerDump(fuzzHeader(mask, more, vals)), rewritten, g, w)
					}
					if rh.contentType != wrh.contentType || rh.contentEncoding != wrh.contentEncoding || !slices.Equal(rh.contentLength, wrh.contentLength) {
						t.Fatalf("copyResponseHeader(%s) found %+v, want %+v", headerDump(fuzzHeader(mask, more, vals)), rh, wrh)
					}
				}
			}
		}
	})
}

func FuzzMatchAny(f *testing.F) {
	for _, pat := range []string{
		`^[^?]*/sfc/servlet\.shepherd/(version|document)/download/`,
		`^[^?]*\?(.*&)?export=1&(.*&)?xf=(csv|xls|xlsx)(&|$)`,
		`^[^?]*\?(.*&)?xf=(csv|xls|xlsx)&(.*&)?export=1(&|$)`,
		`[?&]export=1(&|$)`, `(?i)Export=1`, `(ab){2,}c`, `x*abc?`, `\x{fffd}`, `a|bcd`, `(?:abc)+`,
	} {
		f.Add(pat, "/00O5e000008xyz?export=1&enc=UTF-8&xf=csv")
		f.Add(pat, "/sfc/servlet.shepherd/version/download/068xx?a=b")
		f.Add(pat, "/aura?r=12\xff")
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		re, err := regexp.Compile(pat)
		if err != nil {
			return
		}
		res := []*regexp.Regexp{re}
		if got, want := matchAny(res, literalsOf(res), s), re.MatchString(s); got != want {
			t.Errorf("%q (literal %q) on %q: matchAny %v, MatchString %v", pat, literalsOf(res)[0].lit, s, got, want)
		}
	})
}

func FuzzRequestURI(f *testing.F) {
	for _, u := range []string{"/aura?r=12", "/a%20b?x=1&export=1", "/p?", "mailto://x/y", "http://h/a/b?q", "?q", "*", "/a?b?c", "/%zz", "//x/y?z"} {
		f.Add(u, "?")
		f.Add(u, "a?r")
		f.Add(u, "export=1")
	}
	f.Fuzz(func(t *testing.T, raw, lit string) {
		for _, parse := range []func(string) (*url.URL, error){url.Parse, url.ParseRequestURI} {
			u, err := parse(raw)
			if err != nil {
				continue
			}
			for _, force := range []bool{false, true} {
				u.ForceQuery = u.ForceQuery || force
				want := u.RequestURI()
				ru := newRequestURI(u)
				if got := ru.contains(lit); got != strings.Contains(want, lit) {
					t.Errorf("requestURI(%q).contains(%q) = %v, RequestURI %q", raw, lit, got, want)
				}
				if got := ru.String(); got != want {
					t.Errorf("requestURI(%q) = %q, RequestURI %q", raw, got, want)
				}
			}
		}
	})
}
