package daemon

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/session"
	"github.com/cas-proxy/cas/store"
)

// Session control: after a monitor decision, the app session flows through
// casd. A session lives in the store; the browser holds, per proxied host, a
// host-only cookie "<id>.<secret>" of which the store keeps only a hash of
// the secret. The portal keeps a cookie per app so that moving to another
// host of the same app is a one-time hop through the portal, not a new login.

const (
	ticketHandoff = "handoff"
	handoffTTL    = time.Minute
	// touchEvery bounds how often a session's last-seen time is written.
	touchEvery = 30 * time.Second
	// portalAppCookie prefixes the portal's per-app session cookie.
	portalAppCookie = "__Host-cas_app_"
	defaultNotice   = "Your access to %s is monitored by your organisation. Downloads and other activities may be recorded or restricted."
)

// sessionData is what the store keeps of a session beyond its columns.
type sessionData struct {
	SecretHash string   `json:"secret_hash"`
	Groups     []string `json:"groups,omitempty"`
	Email      string   `json:"email,omitempty"`
	DeviceCert string   `json:"device_cert,omitempty"`
}

// handoff is a one-time code's content: it sets the session cookie on a
// proxied host and then continues.
type handoff struct {
	Token      string `json:"token"`
	App        string `json:"app"`
	Host       string `json:"host"` // the proxied host the code is for
	ACS        string `json:"acs,omitempty"`
	Response   string `json:"response,omitempty"` // base64 SAMLResponse for the app
	RelayState string `json:"relay_state,omitempty"`
	To         string `json:"to,omitempty"` // else: redirect here
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// rebuildMapper rebuilds the host mapping and the session proxy from the
// apps; called whenever apps change.
func (d *Daemon) rebuildMapper() {
	cfg := d.config()
	t := d.apps.Load()
	var apps []session.App
	if t != nil {
		for name, rt := range *t {
			doms := append([]string{}, rt.template.Domains...)
			doms = append(doms, rt.app.Domains...)
			apps = append(apps, session.App{Name: name, Domains: doms})
		}
	}
	m, err := session.NewMapper(cfg.Suffix, session.Mode(cfg.HostMapping), apps)
	if err != nil {
		d.log.Error("session control: host mapping", "err", err)
		return
	}
	p, err := session.New(session.Config{
		Rewriter:  session.NewRewriter(m),
		Sessions:  (*sessionStore)(d),
		Decider:   (*sessionDecider)(d),
		Events:    (*sessionEvents)(d),
		Scanner:   d.scanContent,
		Patterns:  d.appPatterns,
		Transport: d.upstream,
		NoSession: d.noSession,
		Reserved:  http.HandlerFunc(d.serveReserved),
		BlockPage: d.sessionBlockPage,
		Jar:       d.cookieJar(cfg.HostMapping),
		ClientIP:  func(r *http.Request) string { return d.sourceIP(r).String() },
		ForwardedFor: map[string]session.ForwardedFor{
			"drop": session.ForwardedForDrop, "append": session.ForwardedForAppend, "replace": session.ForwardedForReplace,
		}[cfg.Session.ForwardedFor],
		InspectMax: cfg.Inspect.MaxBytes,
		TempDir:    d.config().StateDir,
		Now:        d.now,
		Logger:     d.log,
	})
	if err != nil {
		d.log.Error("session control", "err", err)
		return
	}
	d.mapper.Store(m)
	d.sessionProxy.Store(p)
}

func (d *Daemon) appPatterns(app string) session.AppPatterns {
	rt := d.app(app)
	if rt == nil {
		return session.AppPatterns{}
	}
	return rt.patterns
}

// serveProxied serves a proxied app host under the suffix.
func (d *Daemon) serveProxied(w http.ResponseWriter, r *http.Request, host string) {
	p := d.sessionProxy.Load()
	if p == nil {
		d.errorPage(w, http.StatusNotFound, "", "Not found", "There is no app at this address.")
		return
	}
	p.ServeHTTP(w, r)
}

// createSession stores a new session for a monitored login and returns it
// with the cookie token.
func (d *Daemon) createSession(ctx context.Context, app *appRuntime, lg *login) (*store.Session, string, error) {
	id, secret := randomHex(12), randomHex(32)
	data, _ := json.Marshal(sessionData{SecretHash: hashToken(secret), Groups: lg.Identity.Groups, Email: lg.Identity.Email, DeviceCert: lg.Device.Subject})
	now := d.now()
	s := &store.Session{
		ID: id, App: app.app.Name, User: lg.Identity.User, Device: lg.Device.State, IP: lg.IP, UserAgent: lg.UserAgent,
		Data: data, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(d.config().Session.MaxLifetime),
	}
	if err := d.db.CreateSession(ctx, s); err != nil {
		return nil, "", err
	}
	return s, id + "." + secret, nil
}

// sessionCache keeps sessions read from the store for a moment, so that a
// page's many requests do not each read SQLite. Revocation through this casd
// clears it at once; sessionCacheTTL bounds how stale a session changed
// elsewhere (another node, later) can be.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

type cachedSession struct {
	s       *store.Session
	data    *sessionData
	fetched time.Time
	// secretHash is data.SecretHash as bytes and extra the proxy's view
	// of the session: made once per entry, not per request.
	secretHash []byte
	extra      *sessionExtra
}

func newCachedSession(s *store.Session, sd *sessionData, fetched time.Time) cachedSession {
	return cachedSession{s: s, data: sd, fetched: fetched, secretHash: []byte(sd.SecretHash), extra: &sessionExtra{s: s, data: sd}}
}

const sessionCacheTTL = 2 * time.Second

func (c *sessionCache) get(id string, now time.Time) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.fetched) > sessionCacheTTL || now.Before(e.fetched) {
		return cachedSession{}, false
	}
	return e, true
}

