package saml

import (
	"crypto/x509"
	"testing"
	"time"
)

func fixtureCerts(t *testing.T) []*x509.Certificate {
	t.Helper()
	m, err := ParseIdPMetadata(readFixture(t, "azure.xml"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	return m.Certificates()
}

func TestIdPMetadataForApp(t *testing.T) {
	certs := fixtureCerts(t) // two: a rotation
	out, err := IdPMetadataForApp(testIdPEntity, "https://cas.localhost/saml/app1/sso", certs, testNow.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "proxy-idp-metadata.golden.xml", out)
	m, err := ParseIdPMetadata(out, testNow)
	if err != nil {
		t.Fatal(err)
	}
	sso, _ := m.SSOEndpoint()
	if m.EntityID != testIdPEntity || len(m.SigningCerts) != 2 || sso.Location != "https://cas.localhost/saml/app1/sso" || sso.Binding != BindingHTTPRedirect {
		t.Errorf("read back %+v", m)
	}
}

func TestSPMetadataForIdP(t *testing.T) {
	certs := fixtureCerts(t)[:1]
	for _, tt := range []struct {
		name  string
		certs []*x509.Certificate
	}{{"unsigned-requests", nil}, {"signed-requests", certs}} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SPMetadataForIdP(testSPEntity, testProxyACS, tt.certs, true, testNow.Add(48*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "proxy-sp-metadata-"+tt.name+".golden.xml", out)
			m, err := ParseSPMetadata(out, testNow)
			if err != nil {
				t.Fatal(err)
			}
			acs, _ := m.DefaultACS()
			if m.EntityID != testSPEntity || acs.Location != testProxyACS || acs.Binding != BindingHTTPPost ||
				m.AuthnRequestsSigned != (tt.certs != nil) || !m.WantAssertionsSigned {
				t.Errorf("read back %+v", m)
			}
		})
	}
}

func TestProxyMetadataErrors(t *testing.T) {
	certs := fixtureCerts(t)
	if _, err := IdPMetadataForApp("", "https://cas.localhost/saml/a/sso", certs, testNow); err == nil {
		t.Error("no entity ID accepted")
	}
	if _, err := IdPMetadataForApp(testIdPEntity, "https://cas.localhost/saml/a/sso", nil, testNow); err == nil {
		t.Error("no certificate accepted")
	}
	if _, err := IdPMetadataForApp(testIdPEntity, "/relative", certs, testNow); err == nil {
		t.Error("relative SSO URL accepted")
	}
	if _, err := SPMetadataForIdP(testSPEntity, "ftp://x/acs", nil, false, testNow); err == nil {
		t.Error("ftp ACS accepted")
	}
}
