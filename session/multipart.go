package session

import (
	"bytes"
	"mime"
	"net/http"
	"net/textproto"
	"strings"
)

// rewriteMultipartBody maps proxy hosts back in the form fields of a
// multipart/form-data request body of up to maxBufferedRequest bytes, as
// in a urlencoded form: a field holding a URL copied from a proxied page
// reaches the app with the app's own host. File parts, the boundary lines
// and every part's headers go through byte for byte. A larger body, or
// one without a Content-Length, passes as it is (a file upload, whose
// form fields are rarely URLs, is not held in memory for them).
func (p *Proxy) rewriteMultipartBody(out *http.Request, contentType string) error {
	if out.Body == nil || out.Body == http.NoBody || out.ContentLength < 0 || out.ContentLength > maxBufferedRequest {
		return nil
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil // the app judges a malformed body
	}
	return p.rewriteInMemory(out, func(b []byte) []byte { return p.cfg.Rewriter.multipartFields(b, params["boundary"]) })
}

// multipartFields returns body (multipart, with boundary) with the content
// of its form-field parts rewritten in the Request direction. Anything it
// cannot read as multipart (RFC 2046, section 5.1.1) it leaves as it is:
// a body that is not well formed comes back unchanged, and so does every
// part that has a file name, an unreadable Content-Disposition or a
// Content-Transfer-Encoding other than 7bit, 8bit or binary.
func (r *Rewriter) multipartFields(body []byte, boundary string) []byte {
	delim := []byte("\r\n--" + boundary)
	// The first delimiter may open the body (no CRLF before it).
	at := -2
	if !bytes.HasPrefix(body, delim[2:]) || delimiterEnd(body, len(delim)-2) < 0 {
		if at = nextDelimiter(body, 0, delim); at < 0 {
			return body
		}
	}
	out := make([]byte, 0, len(body)+len(body)/8)
	copied := 0 // body[:copied] is in out, rewritten
	for {
		start := delimiterEnd(body, at+len(delim)) // the part's first byte
		if start == len(body)+1 {
			return append(out, body[copied:]...) // the close delimiter and the epilogue
		}
		next := nextDelimiter(body, start, delim)
		if next < 0 {
			return body
		}
		if head, content, ok := splitPart(body[start:next]); ok && isFormField(head) {
			out = append(out, body[copied:start]...)
			out = append(out, head...)
			out = r.Bytes(Request, out, content)
			copied = next
		}
		at = next
	}
}

// nextDelimiter returns where the next delimiter line (delim, then
// transport padding and CRLF, or "--" for the close delimiter) starts in
// body at or after from, or -1.
func nextDelimiter(body []byte, from int, delim []byte) int {
	for from <= len(body) {
		i := bytes.Index(body[from:], delim)
		if i < 0 {
			return -1
		}
		if delimiterEnd(body, from+i+len(delim)) >= 0 {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// delimiterEnd reads what follows a delimiter at body[end:]: it returns
// the index after the line's CRLF (the next part's start), len(body)+1
// for a close delimiter ("--"), or -1 when the line goes on with anything
// else (so it is no delimiter).
func delimiterEnd(body []byte, end int) int {
	rest := body[end:]
	if bytes.HasPrefix(rest, []byte("--")) {
		return len(body) + 1
	}
	for i, c := range rest {
		switch c {
		case ' ', '\t':
			continue
		case '\r':
			if i+1 < len(rest) && rest[i+1] == '\n' {
				return end + i + 2
			}
		}
		return -1
	}
	return -1
}

// splitPart splits a part into its header block (with the blank line that
// ends it) and its content.
func splitPart(part []byte) (head, content []byte, ok bool) {
	if bytes.HasPrefix(part, []byte("\r\n")) {
		return part[:2], part[2:], true // no headers
	}
	i := bytes.Index(part, []byte("\r\n\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return part[:i+4], part[i+4:], true
}

// isFormField reports whether a part's headers say it is a plain form
// field: form-data without a file name, in no transfer encoding.
func isFormField(head []byte) bool {
	var disposition string
	found := false
	for _, line := range strings.Split(string(head), "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k)) {
		case "Content-Disposition":
			if found {
				return false
			}
			disposition, found = strings.TrimSpace(v), true
		case "Content-Transfer-Encoding":
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "7bit", "8bit", "binary":
			default:
				return false
			}
		}
	}
	d, params, err := mime.ParseMediaType(disposition)
	if !found || err != nil || d != "form-data" {
		return false
	}
	_, file := params["filename"]
	return !file
}

// isMultipartForm reports whether a Content-Type is multipart/form-data.
func isMultipartForm(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data")
}
