package session

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRewriteString(t *testing.T) {
	tests := []struct {
		name string
		mode Mode
		dir  Direction
		in   string
		want string
	}{
		{"plain", ModeSuffix, Response, "go to acme.my.salesforce.com now", "go to acme.my.salesforce.com.cas.example.net now"},
		{"url", ModeSuffix, Response, `<a href="https://acme.my.salesforce.com/x?y=1">`, `<a href="https://acme.my.salesforce.com.cas.example.net/x?y=1">`},
		{"slash escaped", ModeSuffix, Response, `"https:\/\/acme.my.salesforce.com\/x"`, `"https:\/\/acme.my.salesforce.com.cas.example.net\/x"`},
		{"u002F", ModeSuffix, Response, `"https:\u002F\u002Facme.my.salesforce.com\u002Fx"`, `"https:\u002F\u002Facme.my.salesforce.com.cas.example.net\u002Fx"`},
		{"u002f lower", ModeSuffix, Response, `"https:\u002f\u002facme.my.salesforce.com"`, `"https:\u002f\u002facme.my.salesforce.com.cas.example.net"`},
		{"x2F", ModeSuffix, Response, `'https:\x2F\x2Facme.my.salesforce.com'`, `'https:\x2F\x2Facme.my.salesforce.com.cas.example.net'`},
		{"percent", ModeSuffix, Response, "u=https%3A%2F%2Facme.my.salesforce.com%2Fhome", "u=https%3A%2F%2Facme.my.salesforce.com.cas.example.net%2Fhome"},
		{"percent lower", ModeSuffix, Response, "u=https%3a%2f%2facme.my.salesforce.com%2fhome", "u=https%3a%2f%2facme.my.salesforce.com.cas.example.net%2fhome"},
		{"hex-looking host after percent", ModeSuffix, Response, "%2Fab.force.com", "%2Fab.force.com.cas.example.net"},
		{"label boundary left", ModeSuffix, Response, "notmy.salesforce.com", "notmy.salesforce.com"},
		{"label boundary right", ModeSuffix, Response, "notacme.my.salesforce.com.evil", "notacme.my.salesforce.com.evil"},
		{"already proxied", ModeSuffix, Response, "x.my.salesforce.com.cas.example.net", "x.my.salesforce.com.cas.example.net"},
		{"domain form", ModeSuffix, Response, `*.my.salesforce.com endsWith(".salesforce.com")`, `*.my.salesforce.com.cas.example.net endsWith(".salesforce.com.cas.example.net")`},
		{"domain form back", ModeSuffix, Request, `endsWith(".salesforce.com.cas.example.net")`, `endsWith(".salesforce.com")`},
		{"domain form unrelated", ModeSuffix, Response, `".example.com" ".com"`, `".example.com" ".com"`},
		{"domain form flat", ModeFlat, Response, "*.my.salesforce.com", "*.my.salesforce.com"},
		{"sentence dot", ModeSuffix, Response, "see acme.my.salesforce.com.", "see acme.my.salesforce.com.cas.example.net."},
		{"upper case", ModeSuffix, Response, "ACME.my.salesforce.com", "ACME.my.salesforce.com.cas.example.net"},
		{"several anchors", ModeSuffix, Response, "a.force.com b.my.salesforce.com x.boxcdn.net", "a.force.com.cas.example.net b.my.salesforce.com.cas.example.net x.boxcdn.net.cas.example.net"},
		{"email", ModeSuffix, Response, "bob@acme.my.salesforce.com", "bob@acme.my.salesforce.com.cas.example.net"},
		{"flat", ModeFlat, Response, "https://acme--c.vf.force.com/a", "https://acme-0-0c--vf--force--com.cas.example.net/a"},
		{"flat already proxied", ModeFlat, Response, "acme--my--salesforce--com.cas.example.net", "acme--my--salesforce--com.cas.example.net"},
		{"request", ModeSuffix, Request, "https://acme.my.salesforce.com.cas.example.net/x", "https://acme.my.salesforce.com/x"},
		{"request percent", ModeSuffix, Request, "r=https%3A%2F%2Facme.my.salesforce.com.cas.example.net%2F", "r=https%3A%2F%2Facme.my.salesforce.com%2F"},
		{"request not an app", ModeSuffix, Request, "portal.cas.example.net www.example.com.cas.example.net", "portal.cas.example.net www.example.com.cas.example.net"},
		{"request boundary", ModeSuffix, Request, "acme.my.salesforce.com.cas.example.network", "acme.my.salesforce.com.cas.example.network"},
		{"request flat", ModeFlat, Request, `"https:\/\/acme-0-0c--vf--force--com.cas.example.net\/"`, `"https:\/\/acme--c.vf.force.com\/"`},
		{"request flat invalid", ModeFlat, Request, "acme-z--force--com.cas.example.net", "acme-z--force--com.cas.example.net"},
		{"overlong run", ModeSuffix, Response, strings.Repeat("a", 300) + ".force.com", strings.Repeat("a", 300) + ".force.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRewriter(mustMapper(t, tt.mode))
			if got := r.String(tt.dir, tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRewriteAnchors(t *testing.T) {
	r := NewRewriter(mustMapper(t, ModeSuffix))
	var got []string
	for _, a := range r.anchors[Response] {
		got = append(got, string(a))
	}
	sort.Strings(got)
	want := "app.box.com boxcdn.net force.com sfdc-static.com"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("anchors = %q, want %q", s, want)
	}
}

// samplePage is a Salesforce-like page mixing every form a host takes.
func samplePage(n int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html><html><head><title>Home</title></head><body>\n")
	for i := 0; b.Len() < n; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, `<a href="https://acme.my.salesforce.com/lightning/r/Account/%d/view">Account %d</a>`+"\n", i, i)
		case 1:
			fmt.Fprintf(&b, `<script>var cfg = {"url":"https:\/\/acme.lightning.force.com\/aura?r=%d","x":1};</script>`+"\n", i)
		case 2:
			fmt.Fprintf(&b, `<img src="https://acme--c.vf.force.com/img/%d.png" alt="logo">`+"\n", i)
		case 3:
			fmt.Fprintf(&b, `<a href="/secur/frontdoor.jsp?retURL=https%%3A%%2F%%2Facme.my.salesforce.com%%2F%d">x</a>`+"\n", i)
		default:
			fmt.Fprintf(&b, "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore %d.</p>\n", i)
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

func TestRewriteGolden(t *testing.T) {
	page := samplePage(3000)
	for _, mode := range []Mode{ModeSuffix, ModeFlat} {
		r := NewRewriter(mustMapper(t, mode))
		out := r.Bytes(Response, nil, page)
		golden(t, "rewrite/page-"+string(mode), out)
		back := r.Bytes(Request, nil, out)
		if !bytes.Equal(back, page) {
			t.Errorf("%s: request rewrite of the response rewrite is not the original", mode)
		}
	}
}

func TestRewriteStreams(t *testing.T) {
	page := samplePage(200 << 10)
	r := NewRewriter(mustMapper(t, ModeSuffix))
	want := r.Bytes(Response, nil, page)

	var buf bytes.Buffer
	w := r.NewWriter(Response, &buf)
	if _, err := io.Copy(w, iotest.OneByteReader(bytes.NewReader(page[:5000]))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(page[5000:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("Writer output differs from one-shot output")
	}
	got, err := io.ReadAll(r.NewReader(Response, iotest.HalfReader(bytes.NewReader(page))))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("Reader output differs from one-shot output")
	}
	if _, err := io.ReadAll(r.NewReader(Response, iotest.ErrReader(io.ErrUnexpectedEOF))); err != io.ErrUnexpectedEOF {
		t.Errorf("Reader error = %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

// FuzzRewriteChunking checks that any split of the input gives the output of
// the one-shot rewrite, in both directions and both modes.
func FuzzRewriteChunking(f *testing.F) {
	f.Add([]byte(`x https:\u002F\u002Facme.my.salesforce.com\u002F y`), uint16(9), uint16(3))
	f.Add([]byte("%2F%2Fa.force.com.cas.example.net/"), uint16(3), uint16(1))
	f.Add([]byte(strings.Repeat("a", 270)+".force.com b.force.com"), uint16(100), uint16(7))
	f.Add([]byte("acme--my--salesforce--com.cas.example.net"), uint16(20), uint16(2))
	mappers := []*Rewriter{NewRewriter(mustMapper(f, ModeSuffix)), NewRewriter(mustMapper(f, ModeFlat))}
	f.Fuzz(func(t *testing.T, in []byte, a, b uint16) {
		for _, r := range mappers {
			for _, dir := range []Direction{Response, Request} {
				want := r.Bytes(dir, nil, in)
				var buf bytes.Buffer
				w := r.NewWriter(dir, &buf)
				rest := in
				sizes := []int{int(a)%64 + 1, int(b)%300 + 1}
				for i := 0; len(rest) > 0; i++ {
					n := min(sizes[i%2], len(rest))
					if _, err := w.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("dir %d: chunked output\n%q\ndiffers from one-shot\n%q", dir, buf.Bytes(), want)
				}
			}
		}
	})
}

// BenchmarkRewriteHTML measures the rewriter alone on a 100 KiB page with
// a few hundred app hosts, through the pooled streaming path the proxy
// uses (RewriteBody without a content coding), 32 KiB reads.
func BenchmarkRewriteHTML(b *testing.B) {
	page := samplePage(100 << 10)
	if n := bytes.Count(page, []byte("force.com")); n < 200 {
		b.Fatalf("only %d occurrences", n)
	}
	for _, bc := range []struct {
		name string
		mode Mode
		dir  Direction
		enc  string
	}{
		{"suffix", ModeSuffix, Response, ""},
		{"flat", ModeFlat, Response, ""},
		{"request", ModeSuffix, Request, ""},
		{"suffix-gzip", ModeSuffix, Response, "gzip"},
		{"suffix-br", ModeSuffix, Response, "br"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewRewriter(mustMapper(b, bc.mode))
			in := page
			if bc.dir == Request {
				in = r.Bytes(Response, nil, page)
			}
			b.SetBytes(int64(len(in)))
			if bc.enc != "" {
				in = encodeWith(b, bc.enc, in)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.RewriteBody(bc.dir, bc.enc, io.Discard, bytes.NewReader(in)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
