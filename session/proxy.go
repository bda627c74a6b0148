package session

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"filippo.io/age"
)

// DefaultSessionCookie is the proxy's session cookie name when Config
// leaves it empty.
const DefaultSessionCookie = "__cas_session"

// DefaultInspectMax is the default bound on a body spooled for inspection
// (inspect.max_bytes).
const DefaultInspectMax = 50 << 20

// ReservedPrefix is the path prefix on every proxied host that belongs to
// casd itself (session handoff and such), never to the app.
const ReservedPrefix = "/.cas/"

// maxBufferedRequest bounds a request body rewritten in memory (so that
// it keeps a Content-Length); larger ones are rewritten streaming.
const maxBufferedRequest = 1 << 20

// maxBufferedResponse bounds a response body (by the app's Content-Length)
// rewritten in memory and sent whole with a Content-Length: one write, full
// TLS records, no chunking. Larger or unsized bodies stream.
const maxBufferedResponse = 256 << 10

// Session is what the proxy needs to know about a proxy session.
type Session struct {
	ID     string
	App    string
	User   string
	Groups []string
	Device string // "managed", "unmanaged" or empty
	// Extra carries whatever the daemon wants back in its Decider.
	Extra any
}

// Sessions finds the session behind a proxy session cookie.
type Sessions interface {
	// Lookup returns the session the cookie value names, for request r
	// (whose context, address and user agent it may check, and whose time
	// it may record as last seen). ok is false when there is none that is
	// valid now (unknown, expired, revoked); err is for technical failure
	// only.
	Lookup(r *http.Request, cookie string) (s Session, ok bool, err error)
}

// Action is what a session policy does with an activity.
type Action string

// The actions.
const (
	ActionAllow   Action = "allow"
	ActionBlock   Action = "block"
	ActionProtect Action = "protect"
	ActionLog     Action = "log"
)

// Decision is a session policy's verdict on one activity.
type Decision struct {
	Action Action
	// Message is shown to the user when blocked.
	Message string
	// Recipients receive protected (age-encrypted) files.
	Recipients []age.Recipient
	// Policies names the matched policies, for the event.
	Policies []string
	// Inspect asks for content inspection before the final decision; the
	// Config's Scanner then decides.
	Inspect bool
	// Fallback applies when the body exceeds the inspection bound; empty
	// means block.
	Fallback Action
}

// Decider evaluates session policies.
type Decider interface {
	// Decide returns the decision for activity a of session s; req is the
	// client's request (host and path as the browser sent them).
	Decide(ctx context.Context, s Session, req *http.Request, a Activity) (Decision, error)
}

// Scanner inspects a spooled body (size bytes readable from body) and
// returns the final decision and detector hit counts (never the content).
type Scanner func(ctx context.Context, s Session, a Activity, body io.ReaderAt, size int64) (Decision, map[string]int, error)

// Event records one classified activity and what was done about it.
type Event struct {
	Time      time.Time
	SessionID string
	User      string
	App       string
	Host      string // the app host
	Method    string
	Path      string
	Activity  Activity
	Action    Action
	Policies  []string
	Hits      map[string]int
	Status    int
	// Reason explains an action taken other than by a policy, such as an
	// inspection fallback.
	Reason string
}

// Events receives activity events; Record must not block for long.
type Events interface {
	Record(ctx context.Context, e Event)
}

