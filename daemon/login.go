package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
)

// The browser-binding cookie ties the steps of one login to one browser:
// an SP-initiated request to its Response, a parked login to its device
// check. SameSite=None because the IdP's POST to the ACS is cross-site.
const browserCookie = "__Host-cas_login"

// Ticket kinds in the store.
const (
	ticketAuthn   = "authn"   // an AuthnRequest the proxy sent to the IdP
	ticketPending = "pending" // a validated login waiting for its device check
)

const (
	authnTTL   = 10 * time.Minute
	pendingTTL = 2 * time.Minute
)

func (d *Daemon) addSAMLRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /saml/{app}/acs", d.acs)
	mux.HandleFunc("GET /saml/{app}/sso", d.sso)
	mux.HandleFunc("POST /saml/{app}/sso", d.sso)
	mux.HandleFunc("GET /saml/{app}/finish", d.finishAfterDevice)
	mux.HandleFunc("GET /saml/{app}/hop", d.hop)
}

// browserID returns the hash of this browser's binding cookie, setting a new
// cookie when there is none. Only the hash is stored.
func (d *Daemon) browserID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) == 64 {
		return hashToken(c.Value)
	}
	var b [32]byte
	rand.Read(b[:])
	v := hex.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: v, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
	return hashToken(v)
}

// existingBrowserID is browserID without setting a cookie: "" when absent.
func existingBrowserID(r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) == 64 {
		return hashToken(c.Value)
	}
	return ""
}

func hashToken(s string) string {
	h := hashTokenHex(s)
	return string(h[:])
}

// hashTokenHex is hashToken without allocating, for the proxy's
// per-request session check.
func hashTokenHex(s string) [2 * sha256.Size]byte {
	var in [64]byte // a session secret's size: hashed from the stack
	var b []byte
	if len(s) <= len(in) {
		b = in[:copy(in[:], s)]
	} else {
		b = []byte(s)
	}
	var h [2 * sha256.Size]byte
	sum := sha256.Sum256(b)
	hex.Encode(h[:], sum[:])
	return h
}

// authnState is what the proxy remembers of an AuthnRequest it relayed.
type authnState struct {
	Browser      string `json:"browser"`
	App          string `json:"app"`
	AppRequestID string `json:"app_request_id,omitempty"`
	RelayState   string `json:"relay_state,omitempty"`
	// ReturnTo is the proxied URL to land on, for logins started by session
	// control rather than by the app.
	ReturnTo string `json:"return_to,omitempty"`
}

// ticketTracker is the RequestTracker of one ACS request: the AuthnRequest
// IDs this browser started through the proxy for this app.
type ticketTracker struct {
	d       *Daemon
	app     string
	browser string
	taken   *authnState
}

func (t *ticketTracker) Take(ctx context.Context, id string) (bool, error) {
	data, err := t.d.db.TakeTicket(ctx, ticketAuthn, id)
	if store.ErrorCode(err) == store.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var st authnState
	if err := json.Unmarshal(data, &st); err != nil {
		return false, nil
	}
	// Single use is guaranteed by TakeTicket; the request must also have
	// been started by this browser, for this app.
	if t.browser == "" || st.Browser != t.browser || st.App != t.app {
		return false, nil
	}
	t.taken = &st
	return true, nil
}

// sso relays an app's AuthnRequest to the IdP, remembering it for this
// browser.
func (d *Daemon) sso(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app")
	app := d.app(name)
	if app == nil {
		d.errorPage(w, http.StatusNotFound, "", "Unknown app", "This sign-in address is not configured.")
		return
	}
	req, err := saml.ParseAuthnRequest(r)
	if err != nil {
		d.loginRefused(w, r, app, nil, saml.ReasonOf(err), err)
		return
	}
	if req.Issuer != "" && req.Issuer != app.app.EntityID {
		d.loginRefused(w, r, app, nil, saml.ReasonIssuerMismatch, fmt.Errorf("AuthnRequest issuer %q is not the app's entity ID %q", req.Issuer, app.app.EntityID))
		return
	}
	if req.ACSURL != "" && req.ACSURL != app.app.ACSURL {
		d.loginRefused(w, r, app, nil, "acs_mismatch", fmt.Errorf("AuthnRequest asks for ACS %q, the app's is %q", req.ACSURL, app.app.ACSURL))
		return
	}
	d.relayToIdP(w, r, app, authnState{App: name, AppRequestID: req.ID, RelayState: req.RelayState}, req)
}

// relayToIdP sends the browser to the IdP with the proxy's own AuthnRequest.
func (d *Daemon) relayToIdP(w http.ResponseWriter, r *http.Request, app *appRuntime, st authnState, from *saml.AuthnRequest) {
	if app.idpSSO.Location == "" {
		d.loginRefused(w, r, app, nil, "idp_has_no_sso", fmt.Errorf("idp %s has no SSO endpoint", app.idp.Name))
		return
	}
	var signer *saml.Signer
	if app.settings.SignRequests {
		s := app.signer
		signer = &s
	}
	out, err := saml.NewAuthnRequest(app.idpSSO, app.app.EntityID, d.proxyACSURL(app.app.Name), signer, "", d.now(), from)
	if err != nil {
		d.loginRefused(w, r, app, nil, saml.ReasonInternal, err)
		return
	}
	st.Browser = d.browserID(w, r)
	data, _ := json.Marshal(st)
	if err := d.db.PutTicket(r.Context(), ticketAuthn, out.ID, data, d.now().Add(authnTTL)); err != nil {
		d.loginRefused(w, r, app, nil, saml.ReasonInternal, err)
		return
	}
	if out.Form != nil {
		writeAutoPost(w, out.URL, out.Form)
		return
	}
	securityHeaders(w)
	http.Redirect(w, r, out.URL, http.StatusSeeOther)
}

