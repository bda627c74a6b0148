package testkit

import (
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
)

// IdPMetadata returns SAML metadata for an IdP with a fresh signing
// certificate valid for validity (negative: expired), and the
// certificate's and key's PEM.
func IdPMetadata(t testing.TB, entityID, ssoURL string, validity time.Duration) (xml string, certPEM, keyPEM []byte) {
	t.Helper()
	now := time.Now()
	notBefore := now
	if validity < 0 {
		notBefore = now.Add(2 * validity)
		validity = -validity
	}
	certPEM, keyPEM, _, err := pki.NewSigningCert("test idp "+entityID, 2048, validity, notBefore)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	b64 := pemBody(b.Bytes)
	xml = fmt.Sprintf(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%s"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`, entityID, b64, ssoURL, ssoURL)
	return xml, certPEM, keyPEM
}

func pemBody(der []byte) string {
	s := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	s = strings.TrimPrefix(s, "-----BEGIN CERTIFICATE-----\n")
	s = strings.TrimSuffix(s, "-----END CERTIFICATE-----\n")
	return strings.ReplaceAll(s, "\n", "")
}

// RootCAPEM returns a fresh root CA certificate.
func RootCAPEM(t *testing.T, name string) (*pki.CA, string) {
	t.Helper()
	ca, err := pki.NewRootCA(name, 365*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca, string(ca.CertPEM)
}

// LeafPEM returns a certificate that is not a CA.
func LeafPEM(t *testing.T) string {
	t.Helper()
	ca, _ := RootCAPEM(t, "leaf issuer")
	certPEM, _, _, err := ca.IssueClient("a leaf", 24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return string(certPEM)
}
