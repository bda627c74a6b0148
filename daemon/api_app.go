package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/catalog"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
)

func (d *Daemon) listCatalog(w http.ResponseWriter, r *http.Request) error {
	var out []api.Template
	for _, t := range catalog.Templates() {
		out = append(out, api.Template{Name: t.Name, DisplayName: t.DisplayName, Description: t.Description, Domains: t.Domains})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) toAPIApp(a *store.App) api.App {
	s, _ := decodeSettings(a)
	out := api.App{
		Name: a.Name, Template: a.Template, IdP: a.IdP, EntityID: a.EntityID, ACSURL: a.ACSURL,
		Domains: a.Domains, ProxyACSURL: d.proxyACSURL(a.Name), ProxySSOURL: d.proxySSOURL(a.Name),
		SignRequests: s.SignRequests, SignResponse: s.SignResponse, IdPInitiated: s.IdPInitiated,
		RequireSignedAssertion: s.RequireSignedAssertion,
		DownloadPatterns:       s.DownloadPatterns, ExportPatterns: s.ExportPatterns, UploadPatterns: s.UploadPatterns,
		CreatedAt: a.CreatedAt.UTC(),
	}
	if s.MonitorNotice != nil {
		out.MonitorNotice = *s.MonitorNotice
		if out.MonitorNotice == "" {
			out.MonitorNotice = "(off)"
		}
	}
	active, _ := activeKey(a.Keys)
	for _, k := range a.Keys {
		fp := ""
		if c, err := parseCertPEM(k.CertPEM); err == nil {
			fp = pki.Fingerprint(c)
		}
		out.Keys = append(out.Keys, api.AppKey{
			Serial: k.Serial, Active: k.Serial == active.Serial && !k.Retired, Retired: k.Retired,
			NotBefore: k.NotBefore.UTC(), NotAfter: k.NotAfter.UTC(), CertPEM: k.CertPEM, Fingerprint: fp,
		})
	}
	return out
}

func (d *Daemon) listApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := d.db.Apps(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.App, 0, len(apps))
	for _, a := range apps {
		out = append(out, d.toAPIApp(a))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) showApp(w http.ResponseWriter, r *http.Request) error {
	a, err := d.db.App(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.toAPIApp(a))
}

// checkURL requires an absolute https (or, for loopback tests, http) URL.
func checkURL(field, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return invalid("%s: %q is not an absolute http(s) URL", field, s)
	}
	return nil
}

func normaliseDomain(s string) (string, error) {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if !validHost(strings.TrimPrefix(h, "*.")) {
		return "", invalid("domain: %q is not a host name", s)
	}
	return h, nil
}

func (d *Daemon) onboardApp(w http.ResponseWriter, r *http.Request) error {
	var req api.OnboardRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	a, steps, err := d.onboard(r.Context(), req)
	if err != nil {
		return err
	}
	d.audit(r, "app.onboard", a.Name, map[string]any{"template": a.Template, "idp": a.IdP, "entity_id": a.EntityID, "acs_url": a.ACSURL, "serial": a.Keys[0].Serial})
	return writeJSON(w, http.StatusCreated, api.Onboarded{App: d.toAPIApp(a), Steps: steps})
}

