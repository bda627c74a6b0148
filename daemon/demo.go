package daemon

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/demo"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
)

// The demo's fixed names.
const (
	demoIdPName     = "demo-idp"
	demoAppName     = "demo-salesforce"
	demoIdPHost     = "idp.demo.localhost"
	demoAppDomain   = "demo-salesforce.localhost"
	demoCAName      = "demo-devices"
	demoDevicePass  = "demo"
	demoUsersFile   = "demo-users.json"
	demoIdPCertFile = "demo-idp.crt"
	demoIdPKeyFile  = "demo-idp.key"
)

// demoRig is the demo IdP and app served on casd's own listener.
type demoRig struct {
	idp      *demo.IdP
	app      *demo.App
	appHosts map[string]bool
	users    []demo.User
}

// DemoInfo is what casd --demo tells the person who started it.
type DemoInfo struct {
	OpenURL    string
	Portal     string
	Users      []demo.User
	CACert     string
	DeviceP12  string
	DevicePass string
	StateDir   string
	Socket     string
}

// demoHandler returns the handler for a demo host, or nil.
func (d *Daemon) demoHandler(host string) http.Handler {
	rig := d.demo.Load()
	if rig == nil {
		return nil
	}
	if host == demoIdPHost {
		return rig.idp.Handler()
	}
	if rig.appHosts[host] {
		return rig.app.Handler()
	}
	return nil
}

// isDemoHost reports whether host is one the demo serves (for certificates).
func (d *Daemon) isDemoHost(host string) bool {
	return d.demoMode && (host == demoIdPHost || strings.HasSuffix(host, "."+demoAppDomain))
}

// loadOrCreateDemoUsers returns alice and bob with passwords kept in the
// demo state directory, so they stay the same across restarts.
func loadOrCreateDemoUsers(dir string) ([]demo.User, error) {
	path := filepath.Join(dir, demoUsersFile)
	pw := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &pw); err != nil {
			return nil, fmt.Errorf("demo users %s: %w", path, err)
		}
	}
	changed := false
	users := demo.DefaultUsers(func(name string) string {
		if pw[name] == "" {
			pw[name] = name + "-" + randomHex(3)
			changed = true
		}
		return pw[name]
	})
	if changed {
		b, _ := json.MarshalIndent(pw, "", "  ")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write demo users: %w", err)
		}
	}
	return users, nil
}

// loadOrCreateFilePair returns a PEM certificate and key kept in files,
// making them with create the first time.
func loadOrCreateFilePair(certPath, keyPath string, create func() (certPEM, keyPEM []byte, err error)) ([]byte, []byte, error) {
	c, errC := os.ReadFile(certPath)
	k, errK := os.ReadFile(keyPath)
	if errC == nil && errK == nil {
		return c, k, nil
	}
	c, k, err := create()
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(keyPath, k, 0o600); err != nil {
		return nil, nil, err
	}
	return c, k, os.WriteFile(certPath, c, 0o644)
}

