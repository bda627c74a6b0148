package device

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
)

func TestParseRootCA(t *testing.T) {
	f := newFixture(t)
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.valid.Certificate[0]})
	rootPEM := pki.EncodeCertificatePEM(f.rootA.Cert)
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"pem root", rootPEM, ""},
		{"pem with surrounding whitespace", append(append([]byte("\n\n"), rootPEM...), '\n'), ""},
		{"der root", f.rootA.Cert.Raw, ""},
		{"intermediate is a ca too", pki.EncodeCertificatePEM(f.inter.Cert), ""},
		{"leaf certificate", leafPEM, "not a CA"},
		{"leaf der", f.valid.Certificate[0], "not a CA"},
		{"two certificates", append(append([]byte(nil), rootPEM...), rootPEM...), "more than one PEM block"},
		{"private key", f.rootA.KeyPEM, `type "PRIVATE KEY"`},
		{"garbage", []byte("hello, world"), "neither PEM nor DER"},
		{"garbage before pem", append([]byte("junk\n"), rootPEM...), "before the PEM block"},
		{"garbage after pem", append(append([]byte(nil), rootPEM...), "junk"...), "after the PEM block"},
		{"empty", nil, "empty"},
		{"truncated der", f.rootA.Cert.Raw[:40], "parse root ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseRootCA(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRootCA: %v", err)
			}
			if !c.IsCA {
				t.Fatal("returned a non-CA")
			}
		})
	}
}

func TestParseCRL(t *testing.T) {
	f := newFixture(t)
	pemCRL := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: f.crlA.Raw})
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
	}{
		{"pem", pemCRL, false},
		{"der", f.crlA.Raw, false},
		{"certificate instead", pki.EncodeCertificatePEM(f.rootA.Cert), true},
		{"garbage", []byte("nope"), true},
		{"corrupt der", f.crlA.Raw[:20], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crl, err := ParseCRL(tt.data)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && len(crl.RevokedCertificateEntries) != 1 {
				t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
			}
		})
	}
}

func TestNewPoolErrors(t *testing.T) {
	f := newFixture(t)
	leaf, err := x509.ParseCertificate(f.valid.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	crlB := newCRL(t, f.rootB, f.now, f.now.Add(time.Hour))
	tests := []struct {
		name    string
		roots   []Root
		wantErr string
	}{
		{"leaf as root", []Root{{Name: "x", Cert: leaf}}, "not a CA"},
		{"nil certificate", []Root{{Name: "x"}}, "no certificate"},
		{"empty name", []Root{{Cert: f.rootA.Cert}}, "empty name"},
		{"duplicate name", []Root{{Name: "x", Cert: f.rootA.Cert}, {Name: "x", Cert: f.rootB.Cert}}, "duplicate root name"},
		{"same certificate twice", []Root{{Name: "x", Cert: f.rootA.Cert}, {Name: "y", Cert: f.rootA.Cert}}, "same certificate"},
		{"crl of another ca", []Root{{Name: "x", Cert: f.rootA.Cert, CRL: crlB}}, "crl not signed by this ca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPool(tt.roots)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	p := mustPool(t, Root{Name: "a", Cert: f.rootA.Cert}, Root{Name: "b", Cert: f.rootB.Cert, CRL: crlB})
	if p.Len() != 2 || strings.Join(p.Names(), ",") != "a,b" {
		t.Errorf("pool: len %d, names %v", p.Len(), p.Names())
	}
}
