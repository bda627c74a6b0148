package session

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// salesforcePatterns are the patterns the catalog's salesforce template is
// expected to carry, prepared as the daemon prepares them.
func salesforcePatterns() AppPatterns {
	p := plainSalesforcePatterns()
	return NewAppPatterns(p.Download, p.Export, p.Upload)
}

// plainSalesforcePatterns are salesforcePatterns without NewAppPatterns.
func plainSalesforcePatterns() AppPatterns {
	return AppPatterns{
		Download: []*regexp.Regexp{
			regexp.MustCompile(`^/sfc/servlet\.shepherd/version/download/`),
			regexp.MustCompile(`^/servlet/servlet\.FileDownload`),
		},
		Export: []*regexp.Regexp{
			regexp.MustCompile(`[?&]export=1(&|$)`),
			regexp.MustCompile(`[?&]isdtp=p1(&|$)`),
		},
		Upload: []*regexp.Regexp{
			regexp.MustCompile(`^/sfc/servlet\.shepherd/upload`),
		},
	}
}

func TestClassify(t *testing.T) {
	type hdr = map[string]string
	tests := []struct {
		name    string
		method  string
		url     string
		reqHdr  hdr
		status  int
		respHdr hdr
		length  int64
		want    Activity
	}{
		{"navigation", "GET", "/lightning/page/home", hdr{"Sec-Fetch-Dest": "document"}, 200, hdr{"Content-Type": "text/html; charset=UTF-8"}, 100,
			Activity{Kind: KindView, Size: -1, MIME: "text/html"}},
		{"navigation by accept", "GET", "/home/home.jsp", hdr{"Accept": "text/html,application/xhtml+xml"}, 200, hdr{"Content-Type": "text/html"}, 100,
			Activity{Kind: KindView, Size: -1, MIME: "text/html"}},
		{"xhr html is other", "GET", "/frag", hdr{"Sec-Fetch-Dest": "empty", "Accept": "text/html"}, 200, hdr{"Content-Type": "text/html"}, 100,
			Activity{Kind: KindOther, Size: -1, MIME: "text/html"}},
		{"json api", "POST", "/aura?r=1", hdr{"Sec-Fetch-Dest": "empty"}, 200, hdr{"Content-Type": "application/json"}, 50,
			Activity{Kind: KindOther, Size: -1, MIME: "application/json"}},
		{"attachment filename*", "GET", "/x/y", nil, 200, hdr{"Content-Type": "application/pdf", "Content-Disposition": `attachment; filename="a.pdf"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf`}, 1234,
			Activity{Kind: KindDownload, FileName: "Q3 résumé.pdf", Size: 1234, MIME: "application/pdf"}},
		{"attachment traversal", "GET", "/x", nil, 200, hdr{"Content-Type": "text/plain", "Content-Disposition": `attachment; filename="../../etc/passwd"`}, 10,
			Activity{Kind: KindDownload, FileName: "passwd", Size: 10, MIME: "text/plain"}},
		{"shepherd pattern", "GET", "/sfc/servlet.shepherd/version/download/068xx0000001", nil, 200, hdr{"Content-Type": "image/png"}, -1,
			Activity{Kind: KindDownload, FileName: "068xx0000001", Size: -1, MIME: "image/png"}},
		{"FileDownload", "GET", "/servlet/servlet.FileDownload?file=00P1", nil, 200, hdr{"Content-Type": "image/jpeg"}, 99,
			Activity{Kind: KindDownload, FileName: "servlet.FileDownload", Size: 99, MIME: "image/jpeg"}},
		{"octet stream", "GET", "/files/blob", nil, 200, hdr{"Content-Type": "application/octet-stream"}, 7,
			Activity{Kind: KindDownload, FileName: "blob", Size: 7, MIME: "application/octet-stream"}},
		{"csv inline", "GET", "/data.csv", nil, 200, hdr{"Content-Type": "text/csv"}, 7,
			Activity{Kind: KindDownload, FileName: "data.csv", Size: 7, MIME: "text/csv"}},
		{"report export", "GET", "/00O5e000008xyz?export=1&enc=UTF-8&xf=csv", nil, 200, hdr{"Content-Type": "text/csv", "Content-Disposition": `attachment; filename="report1.csv"`}, 300,
			Activity{Kind: KindExport, FileName: "report1.csv", Size: 300, MIME: "text/csv"}},
		{"printable view", "GET", "/00O5e000008xyz?isdtp=p1", hdr{"Sec-Fetch-Dest": "document"}, 200, hdr{"Content-Type": "text/html"}, -1,
			Activity{Kind: KindExport, FileName: "00O5e000008xyz", Size: -1, MIME: "text/html"}},
		{"export not ok", "GET", "/00O?export=1", nil, 302, hdr{"Location": "/login"}, 0,
			Activity{Kind: KindOther, Size: -1}},
		{"gzip size unknown", "GET", "/f", nil, 200, hdr{"Content-Type": "application/zip", "Content-Encoding": "gzip"}, 50,
			Activity{Kind: KindDownload, FileName: "f", Size: -1, MIME: "application/zip"}},
		{"image asset", "GET", "/img/logo.png", hdr{"Sec-Fetch-Dest": "image"}, 200, hdr{"Content-Type": "image/png"}, 5,
			Activity{Kind: KindOther, Size: -1, MIME: "image/png"}},
		{"head", "HEAD", "/files/blob", nil, 200, hdr{"Content-Type": "application/octet-stream"}, 7,
			Activity{Kind: KindOther, Size: -1, MIME: "application/octet-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.url, nil)
			for k, v := range tt.reqHdr {
				req.Header.Set(k, v)
			}
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, ContentLength: tt.length}
			for k, v := range tt.respHdr {
				resp.Header.Set(k, v)
			}
			if got := Classify(req, resp, salesforcePatterns()); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got := Classify(req, resp, plainSalesforcePatterns()); got != tt.want {
				t.Errorf("without NewAppPatterns: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func multipartBody(t *testing.T, fieldSize int, file string, content []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("title", strings.Repeat("x", fieldSize))
	if file != "" {
		w, err := mw.CreateFormFile("file", file)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

// countingReader counts how much was read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestClassifyRequest(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	tests := []struct {
		name      string
		fieldSize int
		file      string
		want      Activity
	}{
		{"file part", 10, "../secret plan.docx", Activity{Kind: KindUpload, FileName: "secret plan.docx", Size: -1, MIME: "application/octet-stream"}},
		{"fields only", 10, "", Activity{Kind: KindOther, Size: -1}},
		{"file behind big fields", maxPeek * 2, "a.txt", Activity{Kind: KindOther, Size: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := multipartBody(t, tt.fieldSize, tt.file, big)
			cr := &countingReader{r: bytes.NewReader(body)}
			req := httptest.NewRequest("POST", "/upload", io.NopCloser(cr))
			req.Header.Set("Content-Type", ct)
			got, err := ClassifyRequest(req, salesforcePatterns())
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if cr.n > maxPeek+tt.fieldSize%maxPeek+8192 && tt.fieldSize < maxPeek {
				t.Errorf("read %d bytes to classify; the file was buffered", cr.n)
			}
			rest, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rest, body) {
				t.Error("the body after classification differs from the original")
			}
		})
	}
	req := httptest.NewRequest("PUT", "/sfc/servlet.shepherd/upload/x.bin", strings.NewReader("abc"))
	req.Header.Set("Content-Type", "application/octet-stream")
	got, err := ClassifyRequest(req, salesforcePatterns())
	if err != nil || got != (Activity{Kind: KindUpload, FileName: "x.bin", Size: 3, MIME: "application/octet-stream"}) {
		t.Errorf("pattern upload: got %+v, %v", got, err)
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct{ pat, want string }{
		{`^[^?]*/sfc/servlet\.shepherd/(version|document)/download/`, "/sfc/servlet.shepherd/"},
		{`^[^?]*\?(.*&)?export=1&(.*&)?xf=(csv|xls|xlsx)(&|$)`, "export=1&"},
		{`[?&]isdtp=p1(&|$)`, "isdtp=p1"},
		{`(?i)^/export`, ""},
		{`a|bcd`, ""},
		{`(?:abc)+x?`, "abc"},
		{`(abc)*`, ""},
		{`\x{fffd}abc`, ""},
	}
	for _, tt := range tests {
		lits := literalsOf([]*regexp.Regexp{regexp.MustCompile(tt.pat)})
		if got := lits[0].lit; got != tt.want {
			t.Errorf("%s: literal %q, want %q", tt.pat, got, tt.want)
		}
	}
}
