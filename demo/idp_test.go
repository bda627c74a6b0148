package demo

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

const idpHost = "idp.demo.localhost"

func testPasswords(name string) string { return name + "-secret" }

func newTestIdP(t *testing.T, n *testNet) *IdP {
	t.Helper()
	idp, _ := newTestIdPCert(t, n)
	return idp
}

func newTestIdPCert(t *testing.T, n *testNet) (*IdP, *x509.Certificate) {
	t.Helper()
	cert, key := newSigner(t, "demo idp")
	idp, err := NewIdP(IdPConfig{BaseURL: n.base(idpHost), Users: DefaultUsers(testPasswords), Key: key, Cert: cert})
	if err != nil {
		t.Fatal(err)
	}
	n.handle(idp.Handler(), idpHost)
	return idp, cert
}

// testSP is a crewjam ServiceProvider serving its ACS on the test net; it
// records what it accepted.
type testSP struct {
	sp *saml.ServiceProvider

	mu         sync.Mutex
	requestIDs []string
	accepted   []*saml.Assertion
	relay      []string
	raw        [][]byte
}

func newTestSP(t *testing.T, n *testNet, idp *IdP, host string) *testSP {
	t.Helper()
	md, err := idp.MetadataXML()
	if err != nil {
		t.Fatal(err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(md, &ed); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(n.base(host) + "/acs")
	s := &testSP{sp: &saml.ServiceProvider{
		EntityID:          n.base(host) + "/metadata",
		AcsURL:            *acs,
		IDPMetadata:       &ed,
		AllowIDPInitiated: true,
		AuthnNameIDFormat: saml.EmailAddressNameIDFormat,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		ids := slices.Clone(s.requestIDs)
		s.mu.Unlock()
		a, err := s.sp.ParseResponse(r, ids)
		if err != nil {
			if ire, ok := err.(*saml.InvalidResponseError); ok {
				err = ire.PrivateErr
			}
			http.Error(w, "refused: "+err.Error(), http.StatusForbidden)
			return
		}
		raw, _ := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLResponse"))
		s.mu.Lock()
		s.accepted = append(s.accepted, a)
		s.relay = append(s.relay, r.PostForm.Get("RelayState"))
		s.raw = append(s.raw, raw)
		s.mu.Unlock()
		_, _ = w.Write([]byte("welcome " + a.Subject.NameID.Value))
	})
	n.handle(mux, host)
	return s
}

// authnURL returns an SP-initiated HTTP-Redirect AuthnRequest URL and
// remembers its ID.
func (s *testSP) authnURL(t *testing.T, ssoURL, relayState string) string {
	t.Helper()
	req, err := s.sp.MakeAuthenticationRequest(ssoURL, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	u, err := req.Redirect(relayState, s.sp)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.requestIDs = append(s.requestIDs, req.ID)
	s.mu.Unlock()
	return u.String()
}

func (s *testSP) last(t *testing.T) (*saml.Assertion, string, []byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.accepted) == 0 {
		t.Fatal("the SP accepted no assertion")
	}
	i := len(s.accepted) - 1
	return s.accepted[i], s.relay[i], s.raw[i]
}

func attrValues(a *saml.Assertion, name string) []string {
	var out []string
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name == name {
				for _, v := range at.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

// checkAssertion checks who the assertion names and that both the Response
// and the Assertion carry an RSA-SHA256 signature.
func checkAssertion(t *testing.T, s *testSP, a *saml.Assertion, raw []byte, email, display string, groups []string) {
	t.Helper()
	if a.Subject.NameID.Value != email || a.Subject.NameID.Format != string(saml.EmailAddressNameIDFormat) {
		t.Errorf("NameID = %q (%s), want %q (emailAddress)", a.Subject.NameID.Value, a.Subject.NameID.Format, email)
	}
	if got := attrValues(a, "email"); !slices.Equal(got, []string{email}) {
		t.Errorf("email = %q", got)
	}
	if got := attrValues(a, "displayName"); !slices.Equal(got, []string{display}) {
		t.Errorf("displayName = %q", got)
	}
	if got := attrValues(a, "groups"); !slices.Equal(got, groups) {
		t.Errorf("groups = %q, want %q", got, groups)
	}
	if aud := a.Conditions.AudienceRestrictions[0].Audience.Value; aud != s.sp.EntityID {
		t.Errorf("audience = %q, want %q", aud, s.sp.EntityID)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	const rsaSHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	for _, path := range []string{"./Signature/SignedInfo/SignatureMethod", "./Assertion/Signature/SignedInfo/SignatureMethod"} {
		el := doc.Root().FindElement(path)
		if el == nil || el.SelectAttrValue("Algorithm", "") != rsaSHA256 {
			t.Errorf("%s: want an %s signature", path, rsaSHA256)
		}
	}
}

func TestIdPSPInitiated(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	sp := newTestSP(t, n, idp, "sp.test.localhost")
	if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
		t.Fatal(err)
	}
	c := n.client(t)

	login := get(t, c, sp.authnURL(t, idp.SSOURL(), "rs-1"))
	if login.Status != http.StatusOK {
		t.Fatalf("SSO without a session: status %d, want the login form", login.Status)
	}
	ids := elements(t, login.Body)
	for _, id := range []string{"username", "password", "submit"} {
		if ids[id] == nil {
			t.Errorf("login form has no #%s", id)
		}
	}
	post := submit(t, c, login, url.Values{"username": {"alice"}, "password": {testPasswords("alice")}})
	forms := parseForms(t, post.Body)
	if post.Status != http.StatusOK || len(forms) != 1 || forms[0].Fields.Get("SAMLResponse") == "" {
		t.Fatalf("after login: status %d, want an auto-POST form: %.500s", post.Status, post.Body)
	}
	if forms[0].Action != sp.sp.AcsURL.String() || forms[0].Fields.Get("RelayState") != "rs-1" {
		t.Errorf("form posts to %q with RelayState %q", forms[0].Action, forms[0].Fields.Get("RelayState"))
	}
	if acs := submit(t, c, post, nil); acs.Status != http.StatusOK {
		t.Fatalf("SP refused the Response: %d %s", acs.Status, acs.Body)
	}
	a, _, raw := sp.last(t)
	checkAssertion(t, sp, a, raw, "alice@example.com", "Alice Adams", []string{"sales"})

	// The IdP session cookie is Secure, HttpOnly and SameSite=Lax.
	u, _ := url.Parse(idp.SSOURL())
	if len(c.Jar.Cookies(u)) != 1 {
		t.Errorf("IdP cookies: %v", c.Jar.Cookies(u))
	}

	// A second request rides on the session: no form, straight to the SP.
	again := get(t, c, sp.authnURL(t, idp.SSOURL(), "rs-2"))
	forms = parseForms(t, again.Body)
	if len(forms) != 1 || forms[0].Fields.Get("SAMLResponse") == "" {
		t.Fatalf("second SSO: want an auto-POST form, got %d: %.300s", again.Status, again.Body)
	}
	if acs := submit(t, c, again, nil); acs.Status != http.StatusOK {
		t.Fatalf("SP refused the second Response: %d %s", acs.Status, acs.Body)
	}
}

func TestIdPSessionCookieAttributes(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	c := n.client(t)
	p := postForm(t, c, n.base(idpHost)+"/login", url.Values{"username": {"bob"}, "password": {testPasswords("bob")}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("login: status %d", p.Status)
	}
	resp := &http.Response{Header: p.Header}
	var found bool
	for _, ck := range resp.Cookies() {
		if ck.Name == idpCookie {
			found = true
			if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
				t.Errorf("IdP cookie %+v: want Secure, HttpOnly, SameSite=Lax", ck)
			}
		}
	}
	if !found {
		t.Fatal("no IdP session cookie set")
	}
	portal := follow(t, c, p)
	if el := elements(t, portal.Body)["signed-in-user"]; el == nil || text(el) != "bob" {
		t.Errorf("portal does not show bob signed in: %.400s", portal.Body)
	}
	_ = idp
}

func TestIdPInitiated(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	sp := newTestSP(t, n, idp, "sp.test.localhost")
	if err := idp.RegisterApp("test-app", "Test App", sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
		t.Fatal(err)
	}
	c := n.client(t)

	// Sign in on the portal, then pick the app there.
	login := follow(t, c, get(t, c, n.base(idpHost)+"/"))
	if elements(t, login.Body)["username"] == nil {
		t.Fatalf("portal without a session should show the login form: %.300s", login.Body)
	}
	portal := follow(t, c, submit(t, c, login, url.Values{"username": {"bob"}, "password": {testPasswords("bob")}}))
	link := elements(t, portal.Body)["app-test-app"]
	if link == nil {
		t.Fatalf("portal lists no a#app-test-app: %.500s", portal.Body)
	}
	if href := attr(link, "href"); href != idp.LoginURL(sp.sp.EntityID, "") {
		t.Errorf("portal link = %q, want %q", href, idp.LoginURL(sp.sp.EntityID, ""))
	}
	post := get(t, c, attr(link, "href"))
	if acs := submit(t, c, post, nil); acs.Status != http.StatusOK {
		t.Fatalf("SP refused the IdP-initiated Response: %d %s", acs.Status, acs.Body)
	}
	a, _, raw := sp.last(t)
	checkAssertion(t, sp, a, raw, "bob@example.com", "Bob Brown", []string{"contractors"})

	// LoginURL with a RelayState, from a fresh browser: login form first.
	c2 := n.client(t)
	form := get(t, c2, idp.LoginURL(sp.sp.EntityID, "/lightning/page/home"))
	post = submit(t, c2, form, url.Values{"username": {"alice"}, "password": {testPasswords("alice")}})
	if acs := submit(t, c2, post, nil); acs.Status != http.StatusOK {
		t.Fatalf("SP refused: %d %s", acs.Status, acs.Body)
	}
	a, relay, _ := sp.last(t)
	if a.Subject.NameID.Value != "alice@example.com" || relay != "/lightning/page/home" {
		t.Errorf("got %s with RelayState %q", a.Subject.NameID.Value, relay)
	}
}

func TestIdPRefuses(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	sp := newTestSP(t, n, idp, "sp.test.localhost")
	if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
		t.Fatal(err)
	}
	stranger := newTestSP(t, n, idp, "stranger.test.localhost")

	tests := []struct {
		name   string
		start  func(c *http.Client) page
		status int
		want   string
	}{
		{"wrong password", func(c *http.Client) page {
			return submit(t, c, get(t, c, sp.authnURL(t, idp.SSOURL(), "")), url.Values{"username": {"alice"}, "password": {"nope"}})
		}, http.StatusUnauthorized, "wrong user name or password"},
		{"unknown user", func(c *http.Client) page {
			return submit(t, c, get(t, c, idp.LoginURL(sp.sp.EntityID, "")), url.Values{"username": {"mallory"}, "password": {"x"}})
		}, http.StatusUnauthorized, "wrong user name or password"},
		{"other user's password", func(c *http.Client) page {
			return postForm(t, c, n.base(idpHost)+"/login", url.Values{"username": {"alice"}, "password": {testPasswords("bob")}})
		}, http.StatusUnauthorized, "wrong user name or password"},
		{"unknown SP, SP-initiated", func(c *http.Client) page {
			return get(t, c, stranger.authnURL(t, idp.SSOURL(), ""))
		}, http.StatusBadRequest, "not registered"},
		{"unknown SP, IdP-initiated", func(c *http.Client) page {
			return get(t, c, idp.LoginURL("https://nope.test.localhost", ""))
		}, http.StatusNotFound, "not registered"},
		{"garbage request", func(c *http.Client) page {
			return get(t, c, idp.SSOURL()+"?SAMLRequest=%%%")
		}, http.StatusBadRequest, "could not be processed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.start(n.client(t))
			if p.Status != tt.status || !strings.Contains(p.Body, tt.want) {
				t.Errorf("status %d, want %d with %q: %.400s", p.Status, tt.status, tt.want, p.Body)
			}
			if strings.Contains(p.Body, "SAMLResponse") {
				t.Error("a Response was issued")
			}
		})
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.accepted) != 0 {
		t.Errorf("the SP accepted %d assertions", len(sp.accepted))
	}
}

func TestNewIdPChecksConfig(t *testing.T) {
	cert, key := newSigner(t, "a")
	otherCert, _ := newSigner(t, "b")
	good := IdPConfig{BaseURL: "https://idp.demo.localhost:8443", Users: DefaultUsers(testPasswords), Key: key, Cert: cert}
	tests := []struct {
		name   string
		change func(c *IdPConfig)
		want   string
	}{
		{"good", func(*IdPConfig) {}, ""},
		{"relative base", func(c *IdPConfig) { c.BaseURL = "idp.demo.localhost" }, "base URL"},
		{"base with path", func(c *IdPConfig) { c.BaseURL = "https://idp.demo.localhost/x" }, "base URL"},
		{"no key", func(c *IdPConfig) { c.Key = nil }, "no signing key"},
		{"key of another cert", func(c *IdPConfig) { c.Cert = otherCert }, "does not belong"},
		{"no users", func(c *IdPConfig) { c.Users = nil }, "no users"},
		{"no passwords", func(c *IdPConfig) { c.Users = DefaultUsers(nil) }, "no password"},
		{"duplicate", func(c *IdPConfig) { c.Users = append(c.Users, c.Users[0]) }, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			_, err := NewIdP(cfg)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("NewIdP: %v, want %q", err, tt.want)
			}
		})
	}
	idp, err := NewIdP(good)
	if err != nil {
		t.Fatal(err)
	}
	if idp.EntityID() != "https://idp.demo.localhost:8443/metadata" || idp.SSOURL() != "https://idp.demo.localhost:8443/sso" {
		t.Errorf("EntityID %s, SSOURL %s", idp.EntityID(), idp.SSOURL())
	}
	if err := idp.AddServiceProvider("https://a.example", "not a url"); err == nil {
		t.Error("AddServiceProvider accepted a relative ACS URL")
	}
	if got := idp.LoginURL("https://acme.my.demo-salesforce.localhost:8443", "/home"); got != "https://idp.demo.localhost:8443/idp-initiated?RelayState=%2Fhome&sp=https%3A%2F%2Facme.my.demo-salesforce.localhost%3A8443" {
		t.Errorf("LoginURL = %s", got)
	}
}

