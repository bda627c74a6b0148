package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestNewSigningCert(t *testing.T) {
	tests := []struct {
		name    string
		bits    int
		wantErr string
	}{
		{"1024 refused", 1024, "2048"},
		{"2048", 2048, ""},
		{"3072", 3072, ""},
		{"too big", 16384, "8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPEM, keyPEM, serial, err := NewSigningCert("acme salesforce", tt.bits, 365*24*time.Hour, t0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSigningCert: %v", err)
			}
			cert, key, err := ParseKeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatalf("ParseKeyPair: %v", err)
			}
			if cert.SignatureAlgorithm != x509.SHA256WithRSA {
				t.Errorf("signature algorithm %v, want SHA256-RSA", cert.SignatureAlgorithm)
			}
			if k, ok := key.(*rsa.PrivateKey); !ok || k.N.BitLen() != tt.bits {
				t.Errorf("key %T, want %d-bit RSA", key, tt.bits)
			}
			if serial != SerialHex(cert) || serial == "" {
				t.Errorf("serial %q, certificate's %q", serial, SerialHex(cert))
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("not self-signed: %v", err)
			}
			if cert.IsCA {
				t.Error("signing certificate is a CA")
			}
		})
	}
}

func TestParseKeyPairMismatch(t *testing.T) {
	c1, _, _, err := NewSigningCert("one", 2048, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, k2, _, err := NewSigningCert("two", 2048, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ParseKeyPair(c1, k2); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("ParseKeyPair error = %v, want a mismatch", err)
	}
}

func mustECDSA(t *testing.T, k any) *ecdsa.PrivateKey {
	t.Helper()
	e, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("key %T, want ECDSA", k)
	}
	return e
}

func mustRSA(t *testing.T, k any) *rsa.PrivateKey {
	t.Helper()
	r, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("key %T, want RSA", k)
	}
	return r
}
