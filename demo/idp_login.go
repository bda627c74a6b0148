package demo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"

	"github.com/crewjam/saml"
)

// The IdP's pages and its SessionProvider: the login form, the session
// cookie, the portal and sign-out.

func (p *IdP) serveSSO(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	p.provider().ServeSSO(w, r)
}

func (p *IdP) serveIdPInitiated(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	sp := r.URL.Query().Get("sp")
	if sp == "" {
		renderPage(w, http.StatusBadRequest, idpErrorPage, pageData{Title: "Sign-in error", Message: "No application named."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	p.provider().ServeIDPInitiated(w, r, sp, r.URL.Query().Get("RelayState"))
}

// getSession is the SessionProvider: the signed-in user's session, or nil
// after showing the login form (again, with an error, after a wrong
// password).
func (p *IdP) getSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	force := req.Request.ForceAuthn != nil && *req.Request.ForceAuthn
	if s, ok := p.currentSession(r); ok && !force {
		return s.samlSession()
	}
	var form loginForm
	if r.URL.Path == "/sso" {
		form.Action = p.SSOURL()
		form.SAMLRequest = base64.StdEncoding.EncodeToString(req.RequestBuffer)
		form.RelayState = req.RelayState
	} else {
		form.Action = p.url(r.URL.Path) + "?" + r.URL.RawQuery
	}
	if r.Method == http.MethodPost && r.PostFormValue("username") != "" {
		s, ok := p.login(w, r)
		if ok {
			return s.samlSession()
		}
		form.Error = true
		form.Username = r.PostFormValue("username")
	} else if req.Request.IsPassive != nil && *req.Request.IsPassive {
		err := req.IDP.SendErrorResponse(w, req, &saml.StatusError{TopLevel: saml.StatusResponder, SecondLevel: saml.StatusNoPassive})
		if err != nil {
			p.onSAMLError(w, r, http.StatusInternalServerError, err)
		}
		return nil
	}
	p.renderLogin(w, form)
	return nil
}

func (s idpSession) samlSession() *saml.Session {
	return &saml.Session{
		ID:             s.index,
		CreateTime:     s.created,
		ExpireTime:     s.created.Add(idpSessionLife),
		Index:          s.index,
		NameID:         s.user.Email,
		NameIDFormat:   string(saml.EmailAddressNameIDFormat),
		UserName:       s.user.Name,
		UserEmail:      s.user.Email,
		UserCommonName: s.user.DisplayName,
		Groups:         slices.Clone(s.user.Groups),
	}
}

// login checks the posted user name and password and, when they match,
// starts a session and sets its cookie.
func (p *IdP) login(w http.ResponseWriter, r *http.Request) (idpSession, bool) {
	name := r.PostFormValue("username")
	u, ok := p.users[name]
	// Compare digests so that neither the length nor the content of the
	// password shows in the timing; unknown users cost the same.
	want := sha256.Sum256([]byte(u.Password))
	got := sha256.Sum256([]byte(r.PostFormValue("password")))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !ok {
		p.log.Info("demo idp: wrong user name or password", "user", name)
		return idpSession{}, false
	}
	s := idpSession{user: u, index: randomID(16), created: p.now()}
	token := p.sessions.put(s)
	http.SetCookie(w, &http.Cookie{
		Name: idpCookie, Value: token, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	p.log.Info("demo idp: signed in", "user", name)
	return s, true
}

func (p *IdP) currentSession(r *http.Request) (idpSession, bool) {
	c, err := r.Cookie(idpCookie)
	if err != nil {
		return idpSession{}, false
	}
	return p.sessions.get(c.Value)
}

func (p *IdP) serveLogin(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		p.renderLogin(w, loginForm{Action: p.url("/login")})
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if _, ok := p.login(w, r); !ok {
			p.renderLogin(w, loginForm{Action: p.url("/login"), Error: true, Username: r.PostFormValue("username")})
			return
		}
		http.Redirect(w, r, p.url("/"), http.StatusSeeOther)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (p *IdP) serveLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(idpCookie); err == nil {
		p.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: idpCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, p.url("/login"), http.StatusSeeOther)
}

func (p *IdP) servePortal(w http.ResponseWriter, r *http.Request) {
	s, ok := p.currentSession(r)
	if !ok {
		http.Redirect(w, r, p.url("/login"), http.StatusSeeOther)
		return
	}
	data := portalData{User: s.user, LogoutURL: p.url("/logout")}
	for _, sp := range p.apps() {
		data.Apps = append(data.Apps, portalApp{Name: sp.name, Title: sp.title, URL: p.LoginURL(sp.entityID, "")})
	}
	renderPage(w, http.StatusOK, idpPortalPage, data)
}

func (p *IdP) renderLogin(w http.ResponseWriter, f loginForm) {
	status := http.StatusOK
	if f.Error {
		status = http.StatusUnauthorized
	}
	renderPage(w, status, idpLoginPage, f)
}
