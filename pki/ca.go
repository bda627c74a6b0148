package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Backdate is how far before "now" every issued certificate becomes valid, so
// that a relying party whose clock runs slightly behind still accepts it.
const Backdate = 5 * time.Minute

// maxChain bounds the issuer chain a loaded CA may carry.
const maxChain = 8

// CA is a certificate authority: its certificate and private key, and both in
// PEM form for storage. An intermediate CA also carries the chain of issuer
// certificates above it (excluding the root), which IssueServer appends to
// the certificates it returns.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert in PEM, followed by the intermediates above it, if
	// any (never the self-signed root): what a client needs besides the
	// root to build the chain, and what LoadCA reads back.
	CertPEM []byte
	// KeyPEM is Key as a PKCS#8 PEM block.
	KeyPEM []byte

	// chain holds the issuers above Cert up to, but excluding, a
	// self-signed root.
	chain []*x509.Certificate
}

// NewRootCA creates a self-signed ECDSA P-256 root CA valid from now (minus
// Backdate) for validity. The root may sign one level of intermediate CAs
// (MaxPathLen 1).
func NewRootCA(commonName string, validity time.Duration, now time.Time) (*CA, error) {
	if err := checkCommon(commonName, validity); err != nil {
		return nil, fmt.Errorf("new root ca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new root ca: generate key: %w", err)
	}
	tmpl, err := caTemplate(commonName, key.Public(), validity, now, 1)
	if err != nil {
		return nil, fmt.Errorf("new root ca: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new root ca: sign: %w", err)
	}
	return newCA(der, key, nil)
}

// NewIntermediate creates an ECDSA P-256 intermediate CA signed by ca, valid
// from now (minus Backdate) for validity but never beyond ca's own expiry.
// The intermediate may sign leaves only (MaxPathLen 0).
func (ca *CA) NewIntermediate(commonName string, validity time.Duration, now time.Time) (*CA, error) {
	if err := checkCommon(commonName, validity); err != nil {
		return nil, fmt.Errorf("new intermediate ca: %w", err)
	}
	if err := ca.usable(now); err != nil {
		return nil, fmt.Errorf("new intermediate ca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new intermediate ca: generate key: %w", err)
	}
	tmpl, err := caTemplate(commonName, key.Public(), validity, now, 0)
	if err != nil {
		return nil, fmt.Errorf("new intermediate ca: %w", err)
	}
	ca.clamp(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("new intermediate ca: sign: %w", err)
	}
	return newCA(der, key, ca.issuerChain())
}

// LoadCA parses a CA from PEM: certPEM holds the CA's certificate first,
// optionally followed by its issuer chain (a self-signed root ends it and is
// dropped); keyPEM holds its private key
// (PKCS#8, PKCS#1 or SEC 1). It refuses a certificate that is not a CA or a
// key that does not match it.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	certs, err := ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	if len(certs) > maxChain {
		return nil, fmt.Errorf("load ca: %d certificates, at most %d allowed", len(certs), maxChain)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	cert := certs[0]
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return nil, fmt.Errorf("load ca: certificate %q is not a CA (basic constraints)", cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("load ca: certificate %q may not sign certificates (key usage)", cert.Subject.CommonName)
	}
	if err := matchKey(cert, key); err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	var chain []*x509.Certificate
	for _, c := range certs[1:] {
		if isSelfSigned(c) {
			break
		}
		chain = append(chain, c)
	}
	canonKey, err := marshalKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w", err)
	}
	canon := EncodeCertificatePEM(cert)
	for _, c := range chain {
		canon = append(canon, EncodeCertificatePEM(c)...)
	}
	return &CA{Cert: cert, Key: key, CertPEM: canon, KeyPEM: canonKey, chain: chain}, nil
}