// Config is what the daemon supplies to a Proxy.
type Config struct {
	// Rewriter maps and rewrites hosts; required.
	Rewriter *Rewriter
	// Sessions, Decider and Events are required.
	Sessions Sessions
	Decider  Decider
	Events   Events
	// Scanner inspects bodies when a decision asks for it; without one, an
	// inspection request gets the decision's fallback.
	Scanner Scanner
	// Patterns returns an app's URL patterns; nil means none.
	Patterns func(app string) AppPatterns
	// Transport reaches the apps; nil means NewTransport().
	Transport http.RoundTripper
	// UpstreamScheme is "https" (the default) or "http" (tests).
	UpstreamScheme string
	// SessionCookie is the proxy cookie's name; DefaultSessionCookie if empty.
	SessionCookie string
	// ForwardedFor chooses the X-Forwarded-For handling.
	ForwardedFor ForwardedFor
	// ClientIP returns the client's address for X-Forwarded-For; nil means
	// the connection's peer.
	ClientIP func(r *http.Request) string
	// NoSession serves requests without a valid session for the host's
	// app (the daemon starts an SP-initiated login); nil answers 401.
	NoSession func(w http.ResponseWriter, r *http.Request, app string)
	// Reserved serves ReservedPrefix paths; nil answers 404.
	Reserved http.Handler
	// Jar, when set, returns a session's server-side cookie jar: the app's
	// cookies set for a parent domain (Domain=) are kept there and sent
	// upstream to every host of the app they match. Flat host mapping needs
	// it: no browser cookie can span flat names without reaching every
	// app under the suffix. nil: no jar.
	Jar func(s Session) http.CookieJar
	// BlockPage answers a blocked page view or form upload (a browser
	// navigation) with the policy's message; nil writes a plain page.
	BlockPage func(w http.ResponseWriter, r *http.Request, app, msg string)
	// InspectMax bounds spooled bodies; DefaultInspectMax if zero.
	InspectMax int64
	// TempDir holds spooled bodies; os.TempDir() if empty.
	TempDir string
	// Now is the clock for events; time.Now if nil.
	Now func() time.Time
	// Logger logs technical failures; nothing is logged if nil.
	Logger *slog.Logger
}

// Proxy is the session-control handler for requests to proxied hosts.
type Proxy struct {
	cfg      Config
	bufs     sync.Pool
	respBufs sync.Pool // *respBuf for respondBuffered
}

var _ http.Handler = (*Proxy)(nil)

// NewTransport returns the default upstream transport: HTTP/2 when the app
// offers it, keep-alives with a large idle pool per host, and no automatic
// decompression (the proxy decodes what it rewrites itself).
func NewTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
}

// New validates cfg and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	if cfg.Rewriter == nil || cfg.Sessions == nil || cfg.Decider == nil || cfg.Events == nil {
		return nil, errors.New("session: new proxy: Rewriter, Sessions, Decider and Events are required")
	}
	switch cfg.UpstreamScheme {
	case "":
		cfg.UpstreamScheme = "https"
	case "http", "https":
	default:
		return nil, fmt.Errorf("session: new proxy: unknown upstream scheme %q", cfg.UpstreamScheme)
	}
	if cfg.Transport == nil {
		cfg.Transport = NewTransport()
	}
	if cfg.SessionCookie == "" {
		cfg.SessionCookie = DefaultSessionCookie
	}
	if cfg.InspectMax <= 0 {
		cfg.InspectMax = DefaultInspectMax
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Patterns == nil {
		cfg.Patterns = func(string) AppPatterns { return AppPatterns{} }
	}
	p := &Proxy{cfg: cfg}
	p.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	p.respBufs.New = func() any { return new(respBuf) }
	return p, nil
}

// exchange is the state of one request through the proxy.
type exchange struct {
	w        http.ResponseWriter
	r        *http.Request // as the client sent it
	out      *http.Request // to the app
	sess     Session
	app      string
	upstream string
	ev       Event
	rq       requestHeader // of out
	// rt is what classification and respond read of typesOf's header.
	rt      responseTypes
	typesOf *http.Response
}

// responseTypes returns what classification and respond read of resp's
// header, read once per response (enforce forgets it when it changes the
// header).
func (x *exchange) responseTypes(resp *http.Response) *responseTypes {
	if x.typesOf != resp {
		x.rt, x.typesOf = readResponseTypes(resp.Header), resp
	}
	return &x.rt
}

