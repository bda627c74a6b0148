package demo

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
)

// OrgID is the demo app's Salesforce-style organization ID, the "so"
// parameter of its ACS URL.
const OrgID = "00D000000000001"

// AppConfig configures NewApp.
type AppConfig struct {
	// Org is the org's My Domain name, the first label of its hosts
	// ("acme").
	Org string
	// Domain is the app's parent domain ("demo-salesforce.localhost"); the
	// hosts are ORG.my.DOMAIN, ORG.lightning.DOMAIN and ORG.file.DOMAIN.
	Domain string
	// Port is the public HTTPS port, written in absolute URLs unless it is
	// 443.
	Port int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the app's log; nil discards it.
	Logger *slog.Logger
}

// File is a file the demo app serves or has received.
type File struct {
	// ID is the Salesforce-style ContentVersion ID (068…).
	ID string
	// Name is the file name, as in Content-Disposition.
	Name string
	// MIME is the media type.
	MIME string
	// Content is the file's bytes.
	Content []byte
}

// App is "Demo Salesforce": a SAML service provider on three hosts that
// behaves like Salesforce where a proxy notices. It is safe for concurrent
// use.
type App struct {
	org, domain string
	port        int
	myHost      string
	lightHost   string
	fileHost    string
	now         func() time.Time
	log         *slog.Logger
	files       []File
	sessions    *sessionStore[appSession]
	relays      *sessionStore[relayEntry]
	replay      *replayCache
	handler     http.Handler

	mu      sync.Mutex
	idp     *saml.EntityDescriptor
	uploads []File
}

type appSession struct {
	nameID, email, displayName string
	groups                     []string
}

type relayEntry struct {
	returnURL string
	requestID string
}

const (
	sessionCookie = "sid"
	appIdle       = 2 * time.Hour
	appMaxLife    = 12 * time.Hour
	relayLife     = 10 * time.Minute
)

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// NewApp checks cfg and returns the app.
func NewApp(cfg AppConfig) (*App, error) {
	if !labelRE.MatchString(cfg.Org) {
		return nil, fmt.Errorf("demo app: org %q: want one lower-case DNS label", cfg.Org)
	}
	domain := strings.ToLower(strings.TrimSuffix(cfg.Domain, "."))
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return nil, fmt.Errorf("demo app: domain %q: want at least two labels", cfg.Domain)
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return nil, fmt.Errorf("demo app: domain %q: invalid label %q", cfg.Domain, l)
		}
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("demo app: port %d out of range", cfg.Port)
	}
	a := &App{
		org:       cfg.Org,
		domain:    domain,
		port:      cfg.Port,
		myHost:    cfg.Org + ".my." + domain,
		lightHost: cfg.Org + ".lightning." + domain,
		fileHost:  cfg.Org + ".file." + domain,
		now:       cfg.Now,
		log:       cfg.Logger,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.sessions = newSessionStore[appSession](a.now, appIdle, appMaxLife, 10000)
	a.relays = newSessionStore[relayEntry](a.now, relayLife, relayLife, 10000)
	a.replay = newReplayCache(a.now, 100000)
	a.files = sampleFiles(a.base(a.myHost))
	a.handler = a.routes()
	return a, nil
}

// Hosts returns the app's host names: the My Domain host, the Lightning
// host and the file host.
func (a *App) Hosts() []string { return []string{a.myHost, a.lightHost, a.fileHost} }

// EntityID returns the app's SAML entity ID, its My Domain URL.
func (a *App) EntityID() string { return a.base(a.myHost) }

// ACSURL returns the app's assertion consumer service URL in Salesforce's
// login URL shape: the My Domain URL with the org ID in "so", written as
// Salesforce's Setup and metadata write it, without a slash before the "?"
// (https://acme.my.demo-salesforce.localhost:8443?so=00D000000000001). It is
// what the catalog's demo-salesforce template expands to, and the
// AssertionConsumerServiceURL of the app's AuthnRequests. Responses
// addressed to the same URL with the slash (…/?so=…) are accepted too.
func (a *App) ACSURL() string { return a.base(a.myHost) + "?so=" + OrgID }

func (a *App) acsURLs() []string {
	return []string{a.ACSURL(), a.base(a.myHost) + "/?so=" + OrgID}
}

// HomeURL returns the URL of the app's home page.
func (a *App) HomeURL() string { return a.base(a.myHost) + "/home/home.jsp" }

// SetIdP tells the app where to send users to sign in (the IdP's entity ID
// and HTTP-Redirect SSO URL) and which certificates sign its Responses. It
// replaces any earlier setting.
func (a *App) SetIdP(entityID, ssoURL string, certs []*x509.Certificate) {
	var keys []saml.KeyDescriptor
	for _, c := range certs {
		if c == nil {
			continue
		}
		keys = append(keys, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
			X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}},
		}}})
	}
	ed := &saml.EntityDescriptor{
		EntityID: entityID,
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
				KeyDescriptors:             keys,
			}},
			SingleSignOnServices: []saml.Endpoint{{Binding: saml.HTTPRedirectBinding, Location: ssoURL}},
		}},
	}
	a.mu.Lock()
	a.idp = ed
	a.mu.Unlock()
	a.log.Info("demo app: identity provider set", "entity_id", entityID, "sso", ssoURL, "certs", len(keys))
}

// Handler returns the app's HTTP handler; it routes by the request's host
// name (port ignored) and answers 404 for any other host.
func (a *App) Handler() http.Handler { return a.handler }

// Files returns copies of the files the app serves for download.
func (a *App) Files() []File { return cloneFiles(a.files) }

// Uploads returns copies of the files uploaded so far, oldest first.
func (a *App) Uploads() []File {
	a.mu.Lock()
	defer a.mu.Unlock()
	return cloneFiles(a.uploads)
}

// SPMetadataXML returns the app's SAML service provider metadata, as
// Salesforce's "Download Metadata" gives it.
func (a *App) SPMetadataXML() ([]byte, error) {
	out, err := xml.MarshalIndent(a.serviceProvider(a.ACSURL(), nil).Metadata(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("demo app: marshal metadata: %w", err)
	}
	return out, nil
}

func cloneFiles(fs []File) []File {
	out := make([]File, len(fs))
	for i, f := range fs {
		f.Content = slices.Clone(f.Content)
		out[i] = f
	}
	return out
}

// base returns https://host[:port] for one of the app's hosts.
func (a *App) base(host string) string {
	if a.port == 443 {
		return "https://" + host
	}
	return "https://" + host + ":" + strconv.Itoa(a.port)
}

func (a *App) idpMetadata() *saml.EntityDescriptor {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.idp
}

// session returns the request's app session, if it has a valid sid cookie.
func (a *App) session(r *http.Request) (appSession, string, bool) {
	for _, c := range r.CookiesNamed(sessionCookie) {
		if s, ok := a.sessions.get(c.Value); ok {
			return s, c.Value, true
		}
	}
	return appSession{}, "", false
}

// requestURL is the URL a request asked for, on the app's public base.
func (a *App) requestURL(r *http.Request) string {
	return a.base(hostOnly(r.Host)) + r.URL.RequestURI()
}

func hostOnly(hostport string) string {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(host, ".")
}
