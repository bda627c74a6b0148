package pki

import (
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func TestPKCS12RoundTrip(t *testing.T) {
	root := mustRoot(t, "root")
	certPEM, keyPEM, cert, err := root.IssueClient("laptop", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := PKCS12(certPEM, keyPEM, root.CertPEM, "s3cret")
	if err != nil {
		t.Fatalf("PKCS12: %v", err)
	}
	key, got, chain, err := pkcs12.DecodeChain(p12, "s3cret")
	if err != nil {
		t.Fatalf("DecodeChain: %v", err)
	}
	if !got.Equal(cert) || len(chain) != 1 || !chain[0].Equal(root.Cert) {
		t.Error("decoded certificate or chain differs")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("decoded key %T is not a signer", key)
	}
	if err := matchKey(got, signer); err != nil {
		t.Errorf("decoded key: %v", err)
	}
	if _, _, _, err := pkcs12.DecodeChain(p12, "wrong"); err == nil {
		t.Error("decoded with a wrong password")
	}
}

func TestPKCS12Errors(t *testing.T) {
	root := mustRoot(t, "root")
	certPEM, keyPEM, _, err := root.IssueClient("laptop", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		cert, key, chain []byte
	}{
		{"key of another certificate", certPEM, root.KeyPEM, nil},
		{"garbage chain", certPEM, keyPEM, []byte("junk")},
		{"no certificate", nil, keyPEM, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PKCS12(tt.cert, tt.key, tt.chain, "p"); err == nil {
				t.Fatal("PKCS12 succeeded, want error")
			}
		})
	}
}

// TestPKCS12ImportsIntoNSS checks the bundle with NSS's own tool, as used to
// give Chromium a client certificate. Skipped when libnss3-tools is absent.
func TestPKCS12ImportsIntoNSS(t *testing.T) {
	pk12util, err := exec.LookPath("pk12util")
	if err != nil {
		t.Skip("pk12util not installed (apt-get install libnss3-tools)")
	}
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		t.Skip("certutil not installed")
	}
	root := mustRoot(t, "root")
	certPEM, keyPEM, _, err := root.IssueClient("nss-laptop", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p12, err := PKCS12(certPEM, keyPEM, root.CertPEM, "pw-123")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "device.p12")
	if err := os.WriteFile(file, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	db := "sql:" + filepath.Join(dir, "nssdb")
	if err := os.Mkdir(filepath.Join(dir, "nssdb"), 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run(certutil, "-N", "-d", db, "--empty-password")
	run(pk12util, "-i", file, "-d", db, "-W", "pw-123")
	if out := run(certutil, "-L", "-d", db); !strings.Contains(out, "nss-laptop") {
		t.Fatalf("certificate not in the NSS database:\n%s", out)
	}
	if out := run(certutil, "-K", "-d", db); !strings.Contains(out, "nss-laptop") {
		t.Fatalf("private key not in the NSS database:\n%s", out)
	}
}
