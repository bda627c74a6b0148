package session

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
)

const (
	proxied = "https://acme.my.salesforce.com.cas.example.net/001/o"
	direct  = "https://acme.my.salesforce.com/001/o"
)

// TestMultipartFields: form fields are mapped back; file parts, headers,
// boundary lines, preamble and epilogue are left byte for byte; bodies it
// cannot read come back unchanged.
func TestMultipartFields(t *testing.T) {
	r := NewRewriter(mustMapper(t, ModeSuffix))
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tests := []struct {
		name, body, want string // want "": the body comes back unchanged
	}{
		{"field and file",
			crlf("--b\nContent-Disposition: form-data; name=\"ret\"\n\n" + proxied + "\n--b\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\nContent-Type: text/plain\n\n" + proxied + "\n--b--\n"),
			crlf("--b\nContent-Disposition: form-data; name=\"ret\"\n\n" + direct + "\n--b\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\nContent-Type: text/plain\n\n" + proxied + "\n--b--\n")},
		{"preamble, padding and epilogue",
			crlf("preamble " + proxied + "\n--b  \ncontent-disposition: FORM-DATA; name=x\n\n" + proxied + "\n--b--\nepilogue " + proxied),
			crlf("preamble " + proxied + "\n--b  \ncontent-disposition: FORM-DATA; name=x\n\n" + direct + "\n--b--\nepilogue " + proxied)},
		{"RFC 2231 file name",
			crlf("--b\nContent-Disposition: form-data; name=f; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\n\n" + proxied + "\n--b--\n"), ""},
		{"transfer encoding",
			crlf("--b\nContent-Disposition: form-data; name=f\nContent-Transfer-Encoding: quoted-printable\n\n" + proxied + "\n--b--\n"), ""},
		{"two dispositions",
			crlf("--b\nContent-Disposition: form-data; name=f\nContent-Disposition: form-data; name=f; filename=x\n\n" + proxied + "\n--b--\n"), ""},
		{"no disposition",
			crlf("--b\n\n" + proxied + "\n--b--\n"), ""},
		{"no close delimiter",
			crlf("--b\nContent-Disposition: form-data; name=x\n\n" + proxied + "\n"), ""},
		{"no delimiter", proxied, ""},
		{"a longer boundary in a field",
			crlf("--b\nContent-Disposition: form-data; name=x\n\n" + proxied + "\n--bb\n" + proxied + "\n--b--\n"),
			crlf("--b\nContent-Disposition: form-data; name=x\n\n" + direct + "\n--bb\n" + direct + "\n--b--\n")},
		{"boundary only inside a line",
			crlf("x--b\nContent-Disposition: form-data; name=x\n\n" + proxied + "\n--b--\n"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.body
			}
			if got := string(r.multipartFields([]byte(tt.body), "b")); got != want {
				t.Errorf("got:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

// TestMultipartFieldsParses: what a browser's form encoder makes (Go's
// multipart.Writer here, random boundary) parses back to the same fields
// and files, with only the fields' proxy hosts mapped back.
func TestMultipartFieldsParses(t *testing.T) {
	r := NewRewriter(mustMapper(t, ModeSuffix))
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("retURL", proxied)
	mw.WriteField("json", `{"u":"https:\/\/acme.lightning.force.com.cas.example.net\/x"}`)
	fw, _ := mw.CreateFormFile("file", "links.html")
	io.WriteString(fw, `<a href="`+proxied+`">`)
	mw.WriteField("plain", "nothing to map")
	mw.Close()
	out := r.multipartFields(b.Bytes(), mw.Boundary())
	form, err := multipart.NewReader(bytes.NewReader(out), mw.Boundary()).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"retURL": direct, "json": `{"u":"https:\/\/acme.lightning.force.com\/x"}`, "plain": "nothing to map"}
	for k, v := range want {
		if got := form.Value[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	f, err := form.File["file"][0].Open()
	if err != nil {
		t.Fatal(err)
	}
	if content, _ := io.ReadAll(f); string(content) != `<a href="`+proxied+`">` {
		t.Errorf("the file changed: %q", content)
	}
}

// TestProxyMultipartForm: through the proxy, a form posted as
// multipart/form-data reaches the app with its fields mapped back and a
// Content-Length that matches; a file uploaded with it arrives unchanged.
func TestProxyMultipartForm(t *testing.T) {
	h := newHarness(t, nil)
	for _, withFile := range []bool{false, true} {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("retURL", proxied)
		if withFile {
			fw, _ := mw.CreateFormFile("file", "links.txt")
			io.WriteString(fw, proxied)
		}
		mw.Close()
		resp, body := h.do("POST", sf+"/aura", &b, map[string]string{"Content-Type": mw.FormDataContentType()})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var envelope struct{ Seen string }
		json.Unmarshal(body, &envelope)
		raw, _ := base64.StdEncoding.DecodeString(envelope.Seen)
		var seen map[string]string
		if err := json.Unmarshal(raw, &seen); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		form, err := multipart.NewReader(strings.NewReader(seen["body"]), mw.Boundary()).ReadForm(1 << 20)
		if err != nil {
			t.Fatalf("the app could not read the form: %v", err)
		}
		if got := form.Value["retURL"]; len(got) != 1 || got[0] != direct {
			t.Errorf("file %v: the app saw retURL %q", withFile, got)
		}
		if withFile {
			f, _ := form.File["file"][0].Open()
			if content, _ := io.ReadAll(f); string(content) != proxied {
				t.Errorf("the app saw the file %q", content)
			}
		}
	}
}

// FuzzMultipartFields holds multipartFields to Go's multipart reader:
// whatever it reads in the body it also reads in the result, part for
// part, with the same headers; a file part's content is the same, and a
// field's is the same or mapped back.
func FuzzMultipartFields(f *testing.F) {
	r := NewRewriter(mustMapper(f, ModeSuffix))
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"ret\"\r\n\r\n"+proxied+"\r\n--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n"+proxied+"\r\n--b--\r\n"), "b")
	f.Add([]byte("pre\r\n--b \t\r\ncontent-disposition: form-data; name=x\r\n\r\n"+proxied+"\r\n--bb\r\n--b--"), "b")
	f.Add([]byte("--b\nContent-Disposition: form-data; name=x\n\n"+proxied+"\n--b--\n"), "b")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		if boundary == "" || len(boundary) > 70 {
			return
		}
		out := r.multipartFields(body, boundary)
		want, err := rawParts(body, boundary)
		if err != nil {
			return
		}
		got, err := rawParts(out, boundary)
		if err != nil {
			t.Fatalf("the body reads, the result does not: %v\n%q\n%q", err, body, out)
		}
		if len(got) != len(want) {
			t.Fatalf("%d parts, want %d\n%q\n%q", len(got), len(want), body, out)
		}
		for i := range want {
			if got[i].head != want[i].head {
				t.Fatalf("part %d: headers %q, want %q", i, got[i].head, want[i].head)
			}
			if got[i].content != want[i].content && (!isFormField([]byte(want[i].head)) || got[i].content != string(r.Bytes(Request, nil, []byte(want[i].content)))) {
				t.Fatalf("part %d: content %q, from %q", i, got[i].content, want[i].content)
			}
		}
	})
}

type rawPart struct{ head, content string }

// rawParts reads body with Go's multipart reader, undecoded.
func rawParts(body []byte, boundary string) ([]rawPart, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var parts []rawPart
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		var head strings.Builder
		for _, k := range slices.Sorted(maps.Keys(p.Header)) {
			for _, v := range p.Header[k] {
				head.WriteString(k + ": " + v + "\r\n")
			}
		}
		parts = append(parts, rawPart{head: head.String() + "\r\n", content: string(content)})
	}
}
