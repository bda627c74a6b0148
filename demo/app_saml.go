package demo

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// The app's SAML service provider: SP-initiated login with a short
// RelayState, the ACS, and where to go after it.

// serviceProvider returns crewjam's ServiceProvider for one request, with
// the injected clock at that moment.
func (a *App) serviceProvider(acs string, idp *saml.EntityDescriptor) *saml.ServiceProvider {
	acsURL, _ := url.Parse(acs)
	return &saml.ServiceProvider{
		EntityID:              a.EntityID(),
		AcsURL:                *acsURL,
		IDPMetadata:           idp,
		AllowIDPInitiated:     true,
		AuthnNameIDFormat:     saml.UnspecifiedNameIDFormat,
		Clock:                 dsig.NewFakeClockAt(a.now()),
		ReplayCache:           a.replay,
		LimitRelayStateLength: true,
		RejectSHA1Signatures:  true,
	}
}

// startLogin sends the browser to the IdP with an AuthnRequest; the
// RelayState is a short token standing for returnURL.
func (a *App) startLogin(w http.ResponseWriter, r *http.Request, returnURL string) {
	idp := a.idpMetadata()
	if idp == nil {
		a.renderError(w, r, http.StatusServiceUnavailable, "Single sign-on is not configured", "This org has no identity provider yet.")
		return
	}
	sp := a.serviceProvider(a.ACSURL(), idp)
	ssoURL := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	req, err := sp.MakeAuthenticationRequest(ssoURL, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		a.log.Error("demo app: make AuthnRequest", "err", err)
		a.renderError(w, r, http.StatusInternalServerError, "Single sign-on failed", "The sign-in request could not be made.")
		return
	}
	relay := a.relays.put(relayEntry{returnURL: returnURL, requestID: req.ID})
	u, err := req.Redirect(relay, sp)
	if err != nil {
		a.relays.remove(relay)
		a.log.Error("demo app: encode AuthnRequest", "err", err)
		a.renderError(w, r, http.StatusInternalServerError, "Single sign-on failed", "The sign-in request could not be made.")
		return
	}
	a.log.Info("demo app: SP-initiated login", "return", returnURL)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// serveACS consumes a SAML Response (HTTP-POST binding only), starts a
// session and sends the browser on.
func (a *App) serveACS(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.renderError(w, r, http.StatusBadRequest, "Single sign-on failed", "The sign-in response could not be read.")
		return
	}
	f := r.PostForm
	if f.Has("SAMLart") || f.Has("SigAlg") || f.Has("Signature") || f.Get("SAMLResponse") == "" {
		a.renderError(w, r, http.StatusBadRequest, "Single sign-on failed", "Only the HTTP-POST binding is supported.")
		return
	}
	idp := a.idpMetadata()
	if idp == nil {
		a.renderError(w, r, http.StatusServiceUnavailable, "Single sign-on is not configured", "This org has no identity provider yet.")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(f.Get("SAMLResponse"))
	if err != nil {
		a.renderError(w, r, http.StatusBadRequest, "Single sign-on failed", "The sign-in response could not be read.")
		return
	}
	relay := f.Get("RelayState")
	var ids []string
	target := ""
	if e, ok := a.relays.take(relay); ok {
		ids, target = []string{e.requestID}, e.returnURL
	} else {
		target = a.relayTarget(relay)
	}
	assertion, err := a.validate(raw, ids, idp)
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
		a.log.Warn("demo app: SAML Response refused", "err", err)
		a.renderError(w, r, http.StatusForbidden, "Single sign-on failed", "The identity provider's response was not accepted.")
		return
	}
	s := sessionFromAssertion(assertion)
	token := a.sessions.put(s)
	h := w.Header()
	// Written by hand: Salesforce's cookie has the leading dot that
	// net/http would drop.
	h.Add("Set-Cookie", sessionCookie+"="+token+"; Domain=."+a.domain+"; Path=/; Secure; HttpOnly; SameSite=None")
	if c, err := r.Cookie("BrowserId"); err != nil || c.Value == "" {
		h.Add("Set-Cookie", "BrowserId="+randomID(16)+"; Path=/; Max-Age=31536000; Secure; SameSite=None")
	}
	h.Set("Cache-Control", "no-store")
	a.log.Info("demo app: signed in", "user", s.email, "groups", s.groups)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (a *App) validate(raw []byte, ids []string, idp *saml.EntityDescriptor) (*saml.Assertion, error) {
	var first error
	for _, acs := range a.acsURLs() {
		sp := a.serviceProvider(acs, idp)
		assertion, err := sp.ParseXMLResponse(raw, ids, sp.AcsURL)
		if err == nil {
			return assertion, nil
		}
		if first == nil {
			first = err
		}
		if !errors.Is(err, saml.ErrDestinationMismatch) {
			break
		}
	}
	return nil, first
}

func sessionFromAssertion(as *saml.Assertion) appSession {
	s := appSession{}
	if as.Subject != nil && as.Subject.NameID != nil {
		s.nameID = as.Subject.NameID.Value
	}
	for _, st := range as.AttributeStatements {
		for _, at := range st.Attributes {
			var vals []string
			for _, v := range at.Values {
				vals = append(vals, v.Value)
			}
			switch at.Name {
			case "email":
				if len(vals) > 0 {
					s.email = vals[0]
				}
			case "displayName":
				if len(vals) > 0 {
					s.displayName = vals[0]
				}
			case "groups":
				s.groups = vals
			}
		}
	}
	if s.email == "" {
		s.email = s.nameID
	}
	if s.displayName == "" {
		s.displayName = s.email
	}
	return s
}

// relayTarget turns an IdP-initiated RelayState into where to go: a path
// on the app (Lightning paths on the Lightning host, file paths on the file
// host) or a URL on one of its hosts; anything else means home.
func (a *App) relayTarget(relay string) string {
	if strings.HasPrefix(relay, "/") && !strings.HasPrefix(relay, "//") && !strings.HasPrefix(relay, "/\\") {
		u, err := url.Parse(relay)
		if err != nil || u.Host != "" || u.Scheme != "" {
			return a.HomeURL()
		}
		return a.urlForPath(u.RequestURI())
	}
	if u, err := url.Parse(relay); err == nil && u.Scheme == "https" && a.isAppHost(u.Hostname()) {
		return a.base(strings.ToLower(u.Hostname())) + u.RequestURI()
	}
	return a.HomeURL()
}

func (a *App) urlForPath(requestURI string) string {
	switch {
	case strings.HasPrefix(requestURI, "/lightning/"):
		return a.base(a.lightHost) + requestURI
	case strings.HasPrefix(requestURI, "/sfc/"):
		return a.base(a.fileHost) + requestURI
	}
	return a.base(a.myHost) + requestURI
}

func (a *App) isAppHost(host string) bool {
	return slices.Contains(a.Hosts(), strings.ToLower(strings.TrimSuffix(host, ".")))
}

// replayCache records assertion IDs until they expire, so a captured
// Response cannot be posted twice.
type replayCache struct {
	now      func() time.Time
	capacity int

	mu      sync.Mutex
	entries map[string]time.Time
}

func newReplayCache(now func() time.Time, capacity int) *replayCache {
	return &replayCache{now: now, capacity: capacity, entries: make(map[string]time.Time)}
}

// Consume implements saml.AssertionReplayCache.
func (c *replayCache) Consume(id string, expiresAt time.Time) error {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.entries[id]; ok && now.Before(exp) {
		return saml.ErrAssertionReplayed
	}
	if len(c.entries) >= c.capacity {
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.capacity {
			return errors.New("replay cache full")
		}
	}
	c.entries[id] = expiresAt
	return nil
}
