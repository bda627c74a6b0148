package daemon

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/device"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/store"
)

func toAPICA(c *store.CA, withPEM bool) api.CA {
	out := api.CA{
		Name:        c.Name,
		Subject:     c.Subject,
		Fingerprint: c.Fingerprint,
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		HasKey:      c.KeyPEM != "",
		CreatedAt:   c.CreatedAt.UTC(),
	}
	if cert, err := parseCertPEM(c.CertPEM); err == nil {
		out.Serial = strings.ToLower(cert.SerialNumber.Text(16))
	}
	switch {
	case c.CRLPath != "":
		out.CRL = c.CRLPath
	case c.CRLPEM != "":
		out.CRL = "stored"
	}
	if withPEM {
		out.PEM = c.CertPEM
	}
	return out
}

func (d *Daemon) listCAs(w http.ResponseWriter, r *http.Request) error {
	cas, err := d.db.CAs(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.CA, 0, len(cas))
	for _, c := range cas {
		out = append(out, toAPICA(c, false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) showCA(w http.ResponseWriter, r *http.Request) error {
	c, err := d.db.CA(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAPICA(c, true))
}

func (d *Daemon) addCA(w http.ResponseWriter, r *http.Request) error {
	var req api.AddCARequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	c := &store.CA{Name: req.Name}
	var cert *x509.Certificate
	switch {
	case req.Create && req.CertPEM != "":
		return invalid("cert: give a certificate or ask casd to create one, not both")
	case req.Create:
		ca, err := pki.NewRootCA("cas device CA "+req.Name, 10*365*24*time.Hour, d.now())
		if err != nil {
			return err
		}
		cert = ca.Cert
		c.CertPEM, c.KeyPEM = string(ca.CertPEM), string(ca.KeyPEM)
	default:
		var err error
		cert, err = device.ParseRootCA([]byte(req.CertPEM))
		if err != nil {
			return invalid("cert: %v", err)
		}
		c.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	}
	if d.now().After(cert.NotAfter) {
		return invalid("cert: the CA certificate expired on %s", cert.NotAfter.UTC().Format(time.RFC3339))
	}
	if req.CRLPEM != "" {
		if _, err := device.ParseCRL([]byte(req.CRLPEM)); err != nil {
			return invalid("crl: %v", err)
		}
		c.CRLPEM = req.CRLPEM
	}
	if req.CRLPath != "" {
		data, err := os.ReadFile(req.CRLPath)
		if err != nil {
			return invalid("crl: casd cannot read %s: %v", req.CRLPath, err)
		}
		if _, err := device.ParseCRL(data); err != nil {
			return invalid("crl %s: %v", req.CRLPath, err)
		}
		c.CRLPath = req.CRLPath
	}
	c.Subject = cert.Subject.String()
	c.Fingerprint = pki.Fingerprint(cert)
	c.NotBefore, c.NotAfter = cert.NotBefore, cert.NotAfter
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.db.CreateCA(r.Context(), c); err != nil {
		return err
	}
	d.reloadDevicePool(r.Context())
	d.audit(r, "ca.add", c.Name, map[string]any{"subject": c.Subject, "fingerprint": c.Fingerprint, "created": req.Create})
	got, err := d.db.CA(r.Context(), c.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAPICA(got, true))
}

func (d *Daemon) removeCA(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.db.DeleteCA(r.Context(), name); err != nil {
		return err
	}
	d.reloadDevicePool(r.Context())
	d.audit(r, "ca.rm", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) issueDevice(w http.ResponseWriter, r *http.Request) error {
	var req api.IssueDeviceRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	if strings.TrimSpace(req.Device) == "" {
		return invalid("device: a device name is required")
	}
	c, err := d.db.CA(r.Context(), name)
	if err != nil {
		return err
	}
	if c.KeyPEM == "" {
		return invalid("ca %q was imported without its key; casd can only issue from CAs made with `cas ca create`", name)
	}
	ca, err := pki.LoadCA([]byte(c.CertPEM), []byte(c.KeyPEM))
	if err != nil {
		return fmt.Errorf("load ca %s: %w", name, err)
	}
	days := req.Days
	if days <= 0 {
		days = 365
	}
	certPEM, keyPEM, cert, err := ca.IssueClient(req.Device, time.Duration(days)*24*time.Hour, d.now())
	if err != nil {
		return err
	}
	p12, err := pki.PKCS12(certPEM, keyPEM, []byte(c.CertPEM), req.Password)
	if err != nil {
		return err
	}
	d.audit(r, "ca.issue", name, map[string]any{"device": req.Device, "serial": strings.ToLower(cert.SerialNumber.Text(16))})
	return writeJSON(w, http.StatusCreated, api.IssuedDevice{
		Device:  req.Device,
		Cert:    certInfo(cert, false),
		CertPEM: string(certPEM),
		KeyPEM:  string(keyPEM),
		PKCS12:  p12,
	})
}
