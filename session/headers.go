package session

import (
	"net/http"
	"net/textproto"
	"strings"

	"github.com/cas-proxy/cas/httpwire"
)

// isHopByHop reports whether the canonical header name k is one of the
// connection-specific headers of RFC 9110 section 7.6.1 (plus the obsolete
// ones proxies still see); they never cross the proxy.
func isHopByHop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// RemoveHopByHop deletes the hop-by-hop headers from h, including every
// header the Connection header lists.
func RemoveHopByHop(h http.Header) {
	removeConnectionListed(h)
	// One pass over h's few names rather than a delete for each of the
	// many that are absent.
	for k := range h {
		if isHopByHop(k) {
			delete(h, k)
		}
	}
}

// removeConnectionListed deletes the headers the Connection header lists.
func removeConnectionListed(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				h.Del(f)
			}
		}
	}
}

// connectionListed reports whether the Connection values conn list the
// header named k: whether removeConnectionListed, on a header with these
// Connection values, deletes k. It lets a walk over a header drop what
// Connection lists as it goes, without a Del (and its canonicalisation)
// per listed name.
func connectionListed(conn []string, k string) bool {
	for _, v := range conn {
		for len(v) > 0 {
			f := v
			if i := strings.IndexByte(v, ','); i >= 0 {
				f, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			if f = textproto.TrimString(f); f != "" && isCanonicalOf(k, f) {
				return true
			}
		}
	}
	return false
}

// isCanonicalOf reports whether k == textproto.CanonicalMIMEHeaderKey(f):
// a name that is not all token bytes is its own canonical form.
func isCanonicalOf(k, f string) bool {
	if len(k) != len(f) {
		return false
	}
	if kind, canonical := httpwire.Key(f); kind != httpwire.KeyToken || canonical {
		return k == f
	}
	var arr [64]byte
	b := append(arr[:0], f...)
	httpwire.CanonicalizeKey(b)
	return string(b) == k
}

// headerValue is h.Get(k) for a canonical k, without canonicalising it
// again.
func headerValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ForwardedFor says what the proxy tells the app about the client address.
type ForwardedFor string

const (
	// ForwardedForDrop (the default) removes X-Forwarded-For: the app sees
	// the proxy as the client.
	ForwardedForDrop ForwardedFor = ""
	// ForwardedForAppend appends the client address to what the client sent.
	ForwardedForAppend ForwardedFor = "append"
	// ForwardedForReplace sends only the client address as the proxy saw it,
	// ignoring what the client claimed.
	ForwardedForReplace ForwardedFor = "replace"
)

// RequestOptions configures the request-side header rewrite.
type RequestOptions struct {
	// SessionCookie is the name of the proxy's own cookie, which is never
	// forwarded to the app.
	SessionCookie string
	// ForwardedFor chooses the X-Forwarded-For handling.
	ForwardedFor ForwardedFor
	// ClientIP is the address the request came from, for ForwardedFor.
	ClientIP string
}

// RewriteRequestHeader prepares the headers of a request to a proxied host
// for the app: hop-by-hop headers are removed, Origin and Referer are mapped
// back to app hosts, the proxy's session cookie is stripped, forwarding
// headers the client sent are removed and X-Forwarded-For is set as opts
// says. The Host itself is the caller's
// (it is on http.Request, not in the header map). Values are rewritten in
// place, so h must not share its value slices with a header that is to
// stay as it was (a Header.Clone shares none).
func (r *Rewriter) RewriteRequestHeader(h http.Header, opts RequestOptions) {
	removeConnectionListed(h)
	var prior string
	if xff := h["X-Forwarded-For"]; len(xff) > 0 && opts.ForwardedFor == ForwardedForAppend {
		prior = strings.Join(xff, ", ")
	}
	// Hop-by-hop headers go, and so does what a client claims about
	// forwarding: it would be spoofable, and X-Forwarded-Host would name
	// proxy hosts.
	for k := range h {
		if isHopByHop(k) || isForwarding(k) {
			delete(h, k)
		}
	}
	for _, k := range [...]string{"Origin", "Referer"} {
		if vals := h[k]; len(vals) > 0 && vals[0] != "" {
			v := r.String(Request, vals[0])
			if len(vals) == 1 {
				vals[0] = v
			} else {
				h[k] = []string{v}
			}
		}
	}
	if opts.SessionCookie != "" {
		stripCookie(h, opts.SessionCookie)
	}
	switch opts.ForwardedFor {
	case ForwardedForAppend:
		if opts.ClientIP != "" && prior != "" {
			h["X-Forwarded-For"] = []string{prior + ", " + opts.ClientIP}
		} else if opts.ClientIP != "" {
			h["X-Forwarded-For"] = []string{opts.ClientIP}
		}
	case ForwardedForReplace:
		if opts.ClientIP != "" {
			h["X-Forwarded-For"] = []string{opts.ClientIP}
		}
	}
}

// requestHeader is what forwardHeader learns of the request to the app
// on its walk: the first values (or "") of the headers later steps read,
// so that they need not look them up again.
type requestHeader struct {
	contentType     string
	contentEncoding string
	secFetchDest    string
	accept          string
}

// isNavigation is isNavigation of the request with these headers.
func (rq *requestHeader) isNavigation() bool {
	return navigation(rq.secFetchDest, rq.accept)
}

// forwardHeader returns the header of the request to the app, made from
// the client's header src in one walk over it: what RewriteRequestHeader
// makes of a clone of src, with Accept-Encoding narrowed to the codings
// the proxy decodes (acceptEncoding of src's, even when Connection lists
// it, and none when none is left) and an empty User-Agent key, which
// keeps the transport from adding Go's, when no User-Agent is left. Its
// value slices are its own, in buf's spare capacity while they fit.
func (r *Rewriter) forwardHeader(src http.Header, buf []string, opts RequestOptions) (http.Header, requestHeader) {
	var rq requestHeader
	if len(src) > cap(buf)-len(buf) {
		buf = make([]string, 0, len(src)+4)
	}
	dst := make(http.Header, len(src)+1)
	conn := src["Connection"]
	var xff, ae, aeSlot []string
	hasUA := false
	for k, vv := range src {
		if k == "Accept-Encoding" {
			ae = vv // the client's, whatever becomes of it below
		}
		if isHopByHop(k) || len(conn) > 0 && connectionListed(conn, k) {
			continue
		}
		if isForwarding(k) {
			if k == "X-Forwarded-For" {
				xff = vv
			}
			continue
		}
		if vv != nil {
			i := len(buf)
			buf = append(buf, vv...)
			vv = buf[i:len(buf):len(buf)]
		}
		switch k {
		case "Origin", "Referer":
			if len(vv) > 0 && vv[0] != "" {
				v := r.String(Request, vv[0])
				if len(vv) == 1 {
					vv[0] = v
				} else {
					vv = []string{v}
				}
			}
		case "Cookie":
			if opts.SessionCookie != "" && len(vv) > 0 {
				var ok bool
				if vv, ok = strippedCookies(vv, opts.SessionCookie); !ok {
					continue
				}
			}
		case "Accept-Encoding":
			if len(vv) == 1 {
				aeSlot = vv
			}
			continue // set below
		case "User-Agent":
			hasUA = true
		case "Content-Type":
			rq.contentType = first(vv)
		case "Content-Encoding":
			rq.contentEncoding = first(vv)
		case "Sec-Fetch-Dest":
			rq.secFetchDest = first(vv)
		case "Accept":
			rq.accept = first(vv)
		}
		dst[k] = vv
	}
	if v := acceptEncoding(ae); v != "" {
		if aeSlot == nil {
			aeSlot = []string{""}
		}
		aeSlot[0] = v
		dst["Accept-Encoding"] = aeSlot
	}
	if !hasUA {
		dst["User-Agent"] = nil
	}
	switch opts.ForwardedFor {
	case ForwardedForAppend:
		if prior := strings.Join(xff, ", "); opts.ClientIP != "" && prior != "" {
			dst["X-Forwarded-For"] = []string{prior + ", " + opts.ClientIP}
		} else if opts.ClientIP != "" {
			dst["X-Forwarded-For"] = []string{opts.ClientIP}
		}
	case ForwardedForReplace:
		if opts.ClientIP != "" {
			dst["X-Forwarded-For"] = []string{opts.ClientIP}
		}
	}
	return dst, rq
}

// first is the first of vals, or "".
func first(vals []string) string {
	if len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// isForwarding reports whether the canonical header name k is a
// forwarding claim a client may make.
func isForwarding(k string) bool {
	switch k {
	case "X-Forwarded-For", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Real-Ip":
		return true
	}
	return false
}

// stripCookie removes the cookie called name from every Cookie header. The
// result is one Cookie header of the remaining pairs joined by "; ", or
// none.
func stripCookie(h http.Header, name string) {
	vals := h["Cookie"]
	if len(vals) == 0 {
		return
	}
	if kept, ok := strippedCookies(vals, name); ok {
		h["Cookie"] = kept
	} else {
		delete(h, "Cookie")
	}
}

// strippedCookies is what stripCookie makes of the Cookie values vals
// (at least one), written in place when it can be: ok is false when no
// Cookie header is left.
func strippedCookies(vals []string, name string) (kept []string, ok bool) {
	if len(vals) == 1 {
		if v, ok := strippedInPlace(vals[0], name); ok {
			if v == "" {
				return nil, false
			}
			vals[0] = v
			return vals, true
		}
	}
	var pairs []string
	for _, v := range vals {
		for c := range strings.SplitSeq(v, ";") {
			c = textproto.TrimString(c)
			if c == "" {
				continue
			}
			n, _, _ := strings.Cut(c, "=")
			if textproto.TrimString(n) == name {
				continue
			}
			pairs = append(pairs, c)
		}
	}
	if len(pairs) == 0 {
		return nil, false
	}
	return []string{strings.Join(pairs, "; ")}, true
}

// strippedInPlace returns what stripCookie makes of the one Cookie header
// v when that is a substring of v: the pairs kept are adjacent in v and
// separated by exactly "; ", as when the browser's header starts or ends
// with the cookie removed. ok is false otherwise.
func strippedInPlace(v, name string) (kept string, ok bool) {
	return keptInPlace(v, ';', "; ", textproto.TrimString, func(c string) bool {
		n, _, _ := strings.Cut(c, "=")
		return textproto.TrimString(n) != name
	})
}

// keptInPlace is the in-place form of filtering a sep-separated list
// (each element trimmed by trim, empty ones dropped, those keep refuses
// dropped, the rest joined by joiner): it returns the result when that is
// a substring of v — the kept elements adjacent in v and separated by
// exactly joiner — with ok false otherwise, and the caller filters the
// list the long way.
func keptInPlace(v string, sep byte, joiner string, trim func(string) string, keep func(elem string) bool) (string, bool) {
	start, end := -1, -1 // of the kept stretch in v
	for i := 0; i <= len(v); {
		j := strings.IndexByte(v[i:], sep)
		if j < 0 {
			j = len(v)
		} else {
			j += i
		}
		part := v[i:j]
		if c := trim(part); c != "" && keep(c) {
			// c is part less leading and trailing space, and starts with
			// none: its first occurrence in part is where it stands.
			cs := i + strings.Index(part, c)
			if start < 0 {
				start = cs
			} else if v[end:cs] != joiner {
				// Anything else between two kept elements (a removed one,
				// an empty one, other spacing) is not in the result.
				return "", false
			}
			end = cs + len(c)
		}
		i = j + 1
	}
	if start < 0 {
		return "", true
	}
	return v[start:end], true
}

// isURLHeader reports whether the canonical header name k carries URLs
// or origins that name app hosts in responses.
func isURLHeader(k string) bool {
	switch k {
	case "Location", "Content-Location", "Refresh", "Link", "Access-Control-Allow-Origin",
		"Timing-Allow-Origin", "Report-To", "Reporting-Endpoints", "Nel":
		return true
	}
	return false
}

// isDroppedResponseHeader reports whether k names an app policy that must
// not be pinned on the proxy's host names: Strict-Transport-Security (casd sets its own for the
// suffix; an app's includeSubDomains or preload has no business on proxy
// names, and the proxy only speaks HTTPS anyway), Alt-Svc (it would send
// the browser to an HTTP/3 endpoint casd does not serve) and the obsolete
// key pinning headers.
func isDroppedResponseHeader(k string) bool {
	switch k {
	case "Strict-Transport-Security", "Alt-Svc", "Public-Key-Pins", "Public-Key-Pins-Report-Only":
		return true
	}
	return false
}

// RewriteResponseHeader prepares the headers of an app response for the
// browser: hop-by-hop headers removed, URLs in Location, Content-Location,
// Refresh, Link, CORS and reporting headers mapped to proxy hosts,
// Set-Cookie domains mapped or the cookie dropped (see RewriteSetCookie), Content-Security-Policy
// sources mapped (see RewriteCSP), and the headers isDroppedResponseHeader
// names removed. A Set-Cookie for sessionCookie (the
// proxy's own cookie name) is dropped, so an app cannot overwrite it.
func (r *Rewriter) RewriteResponseHeader(h http.Header, sessionCookie string) {
	// One walk: what Connection lists goes as it is met.
	conn := h["Connection"]
	for k, vv := range h {
		if isHopByHop(k) || isDroppedResponseHeader(k) || len(conn) > 0 && connectionListed(conn, k) {
			delete(h, k)
			continue
		}
		if vv, ok := r.responseValues(k, vv, sessionCookie); !ok {
			delete(h, k)
		} else if k == "Set-Cookie" {
			h[k] = vv
		}
	}
}

// responseValues rewrites the values vals of the response header k, a
// header RewriteResponseHeader keeps, in place: URLs, Set-Cookie and
// Content-Security-Policy as it says. ok is false when no value of k is
// left (every Set-Cookie dropped).
func (r *Rewriter) responseValues(k string, vals []string, sessionCookie string) (_ []string, ok bool) {
	switch k {
	case "Set-Cookie":
		if len(vals) == 0 {
			break
		}
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
		return kept, len(kept) > 0
	case "Content-Security-Policy", "Content-Security-Policy-Report-Only":
		for i, v := range vals {
			vals[i] = r.RewriteCSP(v)
		}
	default:
		if isURLHeader(k) {
			for i, v := range vals {
				vals[i] = r.String(Response, v)
			}
		}
	}
	return vals, true
}

// responseHeader is what copyResponseHeader learns of the app's response
// header: the values of what RewriteResponseHeader leaves that respond
// reads afterwards.
type responseHeader struct {
	contentType     string
	contentEncoding string
	contentLength   []string
}

// copyResponseHeader copies what RewriteResponseHeader makes of src into
// dst in one walk over src, whose values it rewrites in place but whose
// keys it leaves. With rewritten (the body is rewritten) dst is left with
// no Content-Length or digest (they describe the app's bytes) and a strong
// Etag is weakened (the bytes changed but not the meaning: If-None-Match
// compares weakly, so the app still answers 304 for its own tag).
func (r *Rewriter) copyResponseHeader(dst, src http.Header, sessionCookie string, rewritten bool) responseHeader {
	if rewritten && len(dst) > 0 {
		// What dst had before (usually nothing) gets the same treatment.
		for _, k := range [...]string{"Content-Length", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest"} {
			delete(dst, k)
		}
		if et := headerValue(dst, "Etag"); et != "" && !strings.HasPrefix(et, "W/") {
			dst["Etag"] = []string{"W/" + et}
		}
	}
	var rh responseHeader
	conn := src["Connection"]
	for k, vv := range src {
		if isHopByHop(k) || isDroppedResponseHeader(k) || len(conn) > 0 && connectionListed(conn, k) {
			continue
		}
		var ok bool
		if vv, ok = r.responseValues(k, vv, sessionCookie); !ok {
			continue
		}
		switch k {
		case "Content-Type":
			rh.contentType = first(vv)
		case "Content-Encoding":
			rh.contentEncoding = first(vv)
		case "Content-Length":
			rh.contentLength = vv
			if rewritten {
				continue
			}
		case "Content-Md5", "Digest", "Content-Digest", "Repr-Digest":
			if rewritten {
				continue
			}
		case "Etag":
			if et := first(vv); rewritten && et != "" && !strings.HasPrefix(et, "W/") {
				vv = []string{"W/" + et}
			}
		}
		dst[k] = vv
	}
	return rh
}

// RewriteSetCookie maps the Domain attribute of one Set-Cookie value and
// keeps everything else byte for byte (Path, Expires, Max-Age, Secure,
// HttpOnly, SameSite, Priority, Partitioned and any attribute to come).
//
// A cookie without Domain is host-only: it stays on the proxy host that set
// it, which is already the right scope, so it is not touched (this covers
// __Host- cookies, which may not carry a Domain). With Domain=D, where D is
// an app domain, an ancestor of one (salesforce.com for
// *.my.salesforce.com) or a host below a wildcard pattern:
//
//   - suffix mapping: Domain=D.<suffix>. Every proxy host of a host below D
//     ends in .D.<suffix>, so the browser sends the cookie to exactly the
//     proxied hosts of the hosts the app meant.
//   - flat mapping: the Domain attribute is removed. Proxy hosts share no
//     domain but <suffix> itself, and Domain=<suffix> would hand the cookie
//     to every other app's hosts (and casd would forward it to those apps).
//     Host-only is the safe scope; an app that sets a cookie on one host
//     and reads it on another needs suffix mapping.
//
// A cookie whose Domain is unrelated to the app is dropped (RewriteSetCookie
// returns ""): the browser would refuse it from the real app host, but it
// would accept Domain=<suffix> from a proxy host, which would let an app
// toss cookies onto casd's portal and every other app's hosts.
func (r *Rewriter) RewriteSetCookie(v string) string {
	parts := strings.Split(v, ";")
	for i := 1; i < len(parts); i++ {
		k, val, _ := strings.Cut(parts[i], "=")
		if !strings.EqualFold(textproto.TrimString(k), "domain") {
			continue
		}
		d := strings.ToLower(strings.Trim(textproto.TrimString(val), "."))
		if d == "" {
			continue // an empty Domain is ignored by browsers: host-only
		}
		if !r.m.related(d) {
			return ""
		}
		if r.m.mode == ModeFlat {
			parts = append(parts[:i], parts[i+1:]...)
			return strings.Join(parts, ";")
		}
		lead := parts[i][:len(parts[i])-len(strings.TrimLeft(parts[i], " \t"))]
		parts[i] = lead + textproto.TrimString(k) + "=" + d + "." + r.m.suffix
		return strings.Join(parts, ";")
	}
	return v
}

// related reports whether the lower-case domain d is an app pattern's base,
// an ancestor of one (with at least two labels) or below a wildcard
// pattern: the domains a cookie or a CSP wildcard of the app may name.
func (m *Mapper) related(d string) bool {
	if d == "" || !strings.Contains(d, ".") {
		return false
	}
	for _, p := range m.patterns {
		if p.base == d || strings.HasSuffix(p.base, "."+d) || p.wildcard && strings.HasSuffix(d, "."+p.base) {
			return true
		}
	}
	return false
}

// RewriteCSP maps the host sources of a Content-Security-Policy value and
// keeps everything else (directives, keywords, nonces, hashes, schemes).
// An exact app host becomes its proxy host. A wildcard source *.D for an
// app domain becomes *.D.<suffix> with suffix mapping and *.<suffix> with
// flat mapping (the only wildcard that covers flat proxy hosts; every host
// under the suffix is casd's). Report URLs are mapped like any URL. The
// policy is never removed.
func (r *Rewriter) RewriteCSP(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 64)
	for i, dir := range strings.Split(v, ";") {
		if i > 0 {
			b.WriteByte(';')
		}
		start := 0
		for j := 0; j <= len(dir); j++ {
			if j < len(dir) && dir[j] != ' ' && dir[j] != '\t' {
				continue
			}
			if j > start {
				b.WriteString(r.cspSource(dir[start:j]))
			}
			if j < len(dir) {
				b.WriteByte(dir[j])
			}
			start = j + 1
		}
	}
	return b.String()
}

// cspSource maps one source expression.
func (r *Rewriter) cspSource(s string) string {
	if s == "" || s[0] == '\'' {
		return s
	}
	scheme, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	end := strings.IndexAny(rest, ":/")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	base, ok := strings.CutPrefix(host, "*.")
	if !ok {
		return r.String(Response, s)
	}
	if !r.m.related(strings.ToLower(base)) {
		return s
	}
	if r.m.mode == ModeFlat {
		return scheme + "*." + r.m.suffix + tail
	}
	return scheme + "*." + base + "." + r.m.suffix + tail
}