// IssueServer issues a server certificate (ECDSA P-256, server-auth EKU) for
// names, each a DNS name (a leading "*." wildcard label allowed) or an IP
// address. The result carries the CA chain above the leaf (without a
// self-signed root) and its parsed Leaf.
func (ca *CA) IssueServer(names []string, validity time.Duration, now time.Time) (*tls.Certificate, error) {
	if len(names) == 0 {
		return nil, errors.New("issue server certificate: no names")
	}
	if validity <= 0 {
		return nil, fmt.Errorf("issue server certificate: validity %v is not positive", validity)
	}
	if err := ca.usable(now); err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	tmpl, err := leafTemplate(validity, now)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: %w", err)
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(n, "."))
		if !validDNSName(name) {
			return nil, fmt.Errorf("issue server certificate: invalid name %q", n)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, name)
	}
	if len(names[0]) <= 64 {
		tmpl.Subject = pkix.Name{CommonName: names[0]}
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	ca.clamp(tmpl)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: sign: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue server certificate: parse: %w", err)
	}
	out := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	for _, c := range ca.issuerChain() {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out, nil
}

// IssueClient issues a client certificate (ECDSA P-256, client-auth EKU) for a
// device, as used by `cas ca issue`. It returns the certificate and its
// PKCS#8 key in PEM, and the parsed certificate.
func (ca *CA) IssueClient(commonName string, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, cert *x509.Certificate, err error) {
	if err := checkCommon(commonName, validity); err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: %w", err)
	}
	if err := ca.usable(now); err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: %w", err)
	}
	tmpl, err := leafTemplate(validity, now)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: %w", err)
	}
	tmpl.Subject = pkix.Name{CommonName: commonName}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	ca.clamp(tmpl)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: generate key: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: sign: %w", err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: parse: %w", err)
	}
	keyPEM, err = marshalKeyPEM(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("issue client certificate: %w", err)
	}
	return EncodeCertificatePEM(cert), keyPEM, cert, nil
}

// issuerChain returns ca's certificate and those above it, excluding a
// self-signed root: what a server sends after its leaf.
func (ca *CA) issuerChain() []*x509.Certificate {
	var out []*x509.Certificate
	if !isSelfSigned(ca.Cert) {
		out = append(out, ca.Cert)
	}
	return append(out, ca.chain...)
}

// usable reports an error when ca cannot issue at now.
func (ca *CA) usable(now time.Time) error {
	if ca == nil || ca.Cert == nil || ca.Key == nil {
		return errors.New("ca is not initialised")
	}
	if now.After(ca.Cert.NotAfter) {
		return fmt.Errorf("ca %q expired at %s", ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// clamp keeps a child's validity inside the CA's, since a certificate that
// outlives its issuer would fail verification at the end of its life anyway.
func (ca *CA) clamp(tmpl *x509.Certificate) {
	if tmpl.NotAfter.After(ca.Cert.NotAfter) {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	if tmpl.NotBefore.Before(ca.Cert.NotBefore) {
		tmpl.NotBefore = ca.Cert.NotBefore
	}
}

func newCA(der []byte, key crypto.Signer, chain []*x509.Certificate) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse ca certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return nil, err
	}
	certPEM := EncodeCertificatePEM(cert)
	for _, c := range chain {
		certPEM = append(certPEM, EncodeCertificatePEM(c)...)
	}
	return &CA{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM, chain: chain}, nil
}

func caTemplate(cn string, pub crypto.PublicKey, validity time.Duration, now time.Time, maxPath int) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            maxPath,
		MaxPathLenZero:        maxPath == 0,
		SubjectKeyId:          ski,
	}, nil
}

func leafTemplate(validity time.Duration, now time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             now.Add(-Backdate).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}, nil
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// subjectKeyID follows RFC 5280 4.2.1.2 method 1 (SHA-1 of the public key
// bits); SHA-1 here is an identifier, not a security function.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

func checkCommon(cn string, validity time.Duration) error {
	if strings.TrimSpace(cn) == "" {
		return errors.New("empty common name")
	}
	if len(cn) > 64 {
		return fmt.Errorf("common name %q longer than 64 bytes", cn)
	}
	if validity <= 0 {
		return fmt.Errorf("validity %v is not positive", validity)
	}
	return nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// validDNSName reports whether name is a plausible lower-case host name, with
// an optional leading wildcard label.
func validDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