func TestIdPPostBindingAndRetry(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	sp := newTestSP(t, n, idp, "sp.test.localhost")
	if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
		t.Fatal(err)
	}
	// Replacing the registration keeps one entry under the entity ID.
	if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil || len(idp.apps()) != 1 {
		t.Fatalf("re-registering: %v, %d apps", err, len(idp.apps()))
	}
	c := n.client(t)

	// The SP's HTTP-POST binding form, as a browser would send it.
	formHTML, err := sp.sp.MakePostAuthenticationRequest("post-rs")
	if err != nil {
		t.Fatal(err)
	}
	forms := parseForms(t, string(formHTML))
	if len(forms) != 1 || forms[0].Action != idp.SSOURL() {
		t.Fatalf("SP POST form: %+v", forms)
	}
	raw, _ := base64.StdEncoding.DecodeString(forms[0].Fields.Get("SAMLRequest"))
	var req saml.AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	sp.mu.Lock()
	sp.requestIDs = append(sp.requestIDs, req.ID)
	sp.mu.Unlock()
	login := postForm(t, c, idp.SSOURL(), forms[0].Fields)

	// A wrong password shows the form again, still carrying the request.
	again := submit(t, c, login, url.Values{"username": {"alice"}, "password": {"wrong"}})
	if again.Status != http.StatusUnauthorized || elements(t, again.Body)["login-error"] == nil {
		t.Fatalf("wrong password: %d: %.300s", again.Status, again.Body)
	}
	if el := elements(t, again.Body)["username"]; attr(el, "value") != "alice" {
		t.Errorf("the user name was not kept: %q", attr(el, "value"))
	}
	post := submit(t, c, again, url.Values{"username": {"alice"}, "password": {testPasswords("alice")}})
	if acs := submit(t, c, post, nil); acs.Status != http.StatusOK {
		t.Fatalf("SP refused: %d %s", acs.Status, acs.Body)
	}
	a, relay, raw := sp.last(t)
	if relay != "post-rs" {
		t.Errorf("RelayState %q", relay)
	}
	checkAssertion(t, sp, a, raw, "alice@example.com", "Alice Adams", []string{"sales"})
	if a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo != req.ID {
		t.Errorf("InResponseTo %q, want %q", a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo, req.ID)
	}
}