// setupDemo brings up the demo IdP and app on this casd and makes sure the
// store holds them, the sample policies and a demo device CA with one
// device certificate. It is idempotent: a restart keeps what exists.
func (d *Daemon) setupDemo(ctx context.Context) (*DemoInfo, error) {
	cfg := d.config()
	dir := cfg.StateDir
	users, err := loadOrCreateDemoUsers(dir)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := loadOrCreateFilePair(filepath.Join(dir, demoIdPCertFile), filepath.Join(dir, demoIdPKeyFile), func() ([]byte, []byte, error) {
		c, k, _, err := pki.NewSigningCert("cas demo IdP", 2048, 10*365*24*time.Hour, d.now())
		return c, k, err
	})
	if err != nil {
		return nil, fmt.Errorf("demo idp key: %w", err)
	}
	idpCert, idpKey, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("demo idp key: %w", err)
	}
	idp, err := demo.NewIdP(demo.IdPConfig{BaseURL: d.hostURL(demoIdPHost), Users: users, Key: idpKey, Cert: idpCert, Now: d.now, Logger: d.log.With("component", "demo-idp")})
	if err != nil {
		return nil, err
	}
	app, err := demo.NewApp(demo.AppConfig{Org: "acme", Domain: demoAppDomain, Port: d.publicPort(), Now: d.now, Logger: d.log.With("component", "demo-app")})
	if err != nil {
		return nil, err
	}

	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	md, err := idp.MetadataXML()
	if err != nil {
		return nil, err
	}
	parsed, err := saml.ParseIdPMetadata(md, d.now())
	if err != nil {
		return nil, fmt.Errorf("demo idp metadata: %w", err)
	}
	rec := &store.IdP{Name: demoIdPName, EntityID: parsed.EntityID, CertsPEM: certsPEM(parsed.SigningCerts), GroupsAttrs: saml.DefaultGroupsAttrs(), Metadata: md}
	for _, e := range parsed.SSO {
		rec.SSO = append(rec.SSO, store.Endpoint{Binding: e.Binding, Location: e.Location})
	}
	switch _, err := d.db.IdP(ctx, demoIdPName); {
	case store.ErrorCode(err) == store.ENOTFOUND:
		err = d.db.CreateIdP(ctx, rec)
		if err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		// The port may differ from the last run: URLs follow it.
		if err := d.db.UpdateIdP(ctx, rec); err != nil {
			return nil, err
		}
	}
	switch a, err := d.db.App(ctx, demoAppName); {
	case store.ErrorCode(err) == store.ENOTFOUND:
		if _, _, err := d.onboard(ctx, api.OnboardRequest{Template: demoAppName, Name: demoAppName, IdP: demoIdPName, EntityID: app.EntityID(), ACSURL: app.ACSURL(), Domains: app.Hosts()}); err != nil {
			return nil, fmt.Errorf("demo: onboard: %w", err)
		}
	case err != nil:
		return nil, err
	default:
		a.EntityID, a.ACSURL, a.Domains = app.EntityID(), app.ACSURL(), app.Hosts()
		if err := d.db.UpdateApp(ctx, a); err != nil {
			return nil, err
		}
	}
	if err := d.reloadApps(ctx); err != nil {
		return nil, err
	}
	rt := d.app(demoAppName)
	if rt == nil {
		return nil, errors.New("demo: the demo app did not load")
	}
	syncDemoApp(app, rt, d.proxySSOURL(demoAppName))
	if err := idp.RegisterApp(demoAppName, "Demo Salesforce", app.EntityID(), d.proxyACSURL(demoAppName)); err != nil {
		return nil, err
	}
	if err := d.demoPolicies(ctx); err != nil {
		return nil, err
	}
	p12, err := d.demoDevice(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := d.recompile(ctx); err != nil {
		return nil, err
	}
	hosts := map[string]bool{}
	for _, h := range app.Hosts() {
		hosts[h] = true
	}
	d.demo.Store(&demoRig{idp: idp, app: app, appHosts: hosts, users: users})
	return &DemoInfo{
		OpenURL: d.hostURL(demoIdPHost) + "/", Portal: d.portalURL() + "/", Users: users,
		CACert: filepath.Join(dir, tlsCACertFile), DeviceP12: p12, DevicePass: demoDevicePass,
		StateDir: dir, Socket: cfg.Socket,
	}, nil
}

