package saml

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"
)

// appSP is a crewjam ServiceProvider standing in for the app: it trusts the
// replacement certificate as its IdP's.
func appSP(replacement testKey) *crewjam.ServiceProvider {
	acs, _ := url.Parse(testAppACS)
	return &crewjam.ServiceProvider{
		EntityID: testSPEntity,
		AcsURL:   *acs,
		IDPMetadata: &crewjam.EntityDescriptor{
			EntityID: testIdPEntity,
			IDPSSODescriptors: []crewjam.IDPSSODescriptor{{SSODescriptor: crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{
				KeyDescriptors: []crewjam.KeyDescriptor{{Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{
					X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(replacement.cert.Raw)}},
				}}}},
			}}}},
		},
		AllowIDPInitiated:       true,
		RejectSHA1Signatures:    true,
		RejectUnknownConditions: true,
		Clock:                   dsigClock(testNow),
	}
}

func TestBuildResponseAcceptedByApp(t *testing.T) {
	idp := validTestKey(t, "idp")
	replacement := validTestKey(t, "replacement")
	tests := []struct {
		name   string
		target Target
		ids    []string
	}{
		{"assertion signed", Target{SignAssertion: true}, nil},
		{"response signed", Target{SignResponse: true}, nil},
		{"both signed", Target{SignAssertion: true, SignResponse: true}, nil},
		{"neither asked: assertion signed", Target{}, nil},
		{"sp-initiated", Target{SignResponse: true, InResponseTo: "_appreq"}, []string{"_appreq"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := newValidator(idp).Validate(context.Background(), form(idpResponse(t, idp, idpOpts{})))
			if err != nil {
				t.Fatal(err)
			}
			to := tt.target
			to.EntityID, to.ACSURL = testSPEntity, testAppACS
			out, err := BuildResponse(id, to, replacement.signer(), testIdPEntity, testNow)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte(id.AssertionID)) {
				t.Error("the IdP's assertion ID was reused")
			}
			acs, _ := url.Parse(testAppACS)
			a, err := appSP(replacement).ParseXMLResponse(out, tt.ids, *acs)
			if err != nil {
				var detail error = err
				if ire, ok := err.(*crewjam.InvalidResponseError); ok {
					detail = ire.PrivateErr
				}
				t.Fatalf("app refused: %v\n%s", detail, out)
			}
			if a.Subject.NameID.Value != "alice@example.com" {
				t.Errorf("NameID %q", a.Subject.NameID.Value)
			}
			if got := a.Conditions.AudienceRestrictions[0].Audience.Value; got != testSPEntity {
				t.Errorf("audience %q", got)
			}
			if got := a.Subject.SubjectConfirmations[0].SubjectConfirmationData.Recipient; got != testAppACS {
				t.Errorf("recipient %q", got)
			}
			if got := a.AuthnStatements[0].SessionIndex; got != "_session1" {
				t.Errorf("session index %q", got)
			}
			var groups []string
			for _, at := range a.AttributeStatements[0].Attributes {
				if at.Name == "groups" {
					for _, v := range at.Values {
						groups = append(groups, v.Value)
					}
				}
			}
			if !reflect.DeepEqual(groups, []string{"sales", "staff"}) {
				t.Errorf("groups %q", groups)
			}

			// Our own validator, configured as the app, agrees.
			v := &ResponseValidator{
				IdPEntityID: testIdPEntity, IdPCerts: appSPCerts(replacement), SPEntityID: testSPEntity,
				ACSURL: testAppACS, AllowIdPInitiated: true, Now: newValidator(idp).Now,
				Replay: &memReplay{}, Requests: &memRequests{ids: map[string]bool{"_appreq": true}},
				RequireSignedAssertion: to.SignAssertion || !to.SignResponse,
			}
			again, err := v.Validate(context.Background(), form(out))
			if err != nil {
				t.Fatalf("re-validation: %v", err)
			}
			if again.NameID != id.NameID || !reflect.DeepEqual(again.Attributes, id.Attributes) || again.AuthnContextClassRef != id.AuthnContextClassRef {
				t.Errorf("re-validated identity differs:\n%+v\n%+v", again, id)
			}
		})
	}
}

