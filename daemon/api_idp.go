package daemon

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
)

func certsPEM(cs []saml.Certificate) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.PEM)
	}
	return out
}

// certInfo describes a certificate for the API.
func certInfo(c *x509.Certificate, withPEM bool) api.CertInfo {
	sum := sha256.Sum256(c.Raw)
	ci := api.CertInfo{
		Subject:     c.Subject.String(),
		Issuer:      c.Issuer.String(),
		Serial:      strings.ToLower(c.SerialNumber.Text(16)),
		Fingerprint: hex.EncodeToString(sum[:]),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
	}
	if withPEM {
		ci.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return ci
}

func parseCertPEM(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func (d *Daemon) toAPIIdP(p *store.IdP, apps []string, withPEM bool) api.IdP {
	out := api.IdP{
		Name:        p.Name,
		EntityID:    p.EntityID,
		EmailAttr:   p.EmailAttr,
		GroupsAttrs: p.GroupsAttrs,
		Apps:        apps,
		CreatedAt:   p.CreatedAt.UTC(),
		UpdatedAt:   p.UpdatedAt.UTC(),
	}
	for _, e := range p.SSO {
		out.SSO = append(out.SSO, api.Endpoint{Binding: e.Binding, Location: e.Location})
	}
	now := d.now()
	for _, s := range p.CertsPEM {
		c, err := parseCertPEM(s)
		if err != nil {
			continue
		}
		out.Certs = append(out.Certs, certInfo(c, withPEM))
		if now.After(c.NotAfter) {
			out.Warnings = append(out.Warnings, fmt.Sprintf("signing certificate %s expired on %s", c.Subject, c.NotAfter.UTC().Format("2006-01-02")))
		}
	}
	return out
}

func (d *Daemon) listIdPs(w http.ResponseWriter, r *http.Request) error {
	idps, err := d.db.IdPs(r.Context())
	if err != nil {
		return err
	}
	apps, err := d.appsByIdP(r)
	if err != nil {
		return err
	}
	out := make([]api.IdP, 0, len(idps))
	for _, p := range idps {
		out = append(out, d.toAPIIdP(p, apps[p.Name], false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) appsByIdP(r *http.Request) (map[string][]string, error) {
	apps, err := d.db.Apps(r.Context())
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for _, a := range apps {
		m[a.IdP] = append(m[a.IdP], a.Name)
	}
	return m, nil
}

func (d *Daemon) showIdP(w http.ResponseWriter, r *http.Request) error {
	p, err := d.db.IdP(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	apps, err := d.appsByIdP(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d.toAPIIdP(p, apps[p.Name], true))
}

func (d *Daemon) addIdP(w http.ResponseWriter, r *http.Request) error {
	var req api.AddIdPRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Metadata) == "" {
		return invalid("metadata: empty")
	}
	md, err := saml.ParseIdPMetadata([]byte(req.Metadata), d.now())
	var warnings []string
	if err != nil {
		var exp *saml.ExpiredCertError
		if !errors.As(err, &exp) || md == nil {
			return invalid("metadata: %v", err)
		}
		if !req.Force {
			return &api.Error{Code: api.CodeExpiredCert, Message: fmt.Sprintf("metadata: %v (use --force to import it anyway)", err)}
		}
		warnings = append(warnings, err.Error())
	}
	groups := req.GroupsAttrs
	if len(groups) == 0 {
		groups = saml.DefaultGroupsAttrs()
	}
	p := &store.IdP{
		Name:        req.Name,
		EntityID:    md.EntityID,
		CertsPEM:    certsPEM(md.SigningCerts),
		EmailAttr:   req.EmailAttr,
		GroupsAttrs: groups,
		Metadata:    []byte(req.Metadata),
	}
	for _, e := range md.SSO {
		p.SSO = append(p.SSO, store.Endpoint{Binding: e.Binding, Location: e.Location})
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.db.CreateIdP(r.Context(), p); err != nil {
		return err
	}
	d.audit(r, "idp.add", p.Name, map[string]any{"entity_id": p.EntityID, "forced": req.Force && len(warnings) > 0})
	got, err := d.db.IdP(r.Context(), p.Name)
	if err != nil {
		return err
	}
	out := d.toAPIIdP(got, nil, false)
	out.Warnings = append(warnings, out.Warnings...)
	return writeJSON(w, http.StatusCreated, out)
}

func (d *Daemon) removeIdP(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.db.DeleteIdP(r.Context(), name); err != nil {
		return err
	}
	d.audit(r, "idp.rm", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