// ServeHTTP proxies one request to a proxied host.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ReservedPrefix) {
		if p.cfg.Reserved != nil {
			p.cfg.Reserved.ServeHTTP(w, r)
		} else {
			http.NotFound(w, r)
		}
		return
	}
	host, _ := splitPort(r.Host)
	upstream, app, ok := p.cfg.Rewriter.m.ToUpstream(host)
	if !ok {
		http.Error(w, "unknown host", http.StatusNotFound)
		return
	}
	var sess Session
	found := false
	if c, ok := requestCookie(r, p.cfg.SessionCookie); ok && c != "" {
		s, ok, err := p.cfg.Sessions.Lookup(r, c)
		if err != nil {
			p.fail(w, r, http.StatusInternalServerError, fmt.Errorf("look up session: %w", err))
			return
		}
		found = ok && s.App == app
		sess = s
	}
	if !found {
		if p.cfg.NoSession != nil {
			p.cfg.NoSession(w, r, app)
		} else {
			http.Error(w, "no session", http.StatusUnauthorized)
		}
		return
	}
	x := &exchange{w: w, r: r, sess: sess, app: app, upstream: upstream}
	x.ev = Event{SessionID: sess.ID, User: sess.User, App: app, Host: upstream, Method: r.Method, Path: r.URL.Path}
	if err := p.serve(x); err != nil {
		p.fail(w, r, http.StatusBadGateway, err)
	}
}

// fail is the one place an error becomes a response. When the response
// has already begun, it aborts the connection (http.ErrAbortHandler, as
// httputil.ReverseProxy does) so that the client sees a truncated body as
// truncated instead of as a complete, shorter file.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	canceled := errors.Is(err, context.Canceled)
	if !canceled {
		p.cfg.Logger.Error("session proxy", "host", r.Host, "path", r.URL.Path, "err", err)
	}
	var sent errSent
	if errors.As(err, &sent) {
		panic(http.ErrAbortHandler)
	}
	if !canceled {
		http.Error(w, http.StatusText(status), status)
	}
}

// errSent marks a failure after the response has begun: nothing more can
// be written to the client.
type errSent struct{ err error }

func (e errSent) Error() string { return e.err.Error() }
func (e errSent) Unwrap() error { return e.err }

func (p *Proxy) serve(x *exchange) error {
	if isWebSocket(x.r) {
		return p.tunnel(x)
	}
	out, err := p.outgoing(x)
	if err != nil {
		return err
	}
	x.out = out
	pats := p.cfg.Patterns(x.app)
	act, err := ClassifyRequest(out, pats)
	if err != nil {
		return fmt.Errorf("classify request: %w", err)
	}
	if act.Kind == KindUpload {
		done, err := p.upload(x, act)
		if done || err != nil {
			return err
		}
	}
	switch {
	case x.rq.contentEncoding != "":
		// A content-coded request body is sent as it is (not decoded).
	case isMultipartForm(x.rq.contentType):
		if err := p.rewriteMultipartBody(out, x.rq.contentType); err != nil {
			return err
		}
	case act.Kind != KindUpload && RequestRewritable(x.rq.contentType):
		if err := p.rewriteRequestBody(out); err != nil {
			return err
		}
	}
	resp, err := p.cfg.Transport.RoundTrip(out)
	if err != nil {
		return fmt.Errorf("forward to %s: %w", x.upstream, err)
	}
	defer resp.Body.Close()
	if act.Kind == KindUpload {
		return p.respond(x, resp)
	}
	act = classifyResponse(out, resp, pats, &x.rq, x.responseTypes(resp))
	switch act.Kind {
	case KindView, KindDownload, KindExport:
	default:
		return p.respond(x, resp)
	}
	x.ev.Activity = act
	d, err := p.cfg.Decider.Decide(x.r.Context(), x.sess, x.r, act)
	if err != nil {
		return fmt.Errorf("decide %s: %w", act.Kind, err)
	}
	x.ev.Policies = d.Policies
	if d.Inspect {
		return p.inspectResponse(x, resp, d)
	}
	return p.enforce(x, resp, resp.Body, d, false)
}

// upstreamRequest holds the request to the app, its URL and (when they
// fit) its header values in one allocation.
type upstreamRequest struct {
	req  http.Request
	url  url.URL
	vals [16]string
}