// demoPolicies adds the sample policies when there are none.
func (d *Daemon) demoPolicies(ctx context.Context) error {
	existing, err := d.db.Policies(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	apps := policy.StringFilter{Include: []string{demoAppName}}
	ps := []policy.Policy{
		{Name: "identify-managed", Kind: policy.KindAccess, Priority: 10, LogOnly: true, Action: policy.ActionAllow,
			Description: "Records whether each login's device is managed (the seed's advice); changes nothing.",
			Filters:     policy.Filters{Device: policy.StringFilter{Include: []string{"managed"}}}},
		{Name: "monitor-demo-salesforce", Kind: policy.KindAccess, Priority: 20, Action: policy.ActionMonitor,
			Description: "Every Demo Salesforce session flows through casd.",
			Filters:     policy.Filters{Apps: apps}},
		{Name: "block-downloads-unmanaged", Kind: policy.KindSession, Priority: 30, Action: policy.ActionBlock,
			Message: "Downloads are blocked on unmanaged devices. Use a company laptop.",
			Filters: policy.Filters{Apps: apps, Device: policy.StringFilter{Include: []string{"unmanaged"}}, Activities: policy.StringFilter{Include: []string{"download"}}}},
		{Name: "block-export-contractors", Kind: policy.KindSession, Priority: 40, Action: policy.ActionBlock,
			Message: "Contractors cannot export reports.",
			Filters: policy.Filters{Apps: apps, Groups: policy.StringFilter{Include: []string{"contractors"}}, Activities: policy.StringFilter{Include: []string{"export"}}}},
		{Name: "block-card-numbers-upload", Kind: policy.KindSession, Priority: 50, Action: policy.ActionBlock,
			Message: "Files holding payment card numbers cannot be uploaded.",
			Filters: policy.Filters{Apps: apps, Activities: policy.StringFilter{Include: []string{"upload"}}, Content: policy.ContentFilter{Include: []policy.ContentRule{{Type: "cc"}}}}},
	}
	for _, p := range ps {
		rec, err := encodePolicy(p)
		if err != nil {
			return err
		}
		if err := d.db.CreatePolicy(ctx, rec); err != nil {
			return fmt.Errorf("demo policy %s: %w", p.Name, err)
		}
	}
	return nil
}

// demoDevice makes the demo device CA and one device certificate
// (device.p12, device.pem, device.key in dir) when absent.
func (d *Daemon) demoDevice(ctx context.Context, dir string) (string, error) {
	p12Path := filepath.Join(dir, "device.p12")
	_, err := d.db.CA(ctx, demoCAName)
	if err == nil {
		if _, err := os.Stat(p12Path); err == nil {
			d.reloadDevicePool(ctx)
			return p12Path, nil
		}
	}
	if err != nil && store.ErrorCode(err) != store.ENOTFOUND {
		return "", err
	}
	if err != nil {
		ca, err := pki.NewRootCA("cas demo device CA", 10*365*24*time.Hour, d.now())
		if err != nil {
			return "", err
		}
		if err := d.db.CreateCA(ctx, &store.CA{Name: demoCAName, Subject: ca.Cert.Subject.String(), Fingerprint: pki.Fingerprint(ca.Cert), CertPEM: string(ca.CertPEM), KeyPEM: string(ca.KeyPEM), NotBefore: ca.Cert.NotBefore, NotAfter: ca.Cert.NotAfter}); err != nil {
			return "", err
		}
	}
	rec, err := d.db.CA(ctx, demoCAName)
	if err != nil {
		return "", err
	}
	ca, err := pki.LoadCA([]byte(rec.CertPEM), []byte(rec.KeyPEM))
	if err != nil {
		return "", err
	}
	certPEM, keyPEM, _, err := ca.IssueClient("demo laptop", 365*24*time.Hour, d.now())
	if err != nil {
		return "", err
	}
	p12, err := pki.PKCS12(certPEM, keyPEM, []byte(rec.CertPEM), demoDevicePass)
	if err != nil {
		return "", err
	}
	for name, data := range map[string][]byte{"device.pem": certPEM, "device.key": keyPEM, "device.p12": p12} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	d.reloadDevicePool(ctx)
	return p12Path, nil
}

// demoListenOK reports whether addr is a loopback address, the only place
// the demo listens.
func demoListenOK(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// syncDemoApp points the demo app at casd as its IdP, with the current
// issuer and replacement certificates, as an admin would configure the real
// app; called at start and whenever apps change (a new IdP, a rotation).
func syncDemoApp(app *demo.App, rt *appRuntime, ssoURL string) {
	var certs []*x509.Certificate
	for _, k := range rt.app.Keys {
		if c, err := parseCertPEM(k.CertPEM); err == nil && !k.Retired {
			certs = append(certs, c)
		}
	}
	app.SetIdP(rt.idp.EntityID, ssoURL, certs)
}