// writeAutoPost writes an auto-submitting form with a CSP that allows only
// its own nonce'd script and a post to the action's origin.
func writeAutoPost(w http.ResponseWriter, action string, fields map[string]string) {
	nonce := newNonce()
	formAction := "'self'"
	if u, err := url.Parse(action); err == nil && u.Host != "" {
		formAction = u.Scheme + "://" + u.Host
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	securityHeaders(w)
	w.WriteHeader(http.StatusOK)
	w.Write(saml.AutoPostForm(action, fields, nonce))
}

// sourceIP is the client's address: the connection's peer, or, when that
// peer is a trusted proxy, the rightmost untrusted X-Forwarded-For entry.
func (d *Daemon) sourceIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	trusted := d.config().trusted
	if !inPrefixes(ip, trusted) {
		return ip
	}
	xff := r.Header.Values("X-Forwarded-For")
	var hops []string
	for _, v := range xff {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return ip
		}
		a = a.Unmap()
		if !inPrefixes(a, trusted) {
			return a
		}
		ip = a
	}
	return ip
}

func inPrefixes(ip netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// acs receives the IdP's Response: validate, decide, deliver.
func (d *Daemon) acs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app")
	app := d.app(name)
	if app == nil {
		d.errorPage(w, http.StatusNotFound, "", "Unknown app", "This sign-in address is not configured.")
		return
	}
	form, err := saml.ReadACSForm(r)
	if err != nil {
		d.loginRefused(w, r, app, nil, saml.ReasonOf(err), err)
		return
	}
	cfg := d.config()
	tracker := &ticketTracker{d: d, app: name, browser: existingBrowserID(r)}
	v := saml.ResponseValidator{
		IdPEntityID:            app.idp.EntityID,
		IdPCerts:               app.idpCerts,
		SPEntityID:             app.app.EntityID,
		ACSURL:                 d.proxyACSURL(name),
		AllowIdPInitiated:      app.settings.IdPInitiated,
		RequireSignedAssertion: app.settings.RequireSignedAssertion,
		MaxSkew:                cfg.SAML.MaxSkew,
		Now:                    d.now,
		Replay:                 d.db,
		Requests:               tracker,
		EmailAttr:              app.idp.EmailAttr,
		GroupsAttrs:            app.idp.GroupsAttrs,
	}
	id, err := v.Validate(r.Context(), form)
	if err != nil {
		d.loginRefused(w, r, app, nil, saml.ReasonOf(err), err)
		return
	}
	lg := &login{App: name, Identity: id, IP: d.sourceIP(r).String(), UserAgent: r.UserAgent(), Device: deviceUnchecked()}
	if tracker.taken != nil {
		lg.AppRequestID, lg.RelayState, lg.ReturnTo = tracker.taken.AppRequestID, tracker.taken.RelayState, tracker.taken.ReturnTo
	} else {
		lg.RelayState = id.RelayState
	}
	if ps := d.policies.Load(); ps != nil && ps.set.NeedsDevice(name) {
		d.parkForDevice(w, r, app, lg)
		return
	}
	d.decideLogin(w, r, app, lg)
}

// login is a validated login on its way to a decision; it is what a parked
// login keeps while the device is checked.
type login struct {
	App          string         `json:"app"`
	Identity     *saml.Identity `json:"identity"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"user_agent"`
	AppRequestID string         `json:"app_request_id,omitempty"`
	RelayState   string         `json:"relay_state,omitempty"`
	ReturnTo     string         `json:"return_to,omitempty"`
	Device       deviceResult   `json:"device"`
	Browser      string         `json:"browser,omitempty"`
}

// accessContext builds the policy context of a login.
func (d *Daemon) accessContext(set *policy.Set, lg *login) *policy.Context {
	ip, _ := netip.ParseAddr(lg.IP)
	c := &policy.Context{
		Kind:      policy.KindAccess,
		App:       lg.App,
		User:      lg.Identity.User,
		Email:     lg.Identity.Email,
		Groups:    lg.Identity.Groups,
		IP:        ip,
		Country:   d.geo.country(ip),
		UserAgent: lg.UserAgent,
		UA:        set.ParseUA(lg.UserAgent),
		Device:    policy.DeviceState(lg.Device.State),
	}
	if lg.Device.Subject != "" || lg.Device.SHA256 != "" {
		c.Cert = &policy.CertInfo{Subject: lg.Device.Subject, Issuer: lg.Device.Issuer, Serial: lg.Device.Serial, SHA256: lg.Device.SHA256}
	}
	return c
}