func TestIdPSignedAuthnRequests(t *testing.T) {
	n := newTestNet(t)
	idp := newTestIdP(t, n)
	sp := newTestSP(t, n, idp, "sp.test.localhost")
	spCert, spKey := newSigner(t, "signing sp")
	sp.sp.Key, sp.sp.Certificate = spKey, spCert
	sp.sp.SignatureMethod = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
		t.Fatal(err)
	}
	if err := idp.SetRequestSigningCerts("https://unknown.test.localhost", spCert); err == nil {
		t.Error("SetRequestSigningCerts accepted an unknown service provider")
	}
	otherCert, _ := newSigner(t, "other")
	tests := []struct {
		name   string
		certs  []*x509.Certificate
		status int
	}{
		{"no certificate registered", nil, http.StatusBadRequest},
		{"another certificate", []*x509.Certificate{otherCert}, http.StatusBadRequest},
		{"the signer's certificate", []*x509.Certificate{otherCert, spCert}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := idp.SetRequestSigningCerts(sp.sp.EntityID, tt.certs...); err != nil {
				t.Fatal(err)
			}
			// Re-registering keeps the certificates.
			if err := idp.AddServiceProvider(sp.sp.EntityID, sp.sp.AcsURL.String()); err != nil {
				t.Fatal(err)
			}
			formHTML, err := sp.sp.MakePostAuthenticationRequest("")
			if err != nil {
				t.Fatal(err)
			}
			fields := parseForms(t, string(formHTML))[0].Fields
			raw, _ := base64.StdEncoding.DecodeString(fields.Get("SAMLRequest"))
			if !strings.Contains(string(raw), "SignatureValue") {
				t.Fatal("the test SP did not sign its request")
			}
			p := postForm(t, n.client(t), idp.SSOURL(), fields)
			if p.Status != tt.status || (tt.status == http.StatusOK) != (elements(t, p.Body)["username"] != nil) {
				t.Errorf("status %d, want %d (login form iff accepted): %.300s", p.Status, tt.status, p.Body)
			}
		})
	}
}
