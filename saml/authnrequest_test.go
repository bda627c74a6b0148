package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

const testIdPSSO = "https://idp.example.com/sso"

// appAsSP is a crewjam ServiceProvider for the app, sending its
// AuthnRequests to the proxy's SSO URL.
func appAsSP() *crewjam.ServiceProvider {
	acs, _ := url.Parse(testAppACS)
	return &crewjam.ServiceProvider{
		EntityID: testSPEntity,
		AcsURL:   *acs,
		IDPMetadata: &crewjam.EntityDescriptor{EntityID: testIdPEntity, IDPSSODescriptors: []crewjam.IDPSSODescriptor{{
			SingleSignOnServices: []crewjam.Endpoint{
				{Binding: crewjam.HTTPRedirectBinding, Location: "https://cas.localhost/saml/app1/sso"},
				{Binding: crewjam.HTTPPostBinding, Location: "https://cas.localhost/saml/app1/sso"},
			},
		}}},
		Clock: dsigClock(testNow),
	}
}

func TestParseAuthnRequestFromApp(t *testing.T) {
	sp := appAsSP()
	t.Run("redirect", func(t *testing.T) {
		u, err := sp.MakeRedirectAuthenticationRequest("deep/link?x=1")
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseAuthnRequest(httptest.NewRequest(http.MethodGet, u.String(), nil))
		if err != nil {
			t.Fatal(err)
		}
		if req.ID == "" || req.Issuer != testSPEntity || req.ACSURL != testAppACS || req.RelayState != "deep/link?x=1" || req.Binding != BindingHTTPRedirect {
			t.Errorf("%+v", req)
		}
	})
	t.Run("post", func(t *testing.T) {
		ar, err := sp.MakeAuthenticationRequest("https://cas.localhost/saml/app1/sso", crewjam.HTTPPostBinding, crewjam.HTTPPostBinding)
		if err != nil {
			t.Fatal(err)
		}
		force := true
		ar.ForceAuthn = &force
		doc := etree.NewDocument()
		doc.SetRoot(ar.Element())
		b, _ := doc.WriteToBytes()
		r := postForm(url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(b)}, "RelayState": {"rs"}})
		req, err := ParseAuthnRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		if req.ID != ar.ID || !req.ForceAuthn || req.IsPassive || req.RelayState != "rs" || req.Binding != BindingHTTPPost || req.ProtocolBinding != crewjam.HTTPPostBinding {
			t.Errorf("%+v", req)
		}
	})
}

func postForm(f url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "https://cas.localhost/saml/app1/sso", strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func deflated(t testing.TB, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestParseAuthnRequestRefuses(t *testing.T) {
	good := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="2026-11-27T03:00:00Z"><saml:Issuer>https://app.example.com/saml</saml:Issuer></samlp:AuthnRequest>`
	get := func(q url.Values) *http.Request {
		return httptest.NewRequest(http.MethodGet, "https://cas.localhost/saml/app1/sso?"+q.Encode(), nil)
	}
	tests := []struct {
		name   string
		req    *http.Request
		reason string
	}{
		{"good", get(url.Values{"SAMLRequest": {deflated(t, []byte(good))}}), ""},
		{"doctype", get(url.Values{"SAMLRequest": {deflated(t, []byte(`<!DOCTYPE x [<!ENTITY a "b">]>`+good))}}), ReasonDoctype},
		{"inflation bomb", get(url.Values{"SAMLRequest": {deflated(t, append([]byte(good), bytes.Repeat([]byte(" "), 1<<20)...))}}), ReasonTooLarge},
		{"too many tags", get(url.Values{"SAMLRequest": {deflated(t, []byte(strings.Replace(good, "<saml:Issuer>", strings.Repeat("<a/>", MaxAuthnRequestTags)+"<saml:Issuer>", 1)))}}), ReasonTooLarge},
		{"bad base64", get(url.Values{"SAMLRequest": {"%%%"}}), ReasonMalformed},
		{"not deflated", get(url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(good))}}), ReasonMalformed},
		{"no SAMLRequest", get(url.Values{}), ReasonMalformed},
		{"relay state too long", get(url.Values{"SAMLRequest": {deflated(t, []byte(good))}, "RelayState": {strings.Repeat("x", 81)}}), ReasonRelayStateTooLong},
		{"not an AuthnRequest", get(url.Values{"SAMLRequest": {deflated(t, []byte(strings.ReplaceAll(good, "AuthnRequest", "LogoutRequest")))}}), ReasonMalformed},
		{"no Issuer", get(url.Values{"SAMLRequest": {deflated(t, []byte(strings.Replace(good, "<saml:Issuer>https://app.example.com/saml</saml:Issuer>", "", 1)))}}), ReasonMalformed},
		{"round-trip unstable", get(url.Values{"SAMLRequest": {deflated(t, []byte(strings.Replace(good, "<saml:Issuer>", "<x::y/><saml:Issuer>", 1)))}}), ReasonMalformed},
		{"post simplesign", postForm(url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(good))}, "SigAlg": {"x"}}), ReasonBindingNotSupported},
		{"post oversized", postForm(url.Values{"SAMLRequest": {strings.Repeat("A", MaxAuthnRequestBytes+8)}}), ReasonTooLarge},
		{"put", httptest.NewRequest(http.MethodPut, "https://cas.localhost/saml/app1/sso", nil), ReasonBindingNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAuthnRequest(tt.req)
			got := ""
			if err != nil {
				got = ReasonOf(err)
			}
			if got != tt.reason {
				t.Errorf("reason %q (%v), want %q", got, err, tt.reason)
			}
		})
	}
}