func TestBuildResponseRefusedWithOtherCert(t *testing.T) {
	idp := validTestKey(t, "idp")
	replacement := validTestKey(t, "replacement")
	other := validTestKey(t, "other")
	id, err := newValidator(idp).Validate(context.Background(), form(idpResponse(t, idp, idpOpts{})))
	if err != nil {
		t.Fatal(err)
	}
	out, err := BuildResponse(id, Target{EntityID: testSPEntity, ACSURL: testAppACS, SignResponse: true}, replacement.signer(), testIdPEntity, testNow)
	if err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(testAppACS)
	if _, err := appSP(other).ParseXMLResponse(out, nil, *acs); err == nil {
		t.Fatal("an app trusting another certificate accepted the Response")
	}
}

func TestBuildResponseErrors(t *testing.T) {
	k := validTestKey(t, "k")
	id := &Identity{NameID: "alice"}
	to := Target{EntityID: testSPEntity, ACSURL: testAppACS}
	tests := []struct {
		name   string
		id     *Identity
		to     Target
		signer Signer
		issuer string
	}{
		{"nil identity", nil, to, k.signer(), testIdPEntity},
		{"no NameID", &Identity{}, to, k.signer(), testIdPEntity},
		{"no ACS", id, Target{EntityID: testSPEntity}, k.signer(), testIdPEntity},
		{"no issuer", id, to, k.signer(), ""},
		{"no key", id, to, Signer{Cert: k.cert}, testIdPEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := BuildResponse(tt.id, tt.to, tt.signer, tt.issuer, testNow); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func appSPCerts(k testKey) []*x509.Certificate { return []*x509.Certificate{k.cert} }

func TestAutoPostForm(t *testing.T) {
	page := string(AutoPostForm("https://app.example.com/acs?a=1&b=2", map[string]string{
		"SAMLResponse": "PHNhbWw+",
		"RelayState":   `"><script>alert(1)</script>`,
	}, "n0nce"))
	for _, want := range []string{
		`action="https://app.example.com/acs?a=1&amp;b=2"`,
		`name="SAMLResponse" value="PHNhbWw&#43;"`,
		`<script nonce="n0nce">`,
		`<button type="submit">Continue</button>`,
		`&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if strings.Count(page, "<script") != 1 {
		t.Errorf("RelayState injected a script:\n%s", page)
	}
	if js := string(AutoPostForm("javascript:alert(1)", nil, "n")); strings.Contains(js, "javascript:") {
		t.Errorf("javascript: action kept:\n%s", js)
	}
}

func TestValidRelayState(t *testing.T) {
	tests := []struct {
		in     string
		reason string
	}{
		{"", ""},
		{"https://app.example.com/x", ""},
		{strings.Repeat("a", 80), ""},
		{strings.Repeat("a", 81), ReasonRelayStateTooLong},
		{"a\x00b", ReasonMalformed},
		{"a\tb", ReasonMalformed},
		{"a\u0085b", ReasonMalformed},
	}
	for _, tt := range tests {
		err := ValidRelayState(tt.in)
		got := ""
		if err != nil {
			got = ReasonOf(err)
		}
		if got != tt.reason {
			t.Errorf("ValidRelayState(%q) = %v, want reason %q", tt.in, err, tt.reason)
		}
	}
}

// TestBuildResponseGolden pins the shape of the Response built for the app:
// element order, attributes, namespaces, where the Signatures sit. IDs,
// digests, signature values and the certificate vary per run and are
// replaced by placeholders.
func TestBuildResponseGolden(t *testing.T) {
	idp := fixedTestKey(t)
	id, err := newValidator(idp).Validate(context.Background(), form(idpResponse(t, idp, idpOpts{inResponseTo: "_req1"})))
	if err != nil {
		t.Fatal(err)
	}
	out, err := BuildResponse(id, Target{EntityID: testSPEntity, ACSURL: testAppACS, InResponseTo: "_appreq", SignResponse: true, SignAssertion: true}, idp.signer(), testIdPEntity, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ re, with string }{
		{`_[0-9a-f]{40}`, "_ID"},
		{`<ds:DigestValue>[^<]*</ds:DigestValue>`, "<ds:DigestValue>DIGEST</ds:DigestValue>"},
		{`<ds:SignatureValue>[^<]*</ds:SignatureValue>`, "<ds:SignatureValue>SIGNATURE</ds:SignatureValue>"},
		{`<ds:X509Certificate>[^<]*</ds:X509Certificate>`, "<ds:X509Certificate>CERT</ds:X509Certificate>"},
	} {
		out = regexp.MustCompile(r.re).ReplaceAll(out, []byte(r.with))
	}
	golden(t, "build-response.golden.xml", out)
}
