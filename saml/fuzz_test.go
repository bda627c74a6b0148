package saml

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// FuzzValidate feeds arbitrary Response XML to the validator, seeded with a
// valid Response, a signed-Response one and a few wrapped ones: it must never
// panic, and whatever it accepts must carry an identity.
func FuzzValidate(f *testing.F) {
	idp := fixedTestKey(f)
	f.Add(idpResponse(f, idp, idpOpts{}))
	f.Add(idpResponse(f, idp, idpOpts{signResponse: true, inResponseTo: "_req1"}))
	for _, c := range xswCases() {
		f.Add(idpResponse(f, idp, c.opts))
	}
	f.Add(idpResponse(f, idp, idpOpts{after: func(root, a *etree.Element) {
		n := a.FindElement(".//NameID")
		n.CreateComment("")
	}}))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Fuzz(func(t *testing.T, xml []byte) {
		v := newValidator(idp)
		id, err := v.Validate(context.Background(), form(xml))
		if err != nil {
			if ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if id == nil || id.NameID == "" || id.AssertionID == "" {
			t.Fatalf("accepted without an identity: %+v", id)
		}
	})
}

// FuzzParseAuthnRequest: arbitrary SAMLRequest values in both bindings never
// panic.
func FuzzParseAuthnRequest(f *testing.F) {
	good := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Issuer>x</saml:Issuer></samlp:AuthnRequest>`
	f.Add(deflated(f, []byte(good)), "rs")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, samlRequest, relayState string) {
		q := url.Values{"SAMLRequest": {samlRequest}, "RelayState": {relayState}}
		_, _ = ParseAuthnRequest(httptest.NewRequest(http.MethodGet, "https://cas.localhost/sso?"+q.Encode(), nil))
		r := httptest.NewRequest(http.MethodPost, "https://cas.localhost/sso", strings.NewReader(q.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = ParseAuthnRequest(r)
	})
}

// FuzzParseMetadata: arbitrary metadata never panics.
func FuzzParseMetadata(f *testing.F) {
	for _, name := range []string{"okta.xml", "azure.xml", "simplesamlphp.xml", "sp-only.xml"} {
		f.Add(readFixtureF(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseIdPMetadata(data, testNow)
		_, _ = ParseSPMetadata(data, testNow)
	})
}