// outgoing builds the request to the app.
func (p *Proxy) outgoing(x *exchange) (*http.Request, error) {
	r := x.r
	o := new(upstreamRequest)
	o.req = *r // a shallow copy with r's context, as r.WithContext(r.Context())
	out := &o.req
	o.url = *r.URL
	u := &o.url
	u.Scheme = p.cfg.UpstreamScheme
	u.Host = x.upstream
	if u.RawQuery != "" && containsFold(u.RawQuery, p.cfg.Rewriter.m.suffix) {
		u.RawQuery = p.cfg.Rewriter.String(Request, u.RawQuery)
	}
	out.URL = u
	out.Host = x.upstream
	out.RequestURI = ""
	out.Close = false
	opts := RequestOptions{SessionCookie: p.cfg.SessionCookie, ForwardedFor: p.cfg.ForwardedFor}
	if opts.ForwardedFor != ForwardedForDrop {
		opts.ClientIP = p.clientIP(r) // only X-Forwarded-For needs it
	}
	// One walk over the client's header builds the app's.
	out.Header, x.rq = p.cfg.Rewriter.forwardHeader(r.Header, o.vals[:0], opts)
	p.addJarCookies(x, out)
	return out, nil
}

// containsFold reports whether strings.ToLower(s) contains the lower-case
// ASCII substr, without building the lower-case copy.
func containsFold(s, substr string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), substr)
		}
	}
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// acceptEncoding keeps the codings of the client's Accept-Encoding that the
// proxy can decode, so every response it rewrites is re-encoded in a
// coding the client accepts.
func acceptEncoding(vals []string) string {
	if len(vals) == 1 {
		switch v := vals[0]; v {
		case "gzip, deflate, br, zstd": // today's browsers
			return "gzip, deflate, br"
		case "gzip, deflate, br", "gzip, deflate", "gzip":
			return v
		}
		if s, ok := acceptEncodingInPlace(vals[0]); ok {
			return s
		}
	}
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

// acceptEncodingInPlace returns acceptEncoding([]string{v}) when that is a
// substring of the ASCII v: the codings kept are adjacent in v and
// separated by exactly ", " (as in browsers' "gzip, deflate, br, zstd").
// ok is false otherwise.
func acceptEncodingInPlace(v string) (string, bool) {
	for k := 0; k < len(v); k++ {
		if v[k] >= utf8.RuneSelf {
			return "", false // strings.TrimSpace and ToLower are Unicode's
		}
	}
	return keptInPlace(v, ',', ", ", strings.TrimSpace, func(c string) bool {
		name, _, _ := strings.Cut(c, ";")
		name = strings.TrimSpace(name)
		return strings.EqualFold(name, "gzip") || strings.EqualFold(name, "deflate") || strings.EqualFold(name, "br")
	})
}

func (p *Proxy) clientIP(r *http.Request) string {
	if p.cfg.ClientIP != nil {
		return p.cfg.ClientIP(r)
	}
	return clientIP(r)
}

func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// rewriteRequestBody maps proxy hosts back in a form, JSON or text body:
// in memory when small (keeping a Content-Length), streaming otherwise.
func (p *Proxy) rewriteRequestBody(out *http.Request) error {
	if out.Body == nil || out.Body == http.NoBody {
		return nil
	}
	if out.ContentLength >= 0 && out.ContentLength <= maxBufferedRequest {
		return p.rewriteInMemory(out, func(b []byte) []byte { return p.cfg.Rewriter.Bytes(Request, nil, b) })
	}
	body := out.Body
	out.Body = struct {
		io.Reader
		io.Closer
	}{p.cfg.Rewriter.NewReader(Request, body), body}
	out.ContentLength = -1
	out.Header.Del("Content-Length")
	return nil
}

// rewriteInMemory reads out's body (of at most maxBufferedRequest bytes)
// and, when it names the proxy suffix, sends rewrite's result instead,
// with its length.
func (p *Proxy) rewriteInMemory(out *http.Request, rewrite func([]byte) []byte) error {
	b, err := io.ReadAll(io.LimitReader(out.Body, maxBufferedRequest+1))
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	out.Body.Close()
	if bytes.Contains(b, []byte(p.cfg.Rewriter.m.suffix)) {
		b = rewrite(b)
	}
	out.Body = io.NopCloser(bytes.NewReader(b))
	out.ContentLength = int64(len(b))
	out.GetBody = nil
	return nil
}

// respond sends the app's response to the client, rewritten.
func (p *Proxy) respond(x *exchange, resp *http.Response) error {
	encoding := x.responseTypes(resp).encoding
	rewrite := resp.ContentLength != 0 && shouldRewrite(x.r.Method, resp.StatusCode, &x.rt)
	if rewrite && first(encoding) != "" {
		// An empty body, or one that is not gzip although it says so,
		// passes as it is rather than failing in the decoder.
		br := bufio.NewReader(resp.Body)
		head, _ := br.Peek(2)
		enc := strings.ToLower(strings.TrimSpace(first(encoding)))
		if len(head) == 0 || (enc == "gzip" || enc == "x-gzip") && (len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b) {
			rewrite = false
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{br, resp.Body}
	}
	p.keepJarCookies(x, resp)
	rh := p.cfg.Rewriter.copyResponseHeader(x.w.Header(), resp.Header, p.cfg.SessionCookie, rewrite)
	if x.ev.Activity.Kind != "" {
		x.ev.Status = resp.StatusCode
		if x.ev.Action == "" {
			x.ev.Action = ActionAllow
		}
		p.record(x)
	}
	if rewrite {
		if resp.ContentLength > 0 && resp.ContentLength <= maxBufferedResponse {
			return p.respondBuffered(x, resp, &rh)
		}
		x.w.WriteHeader(resp.StatusCode)
		df := newDelayedFlusher(x.w)
		defer df.stop()
		if _, err := p.cfg.Rewriter.rewriteBody(Response, rh.contentEncoding, df, resp.Body, true); err != nil {
			return errSent{err}
		}
		return nil
	}
	x.w.WriteHeader(resp.StatusCode)
	return p.copy(x.w, resp.Body, strings.HasPrefix(rh.contentType, "text/event-stream"))
}

// copy streams body to w through a pooled buffer, flushing after each
// chunk when flush is set, and otherwise at most FlushDelay after a chunk
// that the app's next one is slow to follow.
func (p *Proxy) copy(w http.ResponseWriter, body io.Reader, flush bool) error {
	bp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bp)
	buf := *bp
	var rc *http.ResponseController
	var out io.Writer = w
	if flush {
		rc = http.NewResponseController(w)
	} else {
		df := newDelayedFlusher(w)
		defer df.stop()
		out = df
	}
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return errSent{fmt.Errorf("write response: %w", werr)}
			}
			if flush {
				rc.Flush()
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errSent{fmt.Errorf("read response: %w", err)}
		}
	}
}