// onboard creates an app from a template with a new replacement key, and
// returns it with the changes the admin makes in the IdP and the app. The
// caller holds writeMu.
func (d *Daemon) onboard(ctx context.Context, req api.OnboardRequest) (*store.App, []string, error) {
	t, ok := catalog.Lookup(req.Template)
	if !ok {
		var names []string
		for _, t := range catalog.Templates() {
			names = append(names, t.Name)
		}
		return nil, nil, invalid("template: unknown template %q (catalog: %s)", req.Template, strings.Join(names, ", "))
	}
	if req.Name == "" {
		req.Name = t.Name
	}
	if req.IdP == "" {
		return nil, nil, invalid("idp: the IdP the app's users sign in with is required (cas idp list)")
	}
	idp, err := d.db.IdP(ctx, req.IdP)
	if err != nil {
		if store.ErrorCode(err) == store.ENOTFOUND {
			return nil, nil, invalid("idp: no IdP named %q (cas idp list)", req.IdP)
		}
		return nil, nil, err
	}
	var domains []string
	for _, dm := range req.Domains {
		h, err := normaliseDomain(dm)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Contains(domains, h) {
			domains = append(domains, h)
		}
	}
	entityID, acsURL := req.EntityID, req.ACSURL
	settings := appSettings{IdPInitiated: t.IdPInitiated, SignResponse: t.SignResponse, SignRequests: req.SignRequests}
	switch {
	case req.SPMetadata != "" && (entityID != "" || acsURL != ""):
		return nil, nil, invalid("sp-metadata: give the app's metadata or --entity-id and --acs-url, not both")
	case req.SPMetadata != "":
		md, err := saml.ParseSPMetadata([]byte(req.SPMetadata), d.now())
		if err != nil {
			return nil, nil, invalid("sp-metadata: %v", err)
		}
		acs, ok := md.DefaultACS()
		if !ok {
			return nil, nil, invalid("sp-metadata: no HTTP-POST AssertionConsumerService")
		}
		entityID, acsURL = md.EntityID, acs.Location
		settings.RequireSignedAssertion = md.WantAssertionsSigned
	case entityID == "" && acsURL == "":
		if len(domains) == 0 || t.EntityID == "" {
			return nil, nil, invalid("entity-id: give --sp-metadata, or --entity-id and --acs-url, or a --domain for the %s template", t.Name)
		}
		vars := map[string]string{"domain": domains[0]}
		if entityID, err = catalog.Expand(t.EntityID, vars); err == nil {
			acsURL, err = catalog.Expand(t.ACSURL, vars)
		}
		if err != nil {
			return nil, nil, invalid("the %s template needs more than --domain to build the entity ID and ACS URL (%v): give --sp-metadata (%s's own SP metadata), or --entity-id and --acs-url", t.Name, err, t.DisplayName)
		}
	case entityID == "" || acsURL == "":
		return nil, nil, invalid("entity-id and acs-url go together")
	}
	if err := checkURL("acs-url", acsURL); err != nil {
		return nil, nil, err
	}
	// The app's own host is one of its domains.
	if u, err := url.Parse(acsURL); err == nil {
		h := strings.ToLower(u.Hostname())
		if !slices.Contains(domains, h) && !t.MatchHost(h) {
			domains = append(domains, h)
		}
	}
	sb, _ := json.Marshal(settings)
	key, err := newAppKey(req.Name, d.now())
	if err != nil {
		return nil, nil, err
	}
	a := &store.App{Name: req.Name, Template: t.Name, IdP: req.IdP, EntityID: entityID, ACSURL: acsURL, Domains: domains, Settings: sb, Keys: []store.AppKey{key}}
	if err := d.db.CreateApp(ctx, a); err != nil {
		return nil, nil, err
	}
	if err := d.reloadApps(ctx); err != nil {
		return nil, nil, err
	}
	if err := d.recompile(ctx); err != nil {
		return nil, nil, err
	}
	got, err := d.db.App(ctx, a.Name)
	if err != nil {
		return nil, nil, err
	}
	steps := []string{
		fmt.Sprintf("In the IdP %q (%s): in the app's SAML settings, set the ACS (reply) URL to %s, keeping the entity ID / audience %s.", req.IdP, idp.EntityID, d.proxyACSURL(a.Name), entityID),
		fmt.Sprintf("In %s: set the identity provider's login URL to %s.", t.DisplayName, d.proxySSOURL(a.Name)),
		fmt.Sprintf("In %s: replace the identity provider's signing certificate with the replacement certificate (serial %s; `cas app show %s --json` or --cert-out has it). The issuer / IdP entity ID stays %s.", t.DisplayName, key.Serial, a.Name, idp.EntityID),
		fmt.Sprintf("Or import metadata: `cas app metadata %s --for idp` into the IdP and `cas app metadata %s --for app` into the app.", a.Name, a.Name),
		fmt.Sprintf("Then add policies for the app: cas policy add NAME --kind access --app %s --action monitor|block|allow …", a.Name),
	}
	return got, steps, nil
}

// appsChanged rebuilds what depends on the apps.
func (d *Daemon) appsChanged(r *http.Request) error {
	if err := d.reloadApps(r.Context()); err != nil {
		return err
	}
	return d.recompile(r.Context())
}

func (d *Daemon) removeApp(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if users := d.policiesUsingApp(name); len(users) > 0 {
		return &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("app %q is used by policies: %s (remove them or take the app out of them first)", name, strings.Join(users, ", "))}
	}
	if err := d.db.DeleteApp(r.Context(), name); err != nil {
		return err
	}
	if err := d.appsChanged(r); err != nil {
		return err
	}
	d.audit(r, "app.rm", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changeApp applies change to the stored app under the write lock, stores
// it, rebuilds what depends on the apps, records the admin event with the
// details change returns, and answers with the app.
func (d *Daemon) changeApp(w http.ResponseWriter, r *http.Request, action string, change func(a *store.App) (details any, err error)) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	a, err := d.db.App(r.Context(), name)
	if err != nil {
		return err
	}
	details, err := change(a)
	if err != nil {
		return err
	}
	if err := d.db.UpdateApp(r.Context(), a); err != nil {
		return err
	}
	if err := d.appsChanged(r); err != nil {
		return err
	}
	d.audit(r, action, name, details)
	got, err := d.db.App(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.toAPIApp(got))
}

