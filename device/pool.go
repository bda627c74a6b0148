package device

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Root is one of the admin's root CAs: a device certificate that chains to
// Cert is managed unless CRL, when set, lists it or its issuer.
type Root struct {
	// Name is the admin's name for the CA (`cas ca add NAME`).
	Name string
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// CRL, optional, is the CA's revocation list; it must be signed by Cert.
	CRL *x509.RevocationList
}

// Pool is an immutable set of root CAs. Build a new Pool to change it (for
// example after `cas ca rm`) and swap it in atomically; a Pool in use is never
// modified, so Verify needs no locking.
type Pool struct {
	roots []Root
	certs *x509.CertPool
}

// NewPool validates roots and returns a pool of them. Each root needs a
// unique non-empty name and a CA certificate (basic constraints); a CRL must
// be a CRL signed by its root. An empty list is valid: every device is then
// unmanaged.
func NewPool(roots []Root) (*Pool, error) {
	p := &Pool{certs: x509.NewCertPool()}
	seen := make(map[string]bool)
	for i, r := range roots {
		if r.Name == "" {
			return nil, fmt.Errorf("device pool: root %d: empty name", i+1)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("device pool: duplicate root name %q", r.Name)
		}
		seen[r.Name] = true
		if err := checkCA(r.Cert); err != nil {
			return nil, fmt.Errorf("device pool: root %q: %w", r.Name, err)
		}
		for _, prev := range p.roots {
			if prev.Cert.Equal(r.Cert) {
				return nil, fmt.Errorf("device pool: roots %q and %q are the same certificate", prev.Name, r.Name)
			}
		}
		if r.CRL != nil {
			if err := r.CRL.CheckSignatureFrom(r.Cert); err != nil {
				return nil, fmt.Errorf("device pool: root %q: crl not signed by this ca: %w", r.Name, err)
			}
		}
		p.roots = append(p.roots, r)
		p.certs.AddCert(r.Cert)
	}
	return p, nil
}

// Len reports how many root CAs the pool holds.
func (p *Pool) Len() int {
	if p == nil {
		return 0
	}
	return len(p.roots)
}

// Names returns the roots' names in the order given to NewPool.
func (p *Pool) Names() []string {
	if p == nil {
		return nil
	}
	out := make([]string, len(p.roots))
	for i, r := range p.roots {
		out[i] = r.Name
	}
	return out
}

// ParseRootCA parses exactly one CA certificate, PEM or DER. A leaf
// certificate, several certificates, another PEM type or garbage is an error
// saying which.
func ParseRootCA(data []byte) (*x509.Certificate, error) {
	der, err := singleBlock(data, "CERTIFICATE")
	if err != nil {
		return nil, fmt.Errorf("parse root ca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse root ca: %w", err)
	}
	if err := checkCA(cert); err != nil {
		return nil, fmt.Errorf("parse root ca: %w", err)
	}
	return cert, nil
}

// ParseCRL parses one certificate revocation list, PEM ("X509 CRL") or DER.
// Whether it belongs to a CA is checked by NewPool.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	der, err := singleBlock(data, "X509 CRL")
	if err != nil {
		return nil, fmt.Errorf("parse crl: %w", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("parse crl: %w", err)
	}
	return crl, nil
}

// singleBlock returns the DER of the only PEM block of data, which must be of
// type want, or data itself when it is not PEM (DER).
func singleBlock(data []byte, want string) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty input")
	}
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		if bytes.Contains(trimmed, []byte("-----BEGIN")) {
			return nil, errors.New("unexpected data before the PEM block")
		}
		if trimmed[0] != 0x30 { // an ASN.1 SEQUENCE, as every DER structure here
			return nil, errors.New("neither PEM nor DER")
		}
		return data, nil
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errors.New("invalid PEM")
	}
	if block.Type != want {
		return nil, fmt.Errorf("PEM block of type %q, want %q", block.Type, want)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		if next, _ := pem.Decode(rest); next != nil {
			return nil, fmt.Errorf("more than one PEM block (a second %q): give exactly one", next.Type)
		}
		return nil, errors.New("unexpected data after the PEM block")
	}
	return block.Bytes, nil
}

func checkCA(c *x509.Certificate) error {
	if c == nil {
		return errors.New("no certificate")
	}
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("certificate %q is not a CA (basic constraints CA:TRUE missing): give the issuing CA's certificate, not a device certificate", name)
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("certificate %q is a CA but may not sign certificates (key usage)", strings.TrimSpace(name))
	}
	return nil
}
