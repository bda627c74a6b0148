package pki

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func mustRoot(t *testing.T, cn string) *CA {
	t.Helper()
	ca, err := NewRootCA(cn, 365*24*time.Hour, t0)
	if err != nil {
		t.Fatalf("NewRootCA: %v", err)
	}
	return ca
}

func TestNewRootCA(t *testing.T) {
	ca := mustRoot(t, "cas test root")
	c := ca.Cert
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != 1 {
		t.Errorf("basic constraints = valid %v, ca %v, maxpath %d; want true, true, 1", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 || c.KeyUsage&x509.KeyUsageCRLSign == 0 {
		t.Errorf("key usage %v lacks cert sign or CRL sign", c.KeyUsage)
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("subject key id has %d bytes, want 20", len(c.SubjectKeyId))
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !c.NotBefore.Equal(t0.Add(-Backdate)) || !c.NotAfter.Equal(t0.Add(365*24*time.Hour)) {
		t.Errorf("validity %s..%s", c.NotBefore, c.NotAfter)
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA: %v", err)
	}
	if !loaded.Cert.Equal(c) {
		t.Error("LoadCA returned another certificate")
	}
}

func TestNewRootCAErrors(t *testing.T) {
	tests := []struct {
		name     string
		cn       string
		validity time.Duration
	}{
		{"empty name", " ", time.Hour},
		{"long name", strings.Repeat("a", 65), time.Hour},
		{"zero validity", "x", 0},
		{"negative validity", "x", -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewRootCA(tt.cn, tt.validity, t0); err == nil {
				t.Fatal("NewRootCA succeeded, want error")
			}
		})
	}
}

func TestLoadCAErrors(t *testing.T) {
	root := mustRoot(t, "root")
	other := mustRoot(t, "other")
	leafPEM, leafKey, _, err := root.IssueClient("device", time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"leaf is not a ca", leafPEM, leafKey, "not a CA"},
		{"key of another ca", root.CertPEM, other.KeyPEM, "does not match"},
		{"garbage certificate", []byte("hello"), root.KeyPEM, "no PEM data"},
		{"garbage key", root.CertPEM, []byte("hello"), "no PEM data"},
		{"key where cert expected", root.KeyPEM, root.KeyPEM, `type "PRIVATE KEY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCA(tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadCA error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestIssueServerVerifies(t *testing.T) {
	root := mustRoot(t, "root")
	inter, err := root.NewIntermediate("inter", 30*24*time.Hour, t0)
	if err != nil {
		t.Fatalf("NewIntermediate: %v", err)
	}
	if inter.Cert.MaxPathLen != 0 || !inter.Cert.MaxPathLenZero {
		t.Errorf("intermediate MaxPathLen = %d (zero %v), want 0", inter.Cert.MaxPathLen, inter.Cert.MaxPathLenZero)
	}
	// The intermediate survives a PEM round trip with its chain.
	reloaded, err := LoadCA(inter.CertPEM, inter.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA(intermediate): %v", err)
	}
	withRoot, err := LoadCA(append(append([]byte(nil), inter.CertPEM...), root.CertPEM...), inter.KeyPEM)
	if err != nil {
		t.Fatalf("LoadCA(intermediate + root): %v", err)
	}
	if !bytes.Equal(withRoot.CertPEM, inter.CertPEM) {
		t.Error("LoadCA kept the self-signed root in CertPEM")
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	for _, tc := range []struct {
		name      string
		ca        *CA
		wantChain int
	}{
		{"root", root, 1},
		{"intermediate", inter, 2},
		{"reloaded intermediate", reloaded, 2},
		{"intermediate loaded with its root", withRoot, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := tc.ca.IssueServer([]string{"App.Example.COM.", "127.0.0.1", "*.wild.example.com"}, 24*time.Hour, t0)
			if err != nil {
				t.Fatalf("IssueServer: %v", err)
			}
			if len(cert.Certificate) != tc.wantChain {
				t.Fatalf("chain length %d, want %d", len(cert.Certificate), tc.wantChain)
			}
			inters := x509.NewCertPool()
			for _, der := range cert.Certificate[1:] {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				inters.AddCert(c)
			}
			for _, host := range []string{"app.example.com", "127.0.0.1", "x.wild.example.com"} {
				_, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inters, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
				if err != nil {
					t.Errorf("verify for %s: %v", host, err)
				}
			}
			_, err = cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if err == nil {
				t.Error("server certificate verified for client auth")
			}
		})
	}
}

func TestIssueServerErrors(t *testing.T) {
	root := mustRoot(t, "root")
	tests := []struct {
		name  string
		names []string
		now   time.Time
	}{
		{"no names", nil, t0},
		{"space in name", []string{"a b.example"}, t0},
		{"empty label", []string{"a..example"}, t0},
		{"wildcard in the middle", []string{"a.*.example"}, t0},
		{"bare wildcard", []string{"*.com"}, t0},
		{"ca expired", []string{"a.example"}, t0.Add(400 * 24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := root.IssueServer(tt.names, time.Hour, tt.now); err == nil {
				t.Fatal("IssueServer succeeded, want error")
			}
		})
	}
}

func TestIssueClient(t *testing.T) {
	root := mustRoot(t, "root")
	certPEM, keyPEM, cert, err := root.IssueClient("laptop-42", 400*24*time.Hour, t0)
	if err != nil {
		t.Fatalf("IssueClient: %v", err)
	}
	if cert.Subject.CommonName != "laptop-42" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if !cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("NotAfter %s not clamped to the CA's %s", cert.NotAfter, root.Cert.NotAfter)
	}
	parsed, _, err := ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseKeyPair: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	if _, err := parsed.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("verify for client auth: %v", err)
	}
	if _, err := parsed.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: t0}); err == nil {
		t.Error("client certificate verified for server auth")
	}
}

func TestPEMRoundTripIsStable(t *testing.T) {
	root := mustRoot(t, "root")
	a, err := LoadCA(root.CertPEM, root.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.CertPEM, root.CertPEM) || !bytes.Equal(a.KeyPEM, root.KeyPEM) {
		t.Error("PEM changed across LoadCA")
	}
}