func (c *sessionCache) put(id string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100000 {
		c.m = map[string]cachedSession{}
	}
	c.m[id] = e
}

func (c *sessionCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// session returns a session by id, from the cache when fresh.
func (d *Daemon) session(ctx context.Context, id string) (*store.Session, *sessionData, error) {
	e, err := d.sessionEntry(ctx, id)
	return e.s, e.data, err
}

// sessionEntry returns a session's cache entry, read from the store when
// the cache has none that is fresh.
func (d *Daemon) sessionEntry(ctx context.Context, id string) (cachedSession, error) {
	now := d.now()
	if e, ok := d.sessions.get(id, now); ok {
		return e, nil
	}
	s, err := d.db.Session(ctx, id)
	if err != nil {
		return cachedSession{}, err
	}
	var sd sessionData
	if err := json.Unmarshal(s.Data, &sd); err != nil {
		return cachedSession{}, fmt.Errorf("session %s: %w", id, err)
	}
	e := newCachedSession(s, &sd, now)
	d.sessions.put(id, e)
	return e, nil
}

// sessionByToken returns the valid session a cookie token names.
func (d *Daemon) sessionByToken(ctx context.Context, token string) (*store.Session, *sessionData, bool, error) {
	e, ok, err := d.entryByToken(ctx, token)
	return e.s, e.data, ok, err
}

// entryByToken is sessionByToken with the session's cache entry.
func (d *Daemon) entryByToken(ctx context.Context, token string) (cachedSession, bool, error) {
	id, secret, ok := strings.Cut(token, ".")
	if !ok || len(id) != 24 || len(secret) != 64 {
		return cachedSession{}, false, nil
	}
	e, err := d.sessionEntry(ctx, id)
	if store.ErrorCode(err) == store.ENOTFOUND {
		return cachedSession{}, false, nil
	}
	if err != nil {
		return cachedSession{}, false, err
	}
	want := hashTokenHex(secret)
	if subtle.ConstantTimeCompare(e.secretHash, want[:]) != 1 {
		return cachedSession{}, false, nil
	}
	s := e.s
	now := d.now()
	if s.Revoked || !now.Before(s.ExpiresAt) || now.Sub(s.LastSeen) > d.config().Session.IdleTimeout {
		return cachedSession{}, false, nil
	}
	if now.Sub(s.LastSeen) > touchEvery {
		if err := d.db.TouchSession(ctx, id, now); err != nil {
			d.log.Warn("touch session", "err", err)
		}
		touched := *s
		touched.LastSeen = now
		d.sessions.put(id, newCachedSession(&touched, e.data, now))
	}
	return e, true, nil
}

// sessionStore adapts the daemon to session.Sessions.
type sessionStore Daemon

func (ss *sessionStore) Lookup(r *http.Request, cookie string) (session.Session, bool, error) {
	d := (*Daemon)(ss)
	e, ok, err := d.entryByToken(r.Context(), cookie)
	if !ok || err != nil {
		return session.Session{}, false, err
	}
	s, sd := e.s, e.data
	return session.Session{ID: s.ID, App: s.App, User: s.User, Groups: sd.Groups, Device: s.Device, Extra: e.extra}, true, nil
}

type sessionExtra struct {
	s    *store.Session
	data *sessionData
	// ua is the last user agent parsed for a decision on the session,
	// which is as a rule the one of all its requests.
	ua atomic.Pointer[parsedUA]
}

// parsedUA is a user agent as a policy set parsed it.
type parsedUA struct {
	set  *policy.Set
	ua   string
	info policy.UAInfo
}

// parseUA is set.ParseUA(ua), parsed once per session (and set) rather
// than for every decision, as policy.Context asks of its callers.
func parseUA(set *policy.Set, s session.Session, ua string) policy.UAInfo {
	x, ok := s.Extra.(*sessionExtra)
	if !ok {
		return set.ParseUA(ua)
	}
	if p := x.ua.Load(); p != nil && p.set == set && p.ua == ua {
		return p.info
	}
	info := set.ParseUA(ua)
	x.ua.Store(&parsedUA{set: set, ua: ua, info: info})
	return info
}

// startMonitoredSession completes a monitored login through session
// control: a new session, then a one-time hop onto the app's proxied ACS
// host, where the re-signed Response is delivered through the proxy.
func (d *Daemon) startMonitoredSession(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login, pc *policy.Context, ev *store.Event) bool {
	m := d.mapper.Load()
	acs, err := url.Parse(app.app.ACSURL)
	if m == nil || err != nil {
		return false
	}
	proxHost, ok := m.ToProxy(acs.Hostname())
	if !ok {
		d.log.Error("session control: the app's ACS host is not one of its domains", "app", app.app.Name, "acs", app.app.ACSURL)
		return false
	}
	xml, err := saml.BuildResponse(lg.Identity, saml.Target{
		EntityID: app.app.EntityID, ACSURL: app.app.ACSURL, InResponseTo: lg.AppRequestID,
		SignResponse: app.settings.SignResponse, SignAssertion: true,
	}, app.signer, app.idp.EntityID, d.now())
	if err != nil {
		d.log.Error("build response", "app", app.app.Name, "err", err)
		return false
	}
	s, token, err := d.createSession(r.Context(), app, lg)
	if err != nil {
		d.log.Error("create session", "app", app.app.Name, "err", err)
		return false
	}
	ev.SessionID = s.ID
	d.events.Append(*ev)
	relay := lg.RelayState
	if lg.ReturnTo != "" {
		// A login started by session control lands where the user was going.
		relay = ""
		if u, err := url.Parse(lg.ReturnTo); err == nil && len(u.RequestURI()) <= saml.MaxRelayState {
			relay = u.RequestURI()
		}
	}
	hostPort := d.hostWithPort(proxHost)
	h := handoff{
		Token: token, App: app.app.Name, Host: proxHost,
		ACS:      "https://" + hostPort + acs.RequestURI(),
		Response: base64.StdEncoding.EncodeToString(xml), RelayState: relay,
	}
	http.SetCookie(w, &http.Cookie{Name: portalAppCookie + app.app.Name, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(d.config().Session.MaxLifetime.Seconds())})
	d.redirectHandoff(w, r, h)
	return true
}

// hostWithPort adds the public port when it is not 443.
func (d *Daemon) hostWithPort(host string) string {
	return strings.TrimPrefix(d.hostURL(host), "https://")
}

// redirectHandoff stores h under a one-time code and sends the browser to
// the proxied host to redeem it.
func (d *Daemon) redirectHandoff(w http.ResponseWriter, r *http.Request, h handoff) {
	code := randomHex(32)
	data, _ := json.Marshal(h)
	if err := d.db.PutTicket(r.Context(), ticketHandoff, hashToken(code), data, d.now().Add(handoffTTL)); err != nil {
		d.errorPage(w, http.StatusInternalServerError, h.App, "Sign-in failed", "The session could not be started. Try again.")
		d.log.Error("handoff ticket", "err", err)
		return
	}
	securityHeaders(w)
	http.Redirect(w, r, "https://"+d.hostWithPort(h.Host)+session.ReservedPrefix+"handoff?code="+code, http.StatusSeeOther)
}

// serveReserved serves casd's own paths on proxied hosts.
func (d *Daemon) serveReserved(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	switch r.URL.Path {
	case session.ReservedPrefix + "handoff":
		d.redeemHandoff(w, r)
	default:
		d.errorPage(w, http.StatusNotFound, "", "Not found", "There is nothing at this address.")
	}
}

// redeemHandoff exchanges a one-time code for the session cookie of this
// host, then shows the monitored-session notice (or posts on at once) or
// goes where the hop was headed.
func (d *Daemon) redeemHandoff(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	host := strings.ToLower(r.Host)
	if h, _, err := splitHostPort(host); err == nil {
		host = h
	}
	data, err := d.db.TakeTicket(r.Context(), ticketHandoff, hashToken(code))
	var h handoff
	if err != nil || json.Unmarshal(data, &h) != nil || h.Host != host {
		d.errorPage(w, http.StatusBadRequest, "", "Link expired", "This sign-in link has expired or was already used. Open the app again from your identity provider.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: session.DefaultSessionCookie, Value: h.Token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if h.Response == "" {
		http.Redirect(w, r, h.To, http.StatusSeeOther)
		return
	}
	fields := map[string]string{"SAMLResponse": h.Response}
	if h.RelayState != "" {
		fields["RelayState"] = h.RelayState
	}
	rt := d.app(h.App)
	notice := ""
	name := h.App
	if rt != nil {
		name = rt.displayNm
		notice = fmt.Sprintf(defaultNotice, name)
		if rt.settings.MonitorNotice != nil {
			notice = *rt.settings.MonitorNotice
		}
	}
	if notice == "" {
		writeAutoPost(w, h.ACS, fields)
		return
	}
	renderPage(w, page{Kind: "notice", Badge: "Monitored", Title: "Your access to " + name + " is monitored", Message: notice, App: name, Action: h.ACS, Button: "Continue", Fields: fields})
}

func splitHostPort(hp string) (string, string, error) {
	u := &url.URL{Host: hp}
	if u.Port() == "" {
		return hp, "", fmt.Errorf("no port")
	}
	return u.Hostname(), u.Port(), nil
}

// noSession serves a proxied request without a valid session: a page
// navigation hops through the portal (which holds the app's session, or
// starts a login); anything else is refused.
func (d *Daemon) noSession(w http.ResponseWriter, r *http.Request, app string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "Your session has ended. Reload the page to sign in again.\n")
		return
	}
	to := "https://" + r.Host + r.URL.RequestURI()
	securityHeaders(w)
	http.Redirect(w, r, d.portalURL()+"/saml/"+url.PathEscape(app)+"/hop?to="+url.QueryEscape(to), http.StatusSeeOther)
}

