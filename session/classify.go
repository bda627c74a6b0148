package session

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// Kind is what a request does, as session policies see it.
type Kind string

// The activity kinds.
const (
	KindView     Kind = "view"
	KindDownload Kind = "download"
	KindUpload   Kind = "upload"
	KindExport   Kind = "export"
	KindOther    Kind = "other"
)

// Activity is one classified request.
type Activity struct {
	Kind Kind
	// FileName is the name of the file downloaded, exported or uploaded,
	// a base name without directories; empty for views and others.
	FileName string
	// Size is the file's size in bytes, -1 when unknown.
	Size int64
	// MIME is the media type of the file (without parameters).
	MIME string
}

// AppPatterns are an app's URL patterns, from its catalog template and
// `cas app set`. Each is matched against the request URI: the path and, if
// present, "?" and the raw query, such as
// "/00O5e000008xyz?export=1&enc=UTF-8&xf=csv".
type AppPatterns struct {
	Download []*regexp.Regexp
	Export   []*regexp.Regexp
	Upload   []*regexp.Regexp
	// download, export and upload are what NewAppPatterns found of
	// each expression.
	download, export, upload []literal
}

// literal is a string that every match of re contains, or "".
type literal struct {
	re  *regexp.Regexp
	lit string
}

// NewAppPatterns returns the AppPatterns of these expressions with what
// matching them needs worked out once: for each, a literal that every
// match contains, so that a request URI without it is not run through
// the expression. Matching a URI against a pattern takes a pass of the
// regexp engine otherwise, for every request that gets a successful
// response. An AppPatterns made otherwise matches the same, only slower.
func NewAppPatterns(download, export, upload []*regexp.Regexp) AppPatterns {
	return AppPatterns{
		Download: download, Export: export, Upload: upload,
		download: literalsOf(download), export: literalsOf(export), upload: literalsOf(upload),
	}
}

func literalsOf(res []*regexp.Regexp) []literal {
	lits := make([]literal, len(res))
	for i, re := range res {
		lits[i].re = re
		if re == nil {
			continue
		}
		// regexp.Compile's own parse; an expression compiled as POSIX
		// that parses otherwise (or not at all) here gets no literal.
		if e, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
			lits[i].lit = requiredLiteral(e)
		}
	}
	return lits
}

