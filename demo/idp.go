package demo

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// User is an account of the demo IdP.
type User struct {
	// Name is the login name ("alice").
	Name string
	// Password is the login password, compared in constant time.
	Password string
	// Email is the NameID and the "email" attribute.
	Email string
	// DisplayName is the "displayName" attribute.
	DisplayName string
	// Groups are the values of the multi-valued "groups" attribute.
	Groups []string
}

// DefaultUsers returns the demo's two users: alice (group sales) and bob
// (group contractors), with the passwords that passwords returns for their
// names. A nil passwords leaves them empty, which NewIdP refuses.
func DefaultUsers(passwords func(name string) string) []User {
	pw := func(name string) string {
		if passwords == nil {
			return ""
		}
		return passwords(name)
	}
	return []User{
		{Name: "alice", Password: pw("alice"), Email: "alice@example.com", DisplayName: "Alice Adams", Groups: []string{"sales"}},
		{Name: "bob", Password: pw("bob"), Email: "bob@example.com", DisplayName: "Bob Brown", Groups: []string{"contractors"}},
	}
}

// IdPConfig configures NewIdP.
type IdPConfig struct {
	// BaseURL is the IdP's public URL without a trailing slash, such as
	// https://idp.demo.localhost:8443.
	BaseURL string
	// Users are the accounts that may sign in.
	Users []User
	// Key signs Responses and Assertions; it must belong to Cert.
	Key crypto.Signer
	// Cert is the IdP's signing certificate, RSA of at least 2048 bits
	// (pki.NewSigningCert makes one).
	Cert *x509.Certificate
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the IdP's log; nil discards it.
	Logger *slog.Logger
}

// IdP is the demo identity provider: crewjam/saml's IdentityProvider with a
// login form, a session cookie, a portal page and a registry of service
// providers that the caller fills. It is safe for concurrent use.
type IdP struct {
	base     *url.URL
	users    map[string]User
	key      crypto.Signer
	cert     *x509.Certificate
	now      func() time.Time
	log      *slog.Logger
	handler  http.Handler
	sessions *sessionStore[idpSession]

	mu  sync.Mutex
	sps map[string]registeredSP // by entity ID
}

type registeredSP struct {
	name, title, entityID, acsURL string
	added                         int
	certs                         []*x509.Certificate // verify signed AuthnRequests
}

type idpSession struct {
	user    User
	index   string // SessionIndex: public, unlike the cookie's token
	created time.Time
}

const (
	idpCookie      = "demo_idp_session"
	idpSessionLife = 8 * time.Hour
	maxFormBytes   = 1 << 20
)