// hop, on the portal, continues a session onto another host of its app, or
// starts an SP-initiated login that returns to the page asked for.
func (d *Daemon) hop(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app")
	app := d.app(name)
	m := d.mapper.Load()
	to, err := url.Parse(r.URL.Query().Get("to"))
	if app == nil || m == nil || err != nil || to.Scheme != "https" {
		d.errorPage(w, http.StatusBadRequest, "", "Invalid link", "This link is not valid.")
		return
	}
	// Only hosts of this app under the suffix: never an open redirect.
	toHost := strings.ToLower(to.Hostname())
	if _, a, ok := m.ToUpstream(toHost); !ok || a != name {
		d.errorPage(w, http.StatusBadRequest, app.displayNm, "Invalid link", "This link is not valid.")
		return
	}
	if c, err := r.Cookie(portalAppCookie + name); err == nil {
		if s, _, ok, err := d.sessionByToken(r.Context(), c.Value); err == nil && ok && s.App == name {
			d.redirectHandoff(w, r, handoff{Token: c.Value, App: name, Host: toHost, To: to.String()})
			return
		}
	}
	d.relayToIdP(w, r, app, authnState{App: name, ReturnTo: to.String()}, nil)
}

// sessionDecider adapts the policy set to session.Decider.
type sessionDecider Daemon