// requiredLiteral returns a case-sensitive literal that every match of e
// contains, the longest it finds, or "". It looks through concatenations,
// captures and repetitions of at least one, and at nothing else (an
// alternation's branches, optional parts). A literal with U+FFFD is none,
// since that rune in a pattern matches an invalid byte in the text too.
func requiredLiteral(e *syntax.Regexp) string {
	switch e.Op {
	case syntax.OpLiteral:
		if e.Flags&syntax.FoldCase != 0 {
			return ""
		}
		lit := string(e.Rune)
		if strings.ContainsRune(lit, utf8.RuneError) {
			return ""
		}
		return lit
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(e.Sub[0])
	case syntax.OpRepeat:
		if e.Min >= 1 {
			return requiredLiteral(e.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range e.Sub {
			if lit := requiredLiteral(sub); len(lit) > len(best) {
				best = lit
			}
		}
		return best
	}
	return ""
}

// maxPeek bounds how much of a multipart body ClassifyRequest reads to find
// a file part: the form fields in front of it.
const maxPeek = 64 << 10

// matchAny reports whether s matches one of res, skipping those whose
// literal (from lits, when they are res's) s does not contain.
func matchAny(res []*regexp.Regexp, lits []literal, s string) bool {
	for i, re := range res {
		if re == nil {
			continue
		}
		if i < len(lits) && lits[i].re == re && lits[i].lit != "" && !strings.Contains(s, lits[i].lit) {
			continue
		}
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// matchAnyURI is matchAny of uri's string, which it builds (and
// allocates) only when an expression is to be run.
func matchAnyURI(res []*regexp.Regexp, lits []literal, uri *requestURI) bool {
	for i, re := range res {
		if re == nil {
			continue
		}
		if i < len(lits) && lits[i].re == re && lits[i].lit != "" && !uri.contains(lits[i].lit) {
			continue
		}
		if re.MatchString(uri.String()) {
			return true
		}
	}
	return false
}

// requestURI is u.RequestURI() as its two parts, the path (or opaque
// part) and the query: most requests have a query, and the patterns'
// literals can be looked for without joining the two.
type requestURI struct {
	u           *url.URL
	base, query string // RequestURI() is base, or base "?" query with hasQuery
	hasQuery    bool
	s           string // RequestURI(), once built
	built       bool
}

func newRequestURI(u *url.URL) requestURI {
	if u.Opaque != "" {
		// Rare, and the scheme may join in: built at once.
		s := u.RequestURI()
		return requestURI{u: u, s: s, built: true}
	}
	base := u.EscapedPath()
	if base == "" {
		base = "/"
	}
	return requestURI{u: u, base: base, query: u.RawQuery, hasQuery: u.ForceQuery || u.RawQuery != ""}
}

// contains is strings.Contains(ru.String(), lit).
func (ru *requestURI) contains(lit string) bool {
	if ru.built || !ru.hasQuery {
		return strings.Contains(ru.String(), lit)
	}
	if strings.Contains(ru.base, lit) || strings.Contains(ru.query, lit) {
		return true
	}
	// Across the "?": lit has one where the separator stands.
	for j := 0; j < len(lit); j++ {
		if lit[j] == '?' && strings.HasSuffix(ru.base, lit[:j]) && strings.HasPrefix(ru.query, lit[j+1:]) {
			return true
		}
	}
	return false
}

// String is the request URI, built on first use.
func (ru *requestURI) String() string {
	if !ru.built {
		ru.s, ru.built = ru.base, true
		if ru.hasQuery {
			ru.s = ru.base + "?" + ru.query
		}
	}
	return ru.s
}

// Classify classifies an exchange. With resp nil it looks at the request
// alone (as ClassifyRequest does, but without reading the body). With a
// response, in this order:
//   - export: the request URI matches an export pattern;
//   - download: Content-Disposition is attachment, the URI matches a
//     download pattern, or a successful response has a type a browser does
//     not render (see renderable);
//   - view: a successful HTML response to a GET navigation
//     (Sec-Fetch-Dest document or iframe, or without Sec-Fetch-* an Accept
//     that asks for text/html);
//   - other: everything else (XHR, static assets, redirects, errors).
//
// The file name comes from Content-Disposition (filename* preferred) or the
// last path segment; the size from Content-Length.
func Classify(req *http.Request, resp *http.Response, p AppPatterns) Activity {
	if resp == nil {
		return classifyRequestHeaders(req, p)
	}
	rt := readResponseTypes(resp.Header)
	return classifyResponse(req, resp, p, nil, &rt)
}

// classifyResponse is Classify of an exchange with a response whose
// headers rt holds; rq, when not nil, holds req's.
func classifyResponse(req *http.Request, resp *http.Response, p AppPatterns, rq *requestHeader, rt *responseTypes) Activity {
	a := Activity{Kind: KindOther, Size: resp.ContentLength, MIME: rt.mediaType}
	if a.Size < 0 || first(rt.encoding) != "" {
		a.Size = -1
	}
	disp := rt.disposition
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent && req.Method != http.MethodHead
	var uri requestURI // only a successful response needs it
	if ok && len(p.Export)+len(p.Download) > 0 {
		uri = newRequestURI(req.URL)
	}
	switch {
	case ok && matchAnyURI(p.Export, p.export, &uri):
		a.Kind = KindExport
	case ok && isAttachment(disp), ok && matchAnyURI(p.Download, p.download, &uri):
		a.Kind = KindDownload
	case ok && a.MIME != "" && !renderable(a.MIME):
		a.Kind = KindDownload
	case ok && req.Method == http.MethodGet && (rq == nil && isNavigation(req) || rq != nil && rq.isNavigation()) && (a.MIME == "text/html" || a.MIME == "application/xhtml+xml"):
		return Activity{Kind: KindView, Size: -1, MIME: a.MIME}
	default:
		return Activity{Kind: KindOther, Size: -1, MIME: a.MIME}
	}
	a.FileName = fileName(disp, req.URL.Path)
	return a
}

// isNavigation reports whether req is a top-level or frame navigation.
func isNavigation(req *http.Request) bool {
	return navigation(headerValue(req.Header, "Sec-Fetch-Dest"), headerValue(req.Header, "Accept"))
}

// navigation is isNavigation of a request with these Sec-Fetch-Dest and
// Accept values.
func navigation(secFetchDest, accept string) bool {
	if secFetchDest != "" {
		return secFetchDest == "document" || secFetchDest == "iframe" || secFetchDest == "frame"
	}
	return strings.Contains(accept, "text/html")
}

// renderable reports whether a browser shows a response of media type mt
// in place instead of saving it: markup, styles, scripts, data APIs,
// images, fonts and media. Everything else (octet streams, PDFs, office
// documents, archives, CSV) is a file the user takes away.
func renderable(mt string) bool {
	major, minor, _ := strings.Cut(mt, "/")
	switch major {
	case "image", "font", "audio", "video":
		return true
	case "text":
		return minor != "csv" && minor != "tab-separated-values" && minor != "calendar" && minor != "vcard" && minor != "x-vcard"
	case "multipart":
		return minor == "byteranges" || minor == "x-mixed-replace"
	}
	switch mt {
	case "application/javascript", "application/x-javascript", "application/ecmascript",
		"application/json", "application/xml", "application/xhtml+xml", "application/wasm",
		"application/x-protobuf", "application/grpc-web", "application/grpc-web+proto",
		"application/x-www-form-urlencoded", "application/csp-report":
		return true
	}
	return strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "+xml")
}

func mediaType(ct string) string {
	mt, _ := parseMediaType(ct)
	return mt
}

// fileName returns a safe base name from a Content-Disposition, or else the
// last segment of urlPath, or "download".
func fileName(disposition, urlPath string) string {
	if _, params, err := mime.ParseMediaType(disposition); err == nil {
		if n := safeName(params["filename"]); n != "" {
			return n
		}
	}
	if n := safeName(path.Base(urlPath)); n != "" && n != "/" && n != "." {
		return n
	}
	return "download"
}

// safeName strips directories and control characters from a file name.
func safeName(n string) string {
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, n)
	n = strings.TrimSpace(n)
	if n == "." || n == ".." {
		return ""
	}
	return n
}

// classifyRequestHeaders finds uploads from the request line and headers.
func classifyRequestHeaders(req *http.Request, p AppPatterns) Activity {
	if req.Method != http.MethodPost && req.Method != http.MethodPut && req.Method != http.MethodPatch {
		return Activity{Kind: KindOther, Size: -1}
	}
	ct := req.Header.Get("Content-Type")
	mt := mediaType(ct)
	if matchAny(p.Upload, p.upload, req.URL.RequestURI()) {
		a := Activity{Kind: KindUpload, Size: req.ContentLength, MIME: mt, FileName: fileName(req.Header.Get("Content-Disposition"), req.URL.Path)}
		if a.Size < 0 {
			a.Size = -1
		}
		return a
	}
	if mt == "multipart/form-data" {
		return Activity{Kind: KindUpload, Size: -1, FileName: "upload"}
	}
	return Activity{Kind: KindOther, Size: -1}
}

// ClassifyRequest classifies a request before it is forwarded: an upload
// when the URI matches an upload pattern or when a multipart/form-data body
// has a file part. To find that part it reads the body up to the first
// file part's headers (at most maxPeek bytes of form fields), never the
// file itself, and puts back what it read: req.Body afterwards yields the
// whole body unchanged. Anything else is KindOther (the response decides).
// The error is for a body that fails to read; the request is then unusable.
func ClassifyRequest(req *http.Request, p AppPatterns) (Activity, error) {
	a := classifyRequestHeaders(req, p)
	if a.Kind != KindUpload || matchAny(p.Upload, p.upload, req.URL.RequestURI()) || req.Body == nil || req.Body == http.NoBody {
		return a, nil
	}
	// Multipart without a pattern match: look for a file part.
	_, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	boundary := params["boundary"]
	if boundary == "" {
		return Activity{Kind: KindOther, Size: -1}, nil
	}
	var seen bytes.Buffer
	lr := &io.LimitedReader{R: req.Body, N: maxPeek}
	mr := multipart.NewReader(io.TeeReader(lr, &seen), boundary)
	found := Activity{Kind: KindOther, Size: -1}
	var readErr error
	for {
		part, err := mr.NextPart()
		if err != nil {
			if !errors.Is(err, io.EOF) && lr.N > 0 {
				readErr = err
			}
			break
		}
		if part.FileName() != "" {
			found = Activity{Kind: KindUpload, Size: -1, FileName: safeName(part.FileName()),
				MIME: mediaType(part.Header.Get("Content-Type"))}
			if found.FileName == "" {
				found.FileName = "upload"
			}
			break
		}
	}
	body := req.Body
	req.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(seen.Bytes()), body), body}
	if readErr != nil && !isMultipartSyntax(readErr) {
		return found, readErr
	}
	return found, nil
}

// isMultipartSyntax reports whether err is the multipart reader's complaint
// about the body's form (which the app will judge), not a read failure.
func isMultipartSyntax(err error) bool {
	return strings.HasPrefix(err.Error(), "multipart:") || errors.Is(err, io.ErrUnexpectedEOF)
}