func (p *Proxy) record(x *exchange) {
	x.ev.Time = p.cfg.Now()
	p.cfg.Events.Record(x.r.Context(), x.ev)
}

// enforce applies decision d to a download, export or view whose file
// content (still content-encoded unless decoded) reads from body.
func (p *Proxy) enforce(x *exchange, resp *http.Response, body io.Reader, d Decision, decoded bool) error {
	act := x.ev.Activity
	x.ev.Action = d.Action
	x.ev.Status = http.StatusOK
	switch d.Action {
	case ActionBlock:
		p.record(x)
		if act.Kind == KindView {
			p.blockPage(x, d.Message)
			return nil
		}
		blockFile(x.w, act.FileName, d.Message)
		return nil
	case ActionProtect:
		if act.Kind == KindView {
			// Nothing to encrypt on a page view: it is allowed, and the
			// event says why.
			x.ev.Action, x.ev.Reason = ActionAllow, "protect applies to files; page view allowed"
			break
		}
		if len(d.Recipients) == 0 {
			x.ev.Action, x.ev.Reason = ActionBlock, "protect without recipients"
			p.record(x)
			blockFile(x.w, act.FileName, d.Message)
			return nil
		}
		if !decoded {
			dec, err := p.cfg.Rewriter.codecs.decoder(resp.Header.Get("Content-Encoding"), body)
			if err != nil {
				x.ev.Action, x.ev.Reason = ActionBlock, "cannot decode file to protect"
				p.record(x)
				blockFile(x.w, act.FileName, d.Message)
				return nil
			}
			defer dec.close()
			body = dec
		}
		p.record(x)
		return p.protect(x.w, act.FileName, body, d.Recipients)
	}
	if body != resp.Body {
		resp.Body = io.NopCloser(body)
		if decoded {
			resp.Header.Del("Content-Encoding")
			resp.Header.Del("Content-Length")
			resp.ContentLength = -1
			x.typesOf = nil
		}
	}
	return p.respond(x, resp)
}