// staticSPs serves one SP's metadata to crewjam's IdP.
type staticSPs struct{ ed *crewjam.EntityDescriptor }

func (s staticSPs) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	if id != s.ed.EntityID {
		return nil, os.ErrNotExist
	}
	return s.ed, nil
}

// TestNewAuthnRequestAcceptedByIdP has crewjam's IdentityProvider, which
// wants signed requests, accept what the proxy sends in both bindings.
func TestNewAuthnRequestAcceptedByIdP(t *testing.T) {
	replacement := validTestKey(t, "replacement")
	idpKey := validTestKey(t, "idp")
	signed := true
	ssoURL, _ := url.Parse(testIdPSSO)
	idp := &crewjam.IdentityProvider{
		Key: idpKey.key, Certificate: idpKey.cert, SSOURL: *ssoURL,
		WantAuthnRequestsSigned: true,
		Clock:                   dsigClock(testNow),
		ServiceProviderProvider: staticSPs{&crewjam.EntityDescriptor{
			EntityID: testSPEntity,
			SPSSODescriptors: []crewjam.SPSSODescriptor{{
				SSODescriptor: crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{KeyDescriptors: []crewjam.KeyDescriptor{{
					Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(replacement.cert.Raw)}}}},
				}}}},
				AuthnRequestsSigned:       &signed,
				AssertionConsumerServices: []crewjam.IndexedEndpoint{{Binding: crewjam.HTTPPostBinding, Location: testProxyACS, Index: 1}},
			}},
		}},
	}
	from := &AuthnRequest{ForceAuthn: true, NameIDFormat: string(crewjam.EmailAddressNameIDFormat)}
	for _, binding := range []string{BindingHTTPRedirect, BindingHTTPPost} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			s := replacement.signer()
			out, err := NewAuthnRequest(Endpoint{Binding: binding, Location: testIdPSSO}, testSPEntity, testProxyACS, &s, "rs-1", testNow, from)
			if err != nil {
				t.Fatal(err)
			}
			var r *http.Request
			if binding == BindingHTTPRedirect {
				r = httptest.NewRequest(http.MethodGet, out.URL, nil)
			} else {
				f := url.Values{}
				for k, v := range out.Form {
					f.Set(k, v)
				}
				r = postForm(f)
				r.URL, _ = url.Parse(out.URL)
			}
			ir, err := crewjam.NewIdpAuthnRequest(idp, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := ir.Validate(); err != nil {
				t.Fatalf("IdP refused: %v", err)
			}
			if ir.Request.ID != out.ID || ir.RelayState != "rs-1" || ir.Request.ForceAuthn == nil || !*ir.Request.ForceAuthn {
				t.Errorf("IdP read %+v, relay %q", ir.Request, ir.RelayState)
			}
			if ir.ACSEndpoint == nil || ir.ACSEndpoint.Location != testProxyACS {
				t.Errorf("ACS %+v", ir.ACSEndpoint)
			}

			// Tampering with the signed query is caught.
			if binding == BindingHTTPRedirect {
				bad := httptest.NewRequest(http.MethodGet, strings.Replace(out.URL, "RelayState=rs-1", "RelayState=rs-2", 1), nil)
				ir, err := crewjam.NewIdpAuthnRequest(idp, bad)
				if err == nil {
					err = ir.Validate()
				}
				if !errors.Is(err, crewjam.ErrInvalidSignature) {
					t.Errorf("tampered query: %v", err)
				}
			}
		})
	}
}

func TestNewAuthnRequestErrors(t *testing.T) {
	sso := Endpoint{Binding: BindingHTTPRedirect, Location: testIdPSSO}
	if _, err := NewAuthnRequest(sso, testSPEntity, testProxyACS, nil, strings.Repeat("x", 81), testNow, nil); err == nil {
		t.Error("long RelayState accepted")
	}
	if _, err := NewAuthnRequest(Endpoint{Binding: "urn:x", Location: testIdPSSO}, testSPEntity, testProxyACS, nil, "", testNow, nil); err == nil {
		t.Error("unknown binding accepted")
	}
	if _, err := NewAuthnRequest(Endpoint{Binding: BindingHTTPRedirect, Location: "javascript:x"}, testSPEntity, testProxyACS, nil, "", testNow, nil); err == nil {
		t.Error("bad location accepted")
	}
	out, err := NewAuthnRequest(Endpoint{Binding: BindingHTTPRedirect, Location: testIdPSSO + "?tenant=a"}, testSPEntity, testProxyACS, nil, "", testNow, nil)
	if err != nil || !strings.HasPrefix(out.URL, testIdPSSO+"?tenant=a&SAMLRequest=") {
		t.Errorf("query kept: %v %v", out, err)
	}
	// The unsigned request parses back.
	req, err := ParseAuthnRequest(httptest.NewRequest(http.MethodGet, out.URL, nil))
	if err != nil || req.ID != out.ID || req.ACSURL != testProxyACS || req.Issuer != testSPEntity {
		t.Errorf("round trip: %+v %v", req, err)
	}
}
