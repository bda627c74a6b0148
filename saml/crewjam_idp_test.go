package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

// TestSPInitiatedWithCrewjamIdP runs the SP-initiated leg end to end against
// crewjam's IdentityProvider, a second independent IdP implementation: the
// proxy's AuthnRequest is accepted, crewjam's Response (Response and
// Assertion signed by crewjam's own code) validates with the request ID
// tracked, and is refused once the ID is used up.
func TestSPInitiatedWithCrewjamIdP(t *testing.T) {
	idpKey := validTestKey(t, "crewjam-idp")
	metadataURL, _ := url.Parse(testIdPEntity)
	ssoURL, _ := url.Parse(testIdPSSO)
	idp := &crewjam.IdentityProvider{
		Key: idpKey.key, Certificate: idpKey.cert, MetadataURL: *metadataURL, SSOURL: *ssoURL,
		Clock: dsigClock(testNow),
		ServiceProviderProvider: staticSPs{&crewjam.EntityDescriptor{
			EntityID: testSPEntity,
			SPSSODescriptors: []crewjam.SPSSODescriptor{{
				AssertionConsumerServices: []crewjam.IndexedEndpoint{{Binding: crewjam.HTTPPostBinding, Location: testProxyACS, Index: 1}},
			}},
		}},
	}
	out, err := NewAuthnRequest(Endpoint{Binding: BindingHTTPRedirect, Location: testIdPSSO}, testSPEntity, testProxyACS, nil, "rs", testNow, nil)
	if err != nil {
		t.Fatal(err)
	}
	ir, err := crewjam.NewIdpAuthnRequest(idp, httptest.NewRequest(http.MethodGet, out.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Validate(); err != nil {
		t.Fatalf("crewjam IdP refused the AuthnRequest: %v", err)
	}
	session := &crewjam.Session{
		ID: "s1", Index: "_idx1", NameID: "bob@example.com", NameIDFormat: string(crewjam.EmailAddressNameIDFormat),
		UserEmail: "bob@example.com", Groups: []string{"engineering", "oncall"},
		CreateTime: testNow.Add(-10 * time.Second), ExpireTime: testNow.Add(time.Hour),
	}
	if err := (crewjam.DefaultAssertionMaker{}).MakeAssertion(ir, session); err != nil {
		t.Fatal(err)
	}
	if err := ir.MakeResponse(); err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(ir.ResponseEl)
	xml, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	f := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(xml)}, "RelayState": {"rs"}}

	v := newValidator(idpKey)
	v.IdPCerts = []*x509.Certificate{idpKey.cert}
	v.AllowIdPInitiated = false
	v.RequireSignedAssertion = true
	v.Requests = &memRequests{ids: map[string]bool{out.ID: true}}
	v.GroupsAttrs = []string{"urn:oid:1.3.6.1.4.1.5923.1.1.1.1"}
	id, err := v.Validate(context.Background(), f)
	if err != nil {
		t.Fatalf("validate crewjam's Response: %v", err)
	}
	if id.NameID != "bob@example.com" || id.InResponseTo != out.ID || id.SessionIndex != "_idx1" || !reflect.DeepEqual(id.Groups, []string{"engineering", "oncall"}) {
		t.Errorf("identity %+v", id)
	}
	if _, err := v.Validate(context.Background(), f); ReasonOf(err) != ReasonInResponseToMismatch {
		t.Errorf("second post: %v", err)
	}
}
