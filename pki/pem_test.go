package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseCertificatesPEM(t *testing.T) {
	root := mustRoot(t, "root")
	leaf, _, _, err := root.IssueClient("d", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not der")})
	tests := []struct {
		name    string
		data    string
		want    int
		wantErr string
	}{
		{"one", string(leaf), 1, ""},
		{"two with blank lines", string(leaf) + "\n\n" + string(root.CertPEM) + "\n", 2, ""},
		{"empty", "", 0, "no certificate found"},
		{"garbage", "hello world", 0, "no PEM data"},
		{"garbage before", "junk\n" + string(leaf), 0, "block 1: unexpected data"},
		{"garbage after", string(leaf) + "junk", 0, "block 2: not valid PEM"},
		{"key block second", string(leaf) + string(root.KeyPEM), 0, `block 2: type "PRIVATE KEY"`},
		{"corrupt der", string(leaf) + string(corrupt), 0, "block 2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := ParseCertificatesPEM([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCertificatesPEM: %v", err)
			}
			if len(certs) != tt.want {
				t.Fatalf("%d certificates, want %d", len(certs), tt.want)
			}
		})
	}
}

func TestParsePrivateKeyPEMForms(t *testing.T) {
	root := mustRoot(t, "root")
	key, err := ParsePrivateKeyPEM(root.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, rsaKeyPEM, _, err := NewSigningCert("sign", 2048, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := ParsePrivateKeyPEM(rsaKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(mustECDSA(t, key))
	if err != nil {
		t.Fatal(err)
	}
	rsaDER := x509.MarshalPKCS1PrivateKey(mustRSA(t, rsaKey))
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"pkcs8", root.KeyPEM, false},
		{"sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), false},
		{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: rsaDER}), false},
		{"certificate", root.CertPEM, true},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: rsaDER}), true},
		{"two keys", append(append([]byte(nil), root.KeyPEM...), root.KeyPEM...), true},
		{"corrupt", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tt.data)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	root := mustRoot(t, "root")
	got := Fingerprint(root.Cert)
	sum := sha256.Sum256(root.Cert.Raw)
	if got != hex.EncodeToString(sum[:]) {
		t.Errorf("Fingerprint = %s", got)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got) {
		t.Errorf("Fingerprint %q is not 64 lower-case hex digits", got)
	}
}