// NewIdP checks cfg and returns the IdP.
func NewIdP(cfg IdPConfig) (*IdP, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.Path != "" || base.RawQuery != "" {
		return nil, fmt.Errorf("demo idp: base URL %q: want scheme://host[:port]", cfg.BaseURL)
	}
	if cfg.Key == nil || cfg.Cert == nil {
		return nil, errors.New("demo idp: no signing key or certificate")
	}
	pub, ok := cfg.Cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < 2048 {
		return nil, errors.New("demo idp: signing certificate must be RSA of at least 2048 bits")
	}
	if kp, ok := cfg.Key.Public().(*rsa.PublicKey); !ok || !kp.Equal(pub) {
		return nil, errors.New("demo idp: signing key does not belong to the certificate")
	}
	if len(cfg.Users) == 0 {
		return nil, errors.New("demo idp: no users")
	}
	users := make(map[string]User, len(cfg.Users))
	for _, u := range cfg.Users {
		switch {
		case u.Name == "" || u.Email == "":
			return nil, errors.New("demo idp: a user without a name or email")
		case u.Password == "":
			return nil, fmt.Errorf("demo idp: user %q has no password", u.Name)
		case users[u.Name].Name != "":
			return nil, fmt.Errorf("demo idp: user %q listed twice", u.Name)
		}
		u.Groups = slices.Clone(u.Groups)
		users[u.Name] = u
	}
	p := &IdP{
		base:  base,
		users: users,
		key:   cfg.Key,
		cert:  cfg.Cert,
		now:   cfg.Now,
		log:   cfg.Logger,
		sps:   make(map[string]registeredSP),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.sessions = newSessionStore[idpSession](p.now, idpSessionLife, idpSessionLife, 10000)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata", func(w http.ResponseWriter, r *http.Request) { p.provider().ServeMetadata(w, r) })
	mux.HandleFunc("/sso", p.serveSSO)
	mux.HandleFunc("/idp-initiated", p.serveIdPInitiated)
	mux.HandleFunc("/login", p.serveLogin)
	mux.HandleFunc("POST /logout", p.serveLogout)
	mux.HandleFunc("GET /{$}", p.servePortal)
	p.handler = securityHeaders(mux)
	return p, nil
}

// Handler returns the IdP's HTTP handler: /metadata, /sso (HTTP-Redirect
// and HTTP-POST bindings), /idp-initiated, /login, /logout and the portal
// at /.
func (p *IdP) Handler() http.Handler { return p.handler }

// EntityID returns the IdP's SAML entity ID, its metadata URL.
func (p *IdP) EntityID() string { return p.url("/metadata") }

// Certificate returns the IdP's signing certificate, the one service
// providers (or a proxy importing the IdP) must trust.
func (p *IdP) Certificate() *x509.Certificate { return p.cert }

// SSOURL returns the IdP's single sign-on service URL.
func (p *IdP) SSOURL() string { return p.url("/sso") }

// MetadataXML returns the IdP's SAML metadata.
func (p *IdP) MetadataXML() ([]byte, error) {
	out, err := xml.MarshalIndent(p.provider().Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("demo idp: marshal metadata: %w", err)
	}
	return out, nil
}

// LoginURL returns the URL that starts an IdP-initiated login to the
// service provider spEntityID, passing relayState to it.
func (p *IdP) LoginURL(spEntityID, relayState string) string {
	q := url.Values{"sp": {spEntityID}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return p.url("/idp-initiated") + "?" + q.Encode()
}

// AddServiceProvider registers (or replaces) the service provider entityID,
// whose assertion consumer service (HTTP-POST) is acsURL. The portal lists
// it under a name made from the entity ID's host; see RegisterApp.
func (p *IdP) AddServiceProvider(entityID, acsURL string) error {
	u, err := url.Parse(entityID)
	name := entityID
	if err == nil && u.Hostname() != "" {
		name = u.Hostname()
	}
	return p.RegisterApp(slug(name), name, entityID, acsURL)
}

// RegisterApp is AddServiceProvider with the portal's link id (a#app-NAME)
// and title chosen by the caller, such as "demo-salesforce" and "Demo
// Salesforce".
func (p *IdP) RegisterApp(name, title, entityID, acsURL string) error {
	if !appNameRE.MatchString(name) {
		return fmt.Errorf("demo idp: app name %q: want lower-case letters, digits and hyphens", name)
	}
	if strings.TrimSpace(entityID) == "" {
		return errors.New("demo idp: empty service provider entity ID")
	}
	acs, err := url.Parse(acsURL)
	if err != nil || (acs.Scheme != "https" && acs.Scheme != "http") || acs.Host == "" {
		return fmt.Errorf("demo idp: service provider %s: ACS URL %q is not an absolute http(s) URL", entityID, acsURL)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	added := len(p.sps)
	var certs []*x509.Certificate
	if old, ok := p.sps[entityID]; ok {
		added, certs = old.added, old.certs
	}
	for id, sp := range p.sps {
		if sp.name == name && id != entityID {
			return fmt.Errorf("demo idp: app name %q already used by %s", name, id)
		}
	}
	p.sps[entityID] = registeredSP{name: name, title: title, entityID: entityID, acsURL: acsURL, added: added, certs: certs}
	p.log.Info("demo idp: service provider registered", "entity_id", entityID, "acs", acsURL)
	return nil
}

// SetRequestSigningCerts gives the IdP the certificates that verify the
// signed AuthnRequests of the registered service provider entityID (a proxy
// that signs the requests it relays, say). Unsigned requests stay
// accepted; a signed one is checked, and refused without a certificate.
// Re-registering the service provider keeps them.
func (p *IdP) SetRequestSigningCerts(entityID string, certs ...*x509.Certificate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sp, ok := p.sps[entityID]
	if !ok {
		return fmt.Errorf("demo idp: service provider %s is not registered", entityID)
	}
	sp.certs = slices.DeleteFunc(slices.Clone(certs), func(c *x509.Certificate) bool { return c == nil })
	p.sps[entityID] = sp
	return nil
}

var appNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 63 {
		out = strings.TrimSuffix(out[:63], "-")
	}
	if out == "" {
		out = "app"
	}
	return out
}

func (p *IdP) url(path string) string {
	u := *p.base
	u.Path = path
	return u.String()
}

// provider returns crewjam's IdentityProvider for one request: it is built
// per request so that its clock is the injected one at that moment.
func (p *IdP) provider() *saml.IdentityProvider {
	metadataURL, _ := url.Parse(p.EntityID())
	ssoURL, _ := url.Parse(p.SSOURL())
	return &saml.IdentityProvider{
		Signer:                  p.key,
		Certificate:             p.cert,
		Logger:                  slogAdapter{p.log},
		MetadataURL:             *metadataURL,
		SSOURL:                  *ssoURL,
		ServiceProviderProvider: idpHooks{p},
		SessionProvider:         idpHooks{p},
		AssertionMaker:          assertionMaker{},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
		Clock:                   dsig.NewFakeClockAt(p.now()),
		NameIDFormats:           []saml.NameIDFormat{saml.EmailAddressNameIDFormat},
		LimitRelayStateLength:   true,
		OnError:                 p.onSAMLError,
	}
}

// idpHooks gives crewjam's IdentityProvider the IdP's service providers and
// sessions without making those methods part of IdP's API.
type idpHooks struct{ p *IdP }

// GetServiceProvider implements saml.ServiceProviderProvider.
func (h idpHooks) GetServiceProvider(r *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	return h.p.serviceProvider(entityID)
}

// GetSession implements saml.SessionProvider.
func (h idpHooks) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	return h.p.getSession(w, r, req)
}

func (p *IdP) serviceProvider(entityID string) (*saml.EntityDescriptor, error) {
	p.mu.Lock()
	sp, ok := p.sps[entityID]
	p.mu.Unlock()
	if !ok {
		return nil, os.ErrNotExist
	}
	yes := true
	var keys []saml.KeyDescriptor
	for _, c := range sp.certs {
		keys = append(keys, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
			X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}},
		}}})
	}
	return &saml.EntityDescriptor{
		EntityID: sp.entityID,
		SPSSODescriptors: []saml.SPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{
				RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol", KeyDescriptors: keys},
			},
			AssertionConsumerServices: []saml.IndexedEndpoint{{
				Binding: saml.HTTPPostBinding, Location: sp.acsURL, Index: 0, IsDefault: &yes,
			}},
		}},
	}, nil
}