func (d *Daemon) patchApp(w http.ResponseWriter, r *http.Request) error {
	var p api.AppPatch
	if err := readJSON(r, &p); err != nil {
		return err
	}
	return d.changeApp(w, r, "app.set", func(a *store.App) (any, error) {
		s, err := decodeSettings(a)
		if err != nil {
			return nil, err
		}
		for field, pats := range map[string][]string{"download-pattern": p.AddDownloadPatterns, "export-pattern": p.AddExportPatterns, "upload-pattern": p.AddUploadPatterns} {
			if _, err := compilePatterns(field, pats); err != nil {
				return nil, invalid("%v", err)
			}
		}
		s.DownloadPatterns = appendNew(s.DownloadPatterns, p.AddDownloadPatterns)
		s.ExportPatterns = appendNew(s.ExportPatterns, p.AddExportPatterns)
		s.UploadPatterns = appendNew(s.UploadPatterns, p.AddUploadPatterns)
		if p.IdP != nil && *p.IdP != a.IdP {
			if _, err := d.db.IdP(r.Context(), *p.IdP); err != nil {
				if store.ErrorCode(err) == store.ENOTFOUND {
					return nil, invalid("idp: no IdP named %q (cas idp list)", *p.IdP)
				}
				return nil, err
			}
			a.IdP = *p.IdP
		}
		for _, b := range []struct {
			dst *bool
			v   *bool
		}{{&s.SignRequests, p.SignRequests}, {&s.SignResponse, p.SignResponse}, {&s.IdPInitiated, p.IdPInitiated}, {&s.RequireSignedAssertion, p.RequireSignedAssertion}} {
			if b.v != nil {
				*b.dst = *b.v
			}
		}
		if p.MonitorNotice != nil {
			v := *p.MonitorNotice
			s.MonitorNotice = &v
		}
		a.Settings, _ = json.Marshal(s)
		return p, nil
	})
}

func appendNew(dst, add []string) []string {
	for _, s := range add {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func (d *Daemon) rotateAppCert(w http.ResponseWriter, r *http.Request) error {
	return d.changeApp(w, r, "app.cert.rotate", func(a *store.App) (any, error) {
		k, err := newAppKey(a.Name, d.now())
		if err != nil {
			return nil, err
		}
		// The new key waits: the current one keeps signing until it is
		// retired, so the app can be given the new certificate first.
		k.Active = false
		a.Keys = append(a.Keys, k)
		return map[string]any{"serial": k.Serial}, nil
	})
}

func (d *Daemon) retireAppCert(w http.ResponseWriter, r *http.Request) error {
	var req api.RetireRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	return d.changeApp(w, r, "app.cert.retire", func(a *store.App) (any, error) {
		found, live := false, 0
		for i := range a.Keys {
			if !a.Keys[i].Retired {
				live++
			}
			if strings.EqualFold(a.Keys[i].Serial, req.Serial) {
				if a.Keys[i].Retired {
					return nil, invalid("serial: certificate %s is already retired", req.Serial)
				}
				found = true
			}
		}
		if !found {
			return nil, notFound("app %q has no certificate with serial %q", a.Name, req.Serial)
		}
		if live < 2 {
			return nil, invalid("serial: %s is the app's only certificate; rotate first (cas app cert rotate %s)", req.Serial, a.Name)
		}
		for i := range a.Keys {
			if strings.EqualFold(a.Keys[i].Serial, req.Serial) {
				a.Keys[i].Retired = true
			}
		}
		if k, ok := activeKey(a.Keys); ok {
			for i := range a.Keys {
				a.Keys[i].Active = a.Keys[i].Serial == k.Serial
			}
		}
		return map[string]any{"serial": req.Serial}, nil
	})
}

func (d *Daemon) appMetadata(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	a, err := d.db.App(r.Context(), name)
	if err != nil {
		return err
	}
	idp, err := d.db.IdP(r.Context(), a.IdP)
	if err != nil {
		return err
	}
	var certs []*x509.Certificate
	validUntil := d.now().Add(365 * 24 * time.Hour)
	active, _ := activeKey(a.Keys)
	for _, k := range a.Keys {
		if k.Retired {
			continue
		}
		c, err := parseCertPEM(k.CertPEM)
		if err != nil {
			return fmt.Errorf("app %s: certificate %s: %w", name, k.Serial, err)
		}
		if k.Serial == active.Serial {
			certs = append([]*x509.Certificate{c}, certs...)
		} else {
			certs = append(certs, c)
		}
		if c.NotAfter.Before(validUntil) {
			validUntil = c.NotAfter
		}
	}
	s, err := decodeSettings(a)
	if err != nil {
		return err
	}
	var doc []byte
	switch side := r.URL.Query().Get("for"); side {
	case "idp":
		var signing []*x509.Certificate
		if s.SignRequests {
			signing = certs
		}
		doc, err = saml.SPMetadataForIdP(a.EntityID, d.proxyACSURL(a.Name), signing, s.RequireSignedAssertion, validUntil)
	case "app":
		doc, err = saml.IdPMetadataForApp(idp.EntityID, d.proxySSOURL(a.Name), certs, validUntil)
	default:
		return invalid("for: %q is not one of idp, app", side)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, err = w.Write(doc)
	return err
}
