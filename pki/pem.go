package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// maxPEMBlocks bounds how many blocks ParseCertificatesPEM reads, so a huge
// upload cannot make it parse without end.
const maxPEMBlocks = 64

// ParseCertificatesPEM parses every block of data as a certificate, in order.
// It is strict: a block of another type, a certificate that does not parse,
// or anything but whitespace around the blocks is an error naming the block
// (1-based). Data without any certificate is an error too.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for n := 1; ; n++ {
		block, next := pem.Decode(rest)
		if block == nil {
			if len(bytes.TrimSpace(rest)) != 0 {
				if n == 1 {
					return nil, errors.New("parse certificates: no PEM data found")
				}
				return nil, fmt.Errorf("parse certificates: block %d: not valid PEM", n)
			}
			break
		}
		if lead := rest[:len(rest)-len(next)]; !bytes.HasPrefix(bytes.TrimSpace(lead), []byte("-----BEGIN")) {
			return nil, fmt.Errorf("parse certificates: block %d: unexpected data before the block", n)
		}
		if n > maxPEMBlocks {
			return nil, fmt.Errorf("parse certificates: more than %d blocks", maxPEMBlocks)
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("parse certificates: block %d: type %q, want CERTIFICATE", n, block.Type)
		}
		if len(block.Headers) != 0 {
			return nil, fmt.Errorf("parse certificates: block %d: unexpected PEM headers", n)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificates: block %d: %w", n, err)
		}
		certs = append(certs, c)
		rest = next
	}
	if len(certs) == 0 {
		return nil, errors.New("parse certificates: no certificate found")
	}
	return certs, nil
}

// ParsePrivateKeyPEM parses one PEM private key: PKCS#8 ("PRIVATE KEY"),
// PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Error messages never
// include key material.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("parse private key: no PEM data found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("parse private key: unexpected data after the key")
	}
	if _, ok := block.Headers["DEK-Info"]; ok {
		return nil, errors.New("parse private key: encrypted PEM keys are not supported")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("parse private key: unsupported PEM type %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key (%s): %w", block.Type, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("parse private key: unsupported key type %T", key)
	}
}

// ParseKeyPair parses a certificate (the first block of certPEM; later blocks
// must be certificates too) and its private key, and checks they belong
// together.
func ParseKeyPair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	certs, err := ParseCertificatesPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parse key pair: %w", err)
	}
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parse key pair: %w", err)
	}
	if err := matchKey(certs[0], key); err != nil {
		return nil, nil, fmt.Errorf("parse key pair: %w", err)
	}
	return certs[0], key, nil
}

// EncodeCertificatePEM returns cert as one PEM CERTIFICATE block.
func EncodeCertificatePEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// Fingerprint returns the SHA-256 of cert's DER encoding in lower-case hex,
// without separators.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// SerialHex returns cert's serial number in lower-case hex, the form cas shows
// and accepts (for example in `cas app cert retire --serial`).
func SerialHex(cert *x509.Certificate) string {
	return cert.SerialNumber.Text(16)
}

func marshalKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// matchKey reports an error unless key is the private half of cert's key.
func matchKey(cert *x509.Certificate, key crypto.Signer) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("private key does not match certificate %q", cert.Subject.CommonName)
	}
	return nil
}