func (sd *sessionDecider) Decide(ctx context.Context, s session.Session, req *http.Request, a session.Activity) (session.Decision, error) {
	d := (*Daemon)(sd)
	ps := d.policies.Load()
	pc := d.sessionContext(ps.set, s, req, a)
	if ps.set.NeedsContent(pc) {
		// Inspection decides; the fallback is what the policies say of
		// content too large to scan.
		tooLarge := *pc
		tooLarge.Content = &policy.ContentHits{TooLarge: true}
		fb, err := d.toSessionDecision(ps.set.Decide(&tooLarge))
		if err != nil {
			return session.Decision{}, err
		}
		return session.Decision{Action: session.ActionAllow, Inspect: true, Fallback: fb.Action, Message: fb.Message, Recipients: fb.Recipients, Policies: fb.Policies}, nil
	}
	return d.toSessionDecision(ps.set.Decide(pc))
}

// sessionContext builds the policy context of an activity.
func (d *Daemon) sessionContext(set *policy.Set, s session.Session, req *http.Request, a session.Activity) *policy.Context {
	ip := d.sourceIP(req)
	c := &policy.Context{
		Kind: policy.KindSession, App: s.App, User: s.User, Groups: s.Groups, IP: ip, Country: d.geo.country(ip),
		UserAgent: req.UserAgent(), UA: parseUA(set, s, req.UserAgent()), Device: policy.DeviceState(s.Device),
		Activity: string(a.Kind),
	}
	if x, ok := s.Extra.(*sessionExtra); ok {
		c.Email = x.data.Email
	}
	if a.FileName != "" || a.MIME != "" || a.Size >= 0 {
		c.File = &policy.FileInfo{Name: a.FileName, Ext: strings.TrimPrefix(strings.ToLower(path.Ext(a.FileName)), "."), Size: a.Size, MIME: a.MIME}
	}
	return c
}