// decideLogin evaluates the access policies and acts on the decision.
func (d *Daemon) decideLogin(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login) {
	ps := d.policies.Load()
	pc := d.accessContext(ps.set, lg)
	dec := ps.set.Decide(pc)
	ref := newRef()
	ev := d.loginEvent(r, app, lg, pc, dec, ref)
	switch dec.Action {
	case policy.ActionBlock:
		d.events.Append(ev)
		msg := "Your organisation's policy does not allow this sign-in."
		if m := dec.Message; m != "" {
			msg = m
		}
		renderPage(w, page{Status: http.StatusForbidden, Kind: "block", Badge: "Blocked", Title: "Access to " + app.displayNm + " is blocked", Message: msg, App: app.displayNm, Ref: ref})
	case policy.ActionMonitor:
		if d.startMonitoredSession(w, r, app, lg, pc, &ev) {
			return
		}
		// The policy wants the session watched and casd cannot: fail
		// closed rather than let the user in unmonitored.
		ev.Decision, ev.Reason = string(policy.ActionBlock), "session_control_failed: "+dec.Reason
		d.events.Append(ev)
		renderPage(w, page{Status: http.StatusServiceUnavailable, Kind: "error", Badge: "Error", Title: "Sign-in could not be completed", Message: "Your organisation monitors " + app.displayNm + ", and the monitored session could not be started. Try again; if it keeps failing, quote the reference below to your administrator.", App: app.displayNm, Ref: ref})
	default:
		d.events.Append(ev)
		d.deliver(w, r, app, lg, app.app.ACSURL)
	}
}

// loginEvent describes a decided login.
func (d *Daemon) loginEvent(r *http.Request, app *appRuntime, lg *login, pc *policy.Context, dec policy.Decision, ref string) store.Event {
	names := make([]string, 0, len(dec.Matches))
	var matches []map[string]any
	for _, m := range dec.Matches {
		names = append(names, m.Policy)
		mm := map[string]any{"policy": m.Policy, "action": m.Action, "log_only": m.LogOnly}
		if m.LogOnly {
			mm["would"] = m.WouldAction
		}
		matches = append(matches, mm)
	}
	details := map[string]any{
		"ref":       ref,
		"idp":       app.idp.Name,
		"groups":    lg.Identity.Groups,
		"country":   pc.Country,
		"ua_tags":   pc.UA.Tags.Strings(),
		"client":    pc.UA.ClientApp,
		"device":    lg.Device,
		"matches":   matches,
		"default":   dec.Default,
		"initiated": map[bool]string{true: "sp", false: "idp"}[lg.AppRequestID != "" || lg.ReturnTo != ""],
	}
	db, _ := json.Marshal(details)
	return store.Event{
		Time: d.now(), Kind: "login", App: app.app.Name, User: lg.Identity.User, SourceIP: lg.IP,
		UserAgent: lg.UserAgent, Device: lg.Device.State, Action: "login", Decision: string(dec.Action),
		Policies: names, Reason: dec.Reason, Details: db,
	}
}

// deliver re-signs the login for the app and posts it to acsURL.
func (d *Daemon) deliver(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login, acsURL string) {
	xml, err := saml.BuildResponse(lg.Identity, saml.Target{
		EntityID:      app.app.EntityID,
		ACSURL:        app.app.ACSURL,
		InResponseTo:  lg.AppRequestID,
		SignResponse:  app.settings.SignResponse,
		SignAssertion: true,
	}, app.signer, app.idp.EntityID, d.now())
	if err != nil {
		ref := d.errorPage(w, http.StatusInternalServerError, app.displayNm, "Sign-in failed", "The sign-in could not be completed. Quote the reference below to your administrator.")
		d.log.Error("build response", "app", app.app.Name, "ref", ref, "err", err)
		return
	}
	fields := map[string]string{"SAMLResponse": base64.StdEncoding.EncodeToString(xml)}
	if lg.RelayState != "" {
		fields["RelayState"] = lg.RelayState
	}
	writeAutoPost(w, acsURL, fields)
}

// loginRefused shows the user a plain error with a reference id, records a
// login event with the reason code, and logs the detail (never the
// assertion).
func (d *Daemon) loginRefused(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login, reason string, err error) {
	if reason == "" {
		reason = saml.ReasonInternal
	}
	ref := d.errorPage(w, http.StatusBadRequest, app.displayNm, "Sign-in refused", "The sign-in to "+app.displayNm+" could not be accepted. Quote the reference below to your administrator.")
	d.log.Warn("login refused", "app", app.app.Name, "reason", reason, "ref", ref, "err", err)
	ev := store.Event{
		Time: d.now(), Kind: "login", App: app.app.Name, SourceIP: d.sourceIP(r).String(), UserAgent: r.UserAgent(),
		Action: "login", Decision: "block", Reason: reason,
	}
	details := map[string]any{"ref": ref, "idp": app.idp.Name, "stage": "validate"}
	if lg != nil {
		ev.User = lg.Identity.User
	}
	ev.Details, _ = json.Marshal(details)
	d.events.Append(ev)
}