func (p *IdP) apps() []registeredSP {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]registeredSP, 0, len(p.sps))
	for _, sp := range p.sps {
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b registeredSP) int { return a.added - b.added })
	return out
}

func (p *IdP) onSAMLError(w http.ResponseWriter, r *http.Request, status int, err error) {
	p.log.Warn("demo idp: SAML request refused", "path", r.URL.Path, "status", status, "err", err)
	msg := "The sign-in request could not be processed."
	if errors.Is(err, saml.ErrUnknownServiceProvider) || errors.Is(err, os.ErrNotExist) {
		msg = "The application asking you to sign in is not registered with this identity provider."
	}
	renderPage(w, status, idpErrorPage, pageData{Title: "Sign-in error", Message: msg})
}

// assertionMaker makes crewjam's default assertion and replaces its
// attributes with the three the demo promises: email, displayName and the
// multi-valued groups.
type assertionMaker struct{}

func (assertionMaker) MakeAssertion(req *saml.IdpAuthnRequest, s *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	const basic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	str := func(v string) saml.AttributeValue { return saml.AttributeValue{Type: "xs:string", Value: v} }
	groups := make([]saml.AttributeValue, 0, len(s.Groups))
	for _, g := range s.Groups {
		groups = append(groups, str(g))
	}
	attrs := []saml.Attribute{
		{Name: "email", NameFormat: basic, Values: []saml.AttributeValue{str(s.UserEmail)}},
		{Name: "displayName", NameFormat: basic, Values: []saml.AttributeValue{str(s.UserCommonName)}},
	}
	if len(groups) > 0 {
		attrs = append(attrs, saml.Attribute{Name: "groups", NameFormat: basic, Values: groups})
	}
	req.Assertion.AttributeStatements = []saml.AttributeStatement{{Attributes: attrs}}
	return nil
}

// slogAdapter lets crewjam's logger interface write to slog. Its Fatal and
// Panic methods only log: nothing in a demo server should end the process.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Info("saml: " + fmt.Sprintf(format, v...)) }
func (a slogAdapter) Print(v ...any)                 { a.l.Info("saml: " + fmt.Sprint(v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Info("saml: " + strings.TrimSpace(fmt.Sprintln(v...))) }
func (a slogAdapter) Fatal(v ...any)                 { a.l.Error("saml: " + fmt.Sprint(v...)) }
func (a slogAdapter) Fatalf(format string, v ...any) { a.l.Error("saml: " + fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalln(v ...any)               { a.Fatal(v...) }
func (a slogAdapter) Panic(v ...any)                 { a.Fatal(v...) }
func (a slogAdapter) Panicf(format string, v ...any) { a.Fatalf(format, v...) }
func (a slogAdapter) Panicln(v ...any)               { a.Fatal(v...) }
