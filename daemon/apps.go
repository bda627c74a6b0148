package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/cas-proxy/cas/catalog"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/session"
	"github.com/cas-proxy/cas/store"
)

// appSettings are an app's options, stored as the app's Settings JSON.
type appSettings struct {
	SignRequests           bool `json:"sign_requests,omitempty"`
	SignResponse           bool `json:"sign_response,omitempty"`
	IdPInitiated           bool `json:"idp_initiated"`
	RequireSignedAssertion bool `json:"require_signed_assertion,omitempty"`
	// MonitorNotice is the text of the notice on a monitored session's first
	// page: nil means the default text, "" turns the notice off.
	MonitorNotice    *string  `json:"monitor_notice,omitempty"`
	DownloadPatterns []string `json:"download_patterns,omitempty"`
	ExportPatterns   []string `json:"export_patterns,omitempty"`
	UploadPatterns   []string `json:"upload_patterns,omitempty"`
}

func decodeSettings(a *store.App) (appSettings, error) {
	s := appSettings{IdPInitiated: true}
	if len(a.Settings) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(a.Settings, &s); err != nil {
		return s, fmt.Errorf("app %s: settings: %w", a.Name, err)
	}
	return s, nil
}

// appRuntime is what the login and session paths need of one app, parsed
// once when apps or IdPs change, never per request.
type appRuntime struct {
	app       *store.App
	settings  appSettings
	idp       *store.IdP
	template  catalog.Template
	idpCerts  []*x509.Certificate
	idpSSO    saml.Endpoint
	signer    saml.Signer // the active replacement key
	displayNm string
	download  []*regexp.Regexp
	export    []*regexp.Regexp
	upload    []*regexp.Regexp
	// patterns is the three for the session proxy, prepared once.
	patterns session.AppPatterns
}

// appTable maps app names to their runtime.
type appTable map[string]*appRuntime

// activeKey returns the key that signs: the oldest key not retired. A
// rotation adds a newer key that takes over when the old one is retired, so
// admins can deploy the new certificate before it is used.
func activeKey(keys []store.AppKey) (store.AppKey, bool) {
	ks := make([]store.AppKey, 0, len(keys))
	for _, k := range keys {
		if !k.Retired {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return store.AppKey{}, false
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].CreatedAt.Before(ks[j].CreatedAt) })
	return ks[0], true
}

func compilePatterns(field string, pats []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(pats))
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", field, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// buildAppRuntime parses what one app needs at login and in session.
func buildAppRuntime(a *store.App, idp *store.IdP) (*appRuntime, error) {
	s, err := decodeSettings(a)
	if err != nil {
		return nil, err
	}
	rt := &appRuntime{app: a, settings: s, idp: idp, displayNm: a.Name}
	if t, ok := catalog.Lookup(a.Template); ok {
		rt.template = t
		if t.DisplayName != "" {
			rt.displayNm = t.DisplayName
		}
	}
	for _, p := range idp.CertsPEM {
		c, err := parseCertPEM(p)
		if err != nil {
			return nil, fmt.Errorf("idp %s: certificate: %w", idp.Name, err)
		}
		rt.idpCerts = append(rt.idpCerts, c)
	}
	for _, e := range idp.SSO {
		if e.Binding == saml.BindingHTTPRedirect {
			rt.idpSSO = saml.Endpoint{Binding: e.Binding, Location: e.Location}
			break
		}
	}
	if rt.idpSSO.Location == "" && len(idp.SSO) > 0 {
		rt.idpSSO = saml.Endpoint{Binding: idp.SSO[0].Binding, Location: idp.SSO[0].Location}
	}
	k, ok := activeKey(a.Keys)
	if !ok {
		return nil, fmt.Errorf("app %s has no replacement key that is not retired", a.Name)
	}
	cert, key, err := pki.ParseKeyPair([]byte(k.CertPEM), []byte(k.KeyPEM))
	if err != nil {
		return nil, fmt.Errorf("app %s: replacement key %s: %w", a.Name, k.Serial, err)
	}
	rt.signer = saml.Signer{Key: key, Cert: cert}
	if rt.download, err = compilePatterns("download_patterns", slices.Concat(rt.template.Download, s.DownloadPatterns)); err != nil {
		return nil, err
	}
	if rt.export, err = compilePatterns("export_patterns", slices.Concat(rt.template.Export, s.ExportPatterns)); err != nil {
		return nil, err
	}
	if rt.upload, err = compilePatterns("upload_patterns", slices.Concat(rt.template.Upload, s.UploadPatterns)); err != nil {
		return nil, err
	}
	rt.patterns = session.NewAppPatterns(rt.download, rt.export, rt.upload)
	return rt, nil
}

// reloadApps rebuilds the app table from the store. An app that fails to
// build is left out (its logins fail closed) and logged.
func (d *Daemon) reloadApps(ctx context.Context) error {
	apps, err := d.db.Apps(ctx)
	if err != nil {
		return err
	}
	idps, err := d.db.IdPs(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*store.IdP{}
	for _, p := range idps {
		byName[p.Name] = p
	}
	t := appTable{}
	for _, a := range apps {
		idp := byName[a.IdP]
		if idp == nil {
			d.log.Error("app refers to a missing idp", "app", a.Name, "idp", a.IdP)
			continue
		}
		rt, err := buildAppRuntime(a, idp)
		if err != nil {
			d.log.Error("app left out: its logins will fail", "app", a.Name, "err", err)
			continue
		}
		t[a.Name] = rt
	}
	d.apps.Store(&t)
	d.rebuildMapper()
	if rig := d.demo.Load(); rig != nil && t[demoAppName] != nil {
		syncDemoApp(rig.app, t[demoAppName], d.proxySSOURL(demoAppName))
	}
	return nil
}

// app returns the runtime of an app, or nil.
func (d *Daemon) app(name string) *appRuntime {
	t := d.apps.Load()
	if t == nil {
		return nil
	}
	return (*t)[name]
}

// proxyACSURL is the ACS URL the IdP posts to for app.
func (d *Daemon) proxyACSURL(app string) string { return d.portalURL() + "/saml/" + app + "/acs" }

// proxySSOURL is the login URL the app sends its AuthnRequests to.
func (d *Daemon) proxySSOURL(app string) string { return d.portalURL() + "/saml/" + app + "/sso" }

// newAppKey makes a replacement signing key and certificate for app.
func newAppKey(app string, now time.Time) (store.AppKey, error) {
	certPEM, keyPEM, serial, err := pki.NewSigningCert("cas replacement signing certificate for "+app, 2048, 365*24*time.Hour, now)
	if err != nil {
		return store.AppKey{}, err
	}
	cert, _, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return store.AppKey{}, err
	}
	return store.AppKey{Serial: serial, CertPEM: string(certPEM), KeyPEM: string(keyPEM), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Active: true, CreatedAt: now}, nil
}
