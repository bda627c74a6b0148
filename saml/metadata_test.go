package saml

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n got: %s\nwant: %s", name, got, want)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	return readFixtureF(t, name)
}

func readFixtureF(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "metadata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type idpSummary struct {
	EntityID                string
	SSO                     []Endpoint
	CertSubjects            []string
	WantAuthnRequestsSigned bool
	PreferredSSO            Endpoint
}

func TestParseIdPMetadata(t *testing.T) {
	tests := []struct {
		file    string
		wantErr error
	}{
		{"okta.xml", nil},
		{"azure.xml", nil},
		{"simplesamlphp.xml", nil},
		{"expired.xml", ErrExpiredCert},
		{"no-signing-cert.xml", ErrNoSigningCert},
		{"bad-cert.xml", ErrInvalidCertificate},
		{"no-sso.xml", ErrNoSSOEndpoint},
		{"sp-only.xml", ErrNoIdPDescriptor},
		{"malformed.xml", ErrMalformedMetadata},
		{"doctype.xml", ErrMetadataDoctype},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := ParseIdPMetadata(readFixture(t, tt.file), testNow)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(tt.wantErr, ErrExpiredCert) {
				if m != nil {
					t.Error("metadata returned with a hard error")
				}
				return
			}
			if m == nil {
				t.Fatal("no metadata")
			}
			s := idpSummary{EntityID: m.EntityID, SSO: m.SSO, WantAuthnRequestsSigned: m.WantAuthnRequestsSigned}
			s.PreferredSSO, _ = m.SSOEndpoint()
			for _, c := range m.SigningCerts {
				if !strings.HasPrefix(c.PEM, "-----BEGIN CERTIFICATE-----") {
					t.Errorf("PEM %q", c.PEM)
				}
				s.CertSubjects = append(s.CertSubjects, c.Cert.Subject.CommonName)
			}
			got, _ := json.MarshalIndent(s, "", "  ")
			golden(t, filepath.Join("metadata", strings.TrimSuffix(tt.file, ".xml")+".idp.golden.json"), append(got, '\n'))
		})
	}
}

func TestParseIdPMetadataExpiredCertError(t *testing.T) {
	m, err := ParseIdPMetadata(readFixture(t, "expired.xml"), testNow)
	var ece *ExpiredCertError
	if !errors.As(err, &ece) {
		t.Fatalf("err = %v, want *ExpiredCertError", err)
	}
	if ece.NotAfter.Year() != 2021 || !strings.Contains(ece.Error(), "expired") {
		t.Errorf("error %v", ece)
	}
	if m == nil || m.EntityID != "https://old-idp.example.com" || len(m.Certificates()) != 1 {
		t.Errorf("metadata not returned with the expiry error: %+v", m)
	}
}

func TestParseMetadataLimits(t *testing.T) {
	huge := append([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">`), bytes.Repeat([]byte("<!-- pad -->"), MaxMetadataBytes/12+1)...)
	tests := []struct {
		name   string
		in     []byte
		want   error
		wantSP error // when it differs from want
	}{
		{"huge", huge, ErrMetadataTooLarge, nil},
		{"too many tags", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">` + strings.Repeat("<a/>", MaxMetadataTags) + `</md:EntityDescriptor>`), ErrMetadataTooLarge, nil},
		{"empty", nil, ErrMalformedMetadata, nil},
		{"not xml", []byte("hello"), ErrMalformedMetadata, nil},
		{"other root", []byte(`<foo/>`), ErrMalformedMetadata, nil},
		{"round-trip unstable", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><x::y/></md:EntityDescriptor>`), ErrMalformedMetadata, nil},
		{"entity only", []byte(`<?xml version="1.0"?><!ENTITY x "y"><md:EntityDescriptor/>`), ErrMetadataDoctype, nil},
		{"two IdPs", []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="a"><md:IDPSSODescriptor/></md:EntityDescriptor><md:EntityDescriptor entityID="b"><md:IDPSSODescriptor/></md:EntityDescriptor></md:EntitiesDescriptor>`), ErrMalformedMetadata, ErrNoSPDescriptor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseIdPMetadata(tt.in, testNow); !errors.Is(err, tt.want) {
				t.Errorf("IdP: err = %v, want %v", err, tt.want)
			}
			wantSP := tt.want
			if tt.wantSP != nil {
				wantSP = tt.wantSP
			}
			if _, err := ParseSPMetadata(tt.in, testNow); !errors.Is(err, wantSP) {
				t.Errorf("SP: err = %v, want %v", err, wantSP)
			}
		})
	}
}

func TestParseSPMetadata(t *testing.T) {
	m, err := ParseSPMetadata(readFixture(t, "sp-only.xml"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(struct {
		*SPMetadata
		Default      ACSEndpoint
		CertSubjects []string
	}{m, mustDefaultACS(t, m), []string{m.Certificates()[0].Subject.CommonName}}, "", "  ")
	// SigningCerts holds PEM and parsed certificates; the summary keeps
	// the subjects only.
	var trimmed map[string]any
	_ = json.Unmarshal(got, &trimmed)
	delete(trimmed, "SigningCerts")
	got, _ = json.MarshalIndent(trimmed, "", "  ")
	golden(t, filepath.Join("metadata", "sp-only.sp.golden.json"), append(got, '\n'))

	if _, err := ParseSPMetadata(readFixture(t, "okta.xml"), testNow); !errors.Is(err, ErrNoSPDescriptor) {
		t.Errorf("IdP metadata as SP: err = %v", err)
	}
}

func mustDefaultACS(t *testing.T, m *SPMetadata) ACSEndpoint {
	t.Helper()
	a, ok := m.DefaultACS()
	if !ok {
		t.Fatal("no default ACS")
	}
	return a
}
