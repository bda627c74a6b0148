package pki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"
)

// Bounds on the RSA modulus of a SAML signing key.
const (
	MinSigningBits = 2048
	MaxSigningBits = 8192
)

// NewSigningCert creates a self-signed RSA certificate (SHA-256 with RSA) for
// signing SAML messages: an app's replacement IdP certificate. bits must be
// between MinSigningBits and MaxSigningBits. It returns the certificate and
// its PKCS#8 key in PEM, and the serial number in lower-case hex (SerialHex).
func NewSigningCert(commonName string, bits int, validity time.Duration, now time.Time) (certPEM, keyPEM []byte, serial string, err error) {
	if err := checkCommon(commonName, validity); err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: %w", err)
	}
	if bits < MinSigningBits || bits > MaxSigningBits {
		return nil, nil, "", fmt.Errorf("new signing certificate: %d-bit RSA key, want %d to %d", bits, MinSigningBits, MaxSigningBits)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: generate key: %w", err)
	}
	tmpl, err := leafTemplate(validity, now)
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: %w", err)
	}
	tmpl.Subject = pkix.Name{CommonName: commonName}
	tmpl.SignatureAlgorithm = x509.SHA256WithRSA
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: %w", err)
	}
	tmpl.SubjectKeyId = ski
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: sign: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: parse: %w", err)
	}
	keyPEM, err = marshalKeyPEM(key)
	if err != nil {
		return nil, nil, "", fmt.Errorf("new signing certificate: %w", err)
	}
	return EncodeCertificatePEM(cert), keyPEM, SerialHex(cert), nil
}