// blockFile answers with <name>.blocked.txt carrying the policy's message.
func blockFile(w http.ResponseWriter, name, msg string) {
	if msg == "" {
		msg = "This file was blocked by your organization's security policy."
	}
	body := msg + "\n"
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", attachment(name+".blocked.txt"))
	h.Set("Content-Length", fmt.Sprint(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

// blockPage answers a blocked navigation, through the daemon's page when it
// supplied one.
func (p *Proxy) blockPage(x *exchange, msg string) {
	if p.cfg.BlockPage != nil {
		clear(x.w.Header())
		p.cfg.BlockPage(x.w, x.r, x.app, msg)
		return
	}
	blockPage(x.w, msg)
}

// blockPage writes a plain block page.
func blockPage(w http.ResponseWriter, msg string) {
	if msg == "" {
		msg = "Access to this page was blocked by your organization's security policy."
	}
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Blocked</title></head><body><h1>Blocked</h1><p>%s</p></body></html>\n", html.EscapeString(msg))
}

func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return `attachment; filename="download"`
}

// protect streams body encrypted to the recipients as <name>.age.
func (p *Proxy) protect(w http.ResponseWriter, name string, body io.Reader, to []age.Recipient) error {
	h := w.Header()
	clear(h)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", attachment(name+".age"))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	ew, err := age.Encrypt(w, to...)
	if err != nil {
		return errSent{fmt.Errorf("protect %s: %w", name, err)}
	}
	bp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bp)
	if _, err := io.CopyBuffer(ew, onlyReader{body}, *bp); err != nil {
		return errSent{fmt.Errorf("protect %s: %w", name, err)}
	}
	if err := ew.Close(); err != nil {
		return errSent{fmt.Errorf("protect %s: %w", name, err)}
	}
	return nil
}

// upload decides on an upload before it is forwarded. done reports that
// the response has been sent (blocked).
func (p *Proxy) upload(x *exchange, act Activity) (done bool, err error) {
	x.ev.Activity = act
	d, err := p.cfg.Decider.Decide(x.r.Context(), x.sess, x.r, act)
	if err != nil {
		return false, fmt.Errorf("decide upload: %w", err)
	}
	x.ev.Policies = d.Policies
	if d.Inspect {
		sp, err := p.spool(x.out.Body)
		if err != nil {
			return false, err
		}
		// The file must outlive the round trip; it is removed when the
		// request's context ends.
		context.AfterFunc(x.r.Context(), sp.remove)
		d2, reason, hits := p.judge(x, sp, d)
		x.ev.Hits, x.ev.Reason = hits, reason
		d = d2
		if d.Action != ActionBlock {
			x.out.Body = io.NopCloser(sp.reader(x.out.Body))
			if !sp.over {
				x.out.ContentLength = sp.size
			}
			x.out.GetBody = nil
		}
	}
	x.ev.Action = d.Action
	switch d.Action {
	case ActionBlock, ActionProtect:
		// Protect has no meaning for a file going up; it fails closed.
		if d.Action == ActionProtect {
			x.ev.Action, x.ev.Reason = ActionBlock, "protect applies to downloads; upload refused"
		}
		x.ev.Status = http.StatusForbidden
		p.record(x)
		msg := d.Message
		if msg == "" {
			msg = "This upload was blocked by your organization's security policy."
		}
		if isNavigation(x.r) {
			// A form posted by the user: a page, like any other block.
			p.blockPage(x, msg)
		} else {
			http.Error(x.w, msg, http.StatusForbidden)
		}
		return true, nil
	}
	return false, nil
}

// addJarCookies sends the session jar's cookies that match the upstream URL,
// unless the browser sent one of the same name (its own, host-only copy).
func (p *Proxy) addJarCookies(x *exchange, out *http.Request) {
	if p.cfg.Jar == nil {
		return
	}
	jar := p.cfg.Jar(x.sess)
	if jar == nil {
		return
	}
	have := map[string]bool{}
	for _, c := range out.Cookies() {
		have[c.Name] = true
	}
	for _, c := range jar.Cookies(out.URL) {
		if !have[c.Name] && c.Name != p.cfg.SessionCookie {
			out.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
}

// keepJarCookies stores the app's parent-domain cookies of an upstream
// response in the session jar, before the header rewriting scopes them.
func (p *Proxy) keepJarCookies(x *exchange, resp *http.Response) {
	if p.cfg.Jar == nil || x.out == nil {
		return
	}
	jar := p.cfg.Jar(x.sess)
	if jar == nil {
		return
	}
	var domain []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Domain != "" && c.Name != p.cfg.SessionCookie {
			domain = append(domain, c)
		}
	}
	if len(domain) > 0 {
		jar.SetCookies(x.out.URL, domain)
	}
}

// respondBuffered rewrites a small response in memory and sends it with
// its Content-Length in one write.
func (p *Proxy) respondBuffered(x *exchange, resp *http.Response, rh *responseHeader) error {
	b := p.respBufs.Get().(*respBuf)
	defer func() {
		if cap(b.in) <= maxBufferedResponse && b.out.Cap() <= 4*maxBufferedResponse {
			p.respBufs.Put(b)
		}
	}()
	b.out.Reset()
	// The app said how long its body is; read no more than that.
	if enc := rh.contentEncoding; enc == "" || enc == "identity" {
		// Nothing to decode: read it whole and rewrite it in one go, which
		// gives what RewriteBody's stream gives.
		in, err := readAtMost(resp.Body, b.in, resp.ContentLength)
		b.in = in[:0]
		if err != nil {
			return fmt.Errorf("session: rewrite body: %w", err) // nothing sent yet: the one error page
		}
		b.out.Write(p.cfg.Rewriter.Bytes(Response, b.out.AvailableBuffer(), in))
	} else if _, err := p.cfg.Rewriter.RewriteBody(Response, enc, &b.out, io.LimitReader(resp.Body, resp.ContentLength)); err != nil {
		return err
	}
	h := x.w.Header()
	var num [20]byte
	cl := strconv.AppendInt(num[:0], int64(b.out.Len()), 10)
	if vals := rh.contentLength; len(vals) > 0 {
		// The app's value, which respond left out of h, has a slice to
		// spare, and the right string when the length did not change.
		if vals[0] != string(cl) {
			vals[0] = string(cl)
		}
		h["Content-Length"] = vals[:1:1]
	} else {
		h["Content-Length"] = []string{string(cl)}
	}
	x.w.WriteHeader(resp.StatusCode)
	if _, err := x.w.Write(b.out.Bytes()); err != nil {
		return errSent{err}
	}
	return nil
}

// respBuf holds a buffered response body as read and as rewritten.
type respBuf struct {
	in  []byte
	out bytes.Buffer
}

// readAtMost reads r until EOF or n bytes into buf's storage (grown when
// too small) and returns what it read.
func readAtMost(r io.Reader, buf []byte, n int64) ([]byte, error) {
	if int64(cap(buf)) < n {
		buf = make([]byte, 0, n)
	}
	buf = buf[:0]
	for int64(len(buf)) < n {
		m, err := r.Read(buf[len(buf):n])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
