package pki

import (
	"crypto/x509"
	"fmt"

	"software.sslmate.com/src/go-pkcs12"
)

// PKCS12 bundles a certificate, its private key and the CA chain (zero or
// more PEM certificates, may be nil) into a password-protected PKCS#12 file
// for installing on a device. It uses go-pkcs12's Modern encoder
// (PBES2/AES-256-CBC, PBKDF2-HMAC-SHA-256, SHA-256 MAC), which NSS
// (pk12util, Chromium, Firefox), OpenSSL 1.1+, macOS and Windows 10+ read.
func PKCS12(certPEM, keyPEM, caChainPEM []byte, password string) ([]byte, error) {
	cert, key, err := ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: %w", err)
	}
	var chain []*x509.Certificate
	if len(caChainPEM) != 0 {
		chain, err = ParseCertificatesPEM(caChainPEM)
		if err != nil {
			return nil, fmt.Errorf("pkcs12: ca chain: %w", err)
		}
	}
	out, err := pkcs12.Modern.Encode(key, cert, chain, password)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: encode: %w", err)
	}
	return out, nil
}