// toSessionDecision maps a policy decision to the proxy's.
func (d *Daemon) toSessionDecision(dec policy.Decision) (session.Decision, error) {
	out := session.Decision{Message: dec.Message}
	for _, m := range dec.Matches {
		name := m.Policy
		if m.LogOnly {
			name += " (" + m.WouldAction + ")"
		}
		out.Policies = append(out.Policies, name)
	}
	switch dec.Action {
	case policy.ActionBlock:
		out.Action = session.ActionBlock
		if out.Message == "" {
			out.Message = "Your organisation's policy does not allow this."
		}
	case policy.ActionProtect:
		out.Action = session.ActionProtect
		for _, r := range dec.Recipients {
			rec, err := age.ParseX25519Recipient(r)
			if err != nil {
				return session.Decision{}, fmt.Errorf("policy %s: protect recipient: %w", dec.Policy, err)
			}
			out.Recipients = append(out.Recipients, rec)
		}
	default:
		out.Action = session.ActionAllow
		if len(dec.Matches) > 0 {
			out.Action = session.ActionLog
		}
	}
	return out, nil
}

// scanContent inspects a spooled body and decides again with the hits.
func (d *Daemon) scanContent(ctx context.Context, s session.Session, a session.Activity, body io.ReaderAt, size int64) (session.Decision, map[string]int, error) {
	ps := d.policies.Load()
	hits, err := policy.ScanReader(io.NewSectionReader(body, 0, size), ps.set.Detectors())
	if err != nil {
		return session.Decision{}, nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if x, ok := s.Extra.(*sessionExtra); ok {
		req.RemoteAddr = x.s.IP + ":0"
		if ip, err := netip.ParseAddr(x.s.IP); err == nil && ip.Is6() {
			req.RemoteAddr = "[" + x.s.IP + "]:0"
		}
		req.Header.Set("User-Agent", x.s.UserAgent)
	}
	pc := d.sessionContext(ps.set, s, req, a)
	pc.Content = &hits
	dec, err := d.toSessionDecision(ps.set.Decide(pc))
	return dec, hits.Counts, err
}

// sessionEvents records activities as events.
type sessionEvents Daemon

func (se *sessionEvents) Record(ctx context.Context, e session.Event) {
	d := (*Daemon)(se)
	switch views := d.config().Events.Views; {
	case e.Activity.Kind == session.KindView && views == "none":
		return
	case e.Activity.Kind == session.KindOther && views != "all":
		return
	}
	db, _ := json.Marshal(activityDetails{Hits: e.Hits, Host: e.Host, Method: e.Method, MIME: e.Activity.MIME, Path: e.Path, Status: e.Status})
	obj := e.Activity.FileName
	if obj == "" {
		obj = e.Path
	}
	bytes := e.Activity.Size
	if bytes < 0 {
		bytes = 0
	}
	ev := store.Event{
		Time: e.Time, Kind: "activity", App: e.App, User: e.User, SessionID: e.SessionID,
		Action: string(e.Activity.Kind), Decision: string(e.Action), Policies: e.Policies,
		Reason: e.Reason, Object: obj, Bytes: bytes, Details: db,
	}
	if s, _, err := d.session(ctx, e.SessionID); err == nil {
		ev.SourceIP, ev.UserAgent, ev.Device = s.IP, s.UserAgent, s.Device
	}
	d.events.Append(ev)
}

// activityDetails is an activity event's details. Its fields are in the
// order of their names, so it encodes as the map of them it replaced did
// (json sorts a map's keys), without the map.
type activityDetails struct {
	Hits   map[string]int `json:"hits,omitempty"`
	Host   string         `json:"host"`
	Method string         `json:"method"`
	MIME   string         `json:"mime,omitempty"`
	Path   string         `json:"path"`
	Status int            `json:"status"`
}

// sessionBlockPage shows a blocked page view or form upload inside a
// monitored session.
func (d *Daemon) sessionBlockPage(w http.ResponseWriter, r *http.Request, app, msg string) {
	name := app
	if rt := d.app(app); rt != nil {
		name = rt.displayNm
	}
	if msg == "" {
		msg = "Your organisation's policy does not allow this."
	}
	ref := newRef()
	d.log.Info("session: blocked", "app", app, "host", r.Host, "path", r.URL.Path, "ref", ref)
	renderPage(w, page{Status: http.StatusForbidden, Kind: "block", Badge: "Blocked", Title: "Blocked by your organisation", Message: msg, App: name, Ref: ref})
}

// sessionJars holds the server-side cookie jars of sessions under flat host
// mapping, in memory: after a restart an app may ask a sibling host to sign
// in again, which single sign-on answers.
type sessionJars struct {
	mu sync.Mutex
	m  map[string]*jarEntry
}

type jarEntry struct {
	jar  http.CookieJar
	used time.Time
}

// cookieJar returns the proxy's jar hook: per session under flat mapping,
// none under suffix mapping (the browser's own cookies span the hosts).
func (d *Daemon) cookieJar(mapping string) func(session.Session) http.CookieJar {
	if mapping != "flat" {
		return nil
	}
	return func(s session.Session) http.CookieJar {
		now := d.now()
		j := &d.jars
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.m == nil {
			j.m = map[string]*jarEntry{}
		}
		e := j.m[s.ID]
		if e == nil {
			if len(j.m) >= 1024 {
				idle := d.config().Session.IdleTimeout
				for id, old := range j.m {
					if now.Sub(old.used) > idle {
						delete(j.m, id)
					}
				}
			}
			jar, _ := cookiejar.New(nil) // app domains are checked by the mapper, not a suffix list
			e = &jarEntry{jar: jar}
			j.m[s.ID] = e
		}
		e.used = now
		return e.jar
	}
}
