package saml

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

// evilAssertion turns a copy of a signed assertion into the attacker's:
// another ID, another user, no signature.
func evilAssertion(signed *etree.Element) *etree.Element {
	evil := signed.Copy()
	evil.CreateAttr("ID", "_evil")
	if sig := evil.SelectElement("Signature"); sig != nil {
		evil.RemoveChild(sig)
	}
	evil.FindElement(".//NameID").SetText("mallory@example.com")
	return evil
}

func removeSig(el *etree.Element) *etree.Element {
	sig := el.SelectElement("Signature")
	if sig != nil {
		el.RemoveChild(sig)
	}
	return sig
}

// The eight classic XML signature wrapping variants (Somorovsky et al., "On
// Breaking SAML"; the SAML Raider XSW1–XSW8 set).
func xswCases() []struct {
	name string
	opts idpOpts
} {
	return []struct {
		name string
		opts idpOpts
	}{
		{"XSW1 signed Response moved into its own Signature of an evil Response", idpOpts{signResponse: true, after: func(root, a *etree.Element) {
			orig := root.Copy()
			sig := removeSig(root)
			root.CreateAttr("ID", "_evilresp")
			root.RemoveChild(root.SelectElement("Assertion"))
			root.AddChild(evilAssertion(a))
			removeSig(orig)
			sig.AddChild(orig)
			root.InsertChildAt(1, sig)
		}}},
		{"XSW2 signed Response as a sibling before a detached Signature", idpOpts{signResponse: true, after: func(root, a *etree.Element) {
			orig := root.Copy()
			sig := removeSig(root)
			root.CreateAttr("ID", "_evilresp")
			root.RemoveChild(root.SelectElement("Assertion"))
			root.AddChild(evilAssertion(a))
			removeSig(orig)
			root.InsertChildAt(1, orig)
			root.InsertChildAt(2, sig)
		}}},
		{"XSW3 evil Assertion before the signed one", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			root.InsertChildAt(a.Index(), evilAssertion(a))
		}}},
		{"XSW4 signed Assertion wrapped inside the evil one", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			evil := evilAssertion(a)
			root.RemoveChild(a)
			evil.AddChild(a)
			root.AddChild(evil)
		}}},
		{"XSW5 evil Assertion carries the Signature, original appended unsigned", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			evil := evilAssertion(a)
			sig := removeSig(a)
			evil.InsertChildAt(1, sig)
			root.RemoveChild(a)
			root.AddChild(evil)
			root.AddChild(a)
		}}},
		{"XSW6 original Assertion inside the Signature of the evil one", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			evil := evilAssertion(a)
			sig := removeSig(a)
			root.RemoveChild(a)
			sig.AddChild(a)
			evil.InsertChildAt(1, sig)
			root.AddChild(evil)
		}}},
		{"XSW7 signed Assertion hidden in Extensions", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			evil := evilAssertion(a)
			root.RemoveChild(a)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(a)
			root.InsertChildAt(1, ext)
			root.AddChild(evil)
		}}},
		{"XSW8 original Assertion in a ds:Object of the evil one's Signature", idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			evil := evilAssertion(a)
			sig := removeSig(a)
			root.RemoveChild(a)
			obj := sig.CreateElement("ds:Object")
			obj.AddChild(a)
			evil.InsertChildAt(1, sig)
			root.AddChild(evil)
		}}},
	}
}

func TestValidateRefusesXSW(t *testing.T) {
	idp := validTestKey(t, "idp")
	for _, tt := range xswCases() {
		t.Run(tt.name, func(t *testing.T) {
			xml := idpResponse(t, idp, tt.opts)
			if !bytes.Contains(xml, []byte("mallory@example.com")) {
				t.Fatal("fixture does not carry the evil assertion")
			}
			id, err := newValidator(idp).Validate(context.Background(), form(xml))
			if err == nil {
				t.Fatalf("accepted as %q", id.User)
			}
			switch got := ReasonOf(err); got {
			case ReasonMalformed, ReasonSignatureInvalid:
			default:
				t.Errorf("reason %q (%v), want malformed or signature_invalid", got, err)
			}
		})
	}
}

func TestValidateRefusesAttacks(t *testing.T) {
	idp := validTestKey(t, "idp")
	attacker := validTestKey(t, "attacker")
	expiredIdP := newTestKey(t, "idp-old", testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour))
	zero := 0
	tests := []struct {
		name   string
		idp    *testKey // the key the validator trusts, default idp
		opts   idpOpts
		tweak  func(v *ResponseValidator)
		raw    func(xml []byte) []byte
		form   func(f url.Values)
		reason string
	}{
		{name: "signature stripped", opts: idpOpts{signAssertion: true, after: func(root, a *etree.Element) { removeSig(a) }}, reason: ReasonSignatureMissing},
		{name: "unsigned", opts: idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			removeSig(a)
			removeSig(root)
		}}, reason: ReasonSignatureMissing},
		{name: "assertion tampered after signing", opts: idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
			a.FindElement(".//NameID").SetText("mallory@example.com")
		}}, reason: ReasonSignatureInvalid},
		{name: "response tampered after signing", opts: idpOpts{signResponse: true, after: func(root, a *etree.Element) {
			a.FindElement(".//NameID").SetText("mallory@example.com")
		}}, reason: ReasonSignatureInvalid},
		{name: "signed by another key, its cert in KeyInfo", opts: idpOpts{signWith: &attacker}, reason: ReasonSignatureInvalid},
		{name: "signed by another key, IdP cert in KeyInfo", opts: idpOpts{signWith: &attacker, keyInfoCertDER: idp.cert.Raw}, reason: ReasonSignatureInvalid},
		{name: "signed by another key, no KeyInfo", opts: idpOpts{signWith: &attacker, after: func(root, a *etree.Element) {
			sig := a.SelectElement("Signature")
			sig.RemoveChild(sig.SelectElement("KeyInfo"))
		}}, reason: ReasonSignatureInvalid},
		{name: "response-only signature when assertion signature required", opts: idpOpts{signResponse: true},
			tweak: func(v *ResponseValidator) { v.RequireSignedAssertion = true }, reason: ReasonSignatureMissing},
		{name: "SHA-1 signature", opts: idpOpts{sha1: true}, reason: ReasonWeakAlgorithm},
		{name: "IdP certificate expired", idp: &expiredIdP, reason: ReasonSignatureInvalid},
		{name: "wrong audience", opts: idpOpts{audience: "https://other.example.com"}, reason: ReasonAudienceMismatch},
		{name: "audience prefix", opts: idpOpts{audience: testSPEntity + "/x"}, reason: ReasonAudienceMismatch},
		{name: "wrong Destination", opts: idpOpts{destination: "https://cas.localhost/saml/app2/acs"}, reason: ReasonDestinationMismatch},
		{name: "no Destination", opts: idpOpts{after: func(root, a *etree.Element) { root.RemoveAttr("Destination") }}, reason: ReasonDestinationMismatch},
		{name: "wrong Recipient", opts: idpOpts{recipient: "https://cas.localhost/saml/app2/acs"}, reason: ReasonRecipientMismatch},
		{name: "wrong Issuer", opts: idpOpts{issuer: "https://evil.example.com"}, reason: ReasonIssuerMismatch},
		{name: "wrong assertion Issuer", opts: idpOpts{signResponse: true, assertion: func(a *crewjam.Assertion) { a.Issuer.Value = "https://evil.example.com" }}, reason: ReasonIssuerMismatch},
		{name: "unknown InResponseTo", opts: idpOpts{inResponseTo: "_other"}, reason: ReasonInResponseToMismatch},
		{name: "assertion InResponseTo differs", opts: idpOpts{inResponseTo: "_req1", signResponse: true, assertion: func(a *crewjam.Assertion) {
			a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo = "_other"
		}}, reason: ReasonInResponseToMismatch},
		{name: "InResponseTo without tracker", opts: idpOpts{inResponseTo: "_req1"}, tweak: func(v *ResponseValidator) { v.Requests = nil }, reason: ReasonInResponseToMismatch},
		{name: "unsolicited not allowed", tweak: func(v *ResponseValidator) { v.AllowIdPInitiated = false }, reason: ReasonUnsolicited},
		{name: "status failure", opts: idpOpts{signResponse: true, status: "urn:oasis:names:tc:SAML:2.0:status:Requester"}, reason: ReasonStatusNotSuccess},
		{name: "expired", opts: idpOpts{now: testNow.Add(-10 * time.Minute)}, reason: ReasonExpired},
		{name: "expired by own skew", opts: idpOpts{assertion: func(a *crewjam.Assertion) { a.Conditions.NotOnOrAfter = testNow.Add(-30 * time.Second) }},
			tweak: func(v *ResponseValidator) { v.MaxSkew = 10 * time.Second }, reason: ReasonExpired},
		{name: "not yet valid", opts: idpOpts{now: testNow.Add(10 * time.Minute)}, reason: ReasonNotYetValid},
		{name: "not yet valid by own skew", opts: idpOpts{assertion: func(a *crewjam.Assertion) { a.Conditions.NotBefore = testNow.Add(time.Minute) }},
			tweak: func(v *ResponseValidator) { v.MaxSkew = 10 * time.Second }, reason: ReasonNotYetValid},
		{name: "ProxyRestriction Count 0", opts: idpOpts{assertion: func(a *crewjam.Assertion) {
			a.Conditions.ProxyRestriction = &crewjam.ProxyRestriction{Count: &zero}
		}}, reason: ReasonUnknownCondition},
		{name: "DOCTYPE with entity", raw: func(xml []byte) []byte {
			return append([]byte(`<!DOCTYPE Response [<!ENTITY u "alice@example.com">]>`), xml...)
		}, reason: ReasonDoctype},
		{name: "lower-case doctype", raw: func(xml []byte) []byte {
			return append([]byte(`<!doctype Response>`), xml...)
		}, reason: ReasonDoctype},
		{name: "round-trip unstable XML", raw: func(xml []byte) []byte {
			return bytes.Replace(xml, []byte("<saml:Issuer"), []byte(`<x::Issuer xmlns:x="urn:x"/><saml:Issuer`), 1)
		}, reason: ReasonMalformed},
		{name: "not XML", raw: func([]byte) []byte { return []byte("hello") }, reason: ReasonMalformed},
		{name: "oversized body", form: func(f url.Values) {
			f.Set("SAMLResponse", strings.Repeat("A", MaxResponseBytes+4))
		}, reason: ReasonTooLarge},
		{name: "SAMLart", form: func(f url.Values) { f.Set("SAMLart", "AAQAAA") }, reason: ReasonBindingNotSupported},
		{name: "SimpleSign Signature", form: func(f url.Values) { f.Set("Signature", "AAAA") }, reason: ReasonBindingNotSupported},
		{name: "SimpleSign SigAlg", form: func(f url.Values) { f.Set("SigAlg", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") }, reason: ReasonBindingNotSupported},
		{name: "RelayState too long", form: func(f url.Values) { f.Set("RelayState", strings.Repeat("r", 81)) }, reason: ReasonRelayStateTooLong},
		{name: "RelayState control character", form: func(f url.Values) { f.Set("RelayState", "a\nb") }, reason: ReasonMalformed},
		{name: "two SAMLResponse fields", form: func(f url.Values) { f.Add("SAMLResponse", f.Get("SAMLResponse")) }, reason: ReasonMalformed},
		{name: "bad base64", form: func(f url.Values) { f.Set("SAMLResponse", "!!!") }, reason: ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trusted := idp
			signer := idp
			if tt.idp != nil {
				trusted, signer = *tt.idp, *tt.idp
			}
			v := newValidator(trusted)
			if tt.tweak != nil {
				tt.tweak(v)
			}
			xml := idpResponse(t, signer, tt.opts)
			if tt.raw != nil {
				xml = tt.raw(xml)
			}
			f := form(xml)
			if tt.form != nil {
				tt.form(f)
			}
			id, err := v.Validate(context.Background(), f)
			if err == nil {
				t.Fatalf("accepted as %q", id.User)
			}
			if got := ReasonOf(err); got != tt.reason {
				t.Errorf("reason %q (%v), want %q", got, err, tt.reason)
			}
		})
	}
}

// TestValidateNameIDComment: a comment inside the NameID does not change
// what the IdP signed; the user must be the whole text, never the part
// before the comment.
func TestValidateNameIDComment(t *testing.T) {
	idp := validTestKey(t, "idp")
	for _, signResponse := range []bool{false, true} {
		xml := idpResponse(t, idp, idpOpts{signResponse: signResponse, nameID: "alice@example.com.evil.com", after: func(root, a *etree.Element) {
			n := a.FindElement(".//NameID")
			n.SetText("alice@example.com")
			n.CreateComment("")
			n.CreateText(".evil.com")
		}})
		if !bytes.Contains(xml, []byte("alice@example.com<!---->.evil.com")) {
			t.Fatalf("fixture lacks the comment: %s", xml)
		}
		id, err := newValidator(idp).Validate(context.Background(), form(xml))
		if err != nil {
			t.Fatalf("signResponse=%v: %v", signResponse, err)
		}
		if id.NameID != "alice@example.com.evil.com" || id.User != "alice@example.com.evil.com" {
			t.Errorf("signResponse=%v: NameID %q, User %q", signResponse, id.NameID, id.User)
		}
	}
}

func TestValidateRefusesUnknownCondition(t *testing.T) {
	idp := validTestKey(t, "idp")
	_, err := newValidator(idp).Validate(context.Background(), form(withUnknownCondition(t, idp)))
	if got := ReasonOf(err); got != ReasonUnknownCondition {
		t.Fatalf("reason %q (%v)", got, err)
	}
}

// withUnknownCondition returns a Response whose signed assertion holds a
// Conditions child crewjam does not know.
func withUnknownCondition(t *testing.T, idp testKey) []byte {
	t.Helper()
	ctx, err := signingContext(idp.signer())
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	idpResponse(t, idp, idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
		removeSig(a)
		a.FindElement("./Conditions").CreateElement("saml:DelegationRestriction")
		signed, err := signEnveloped(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		root.RemoveChild(a)
		root.AddChild(signed)
		doc := etree.NewDocument()
		doc.SetRoot(root.Copy())
		out, _ = doc.WriteToBytes()
	}})
	return out
}

func TestValidateRefusesTwoAssertions(t *testing.T) {
	idp := validTestKey(t, "idp")
	ctx, err := signingContext(idp.signer())
	if err != nil {
		t.Fatal(err)
	}
	var xml []byte
	idpResponse(t, idp, idpOpts{signAssertion: true, after: func(root, a *etree.Element) {
		second := a.Copy()
		removeSig(second)
		second.CreateAttr("ID", "_second")
		root.AddChild(second)
		removeSig(root)
		signed, err := signEnveloped(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		doc.SetRoot(signed)
		xml, _ = doc.WriteToBytes()
	}})
	_, err = newValidator(idp).Validate(context.Background(), form(xml))
	if got := ReasonOf(err); got != ReasonMalformed {
		t.Fatalf("reason %q (%v)", got, err)
	}
}

func TestValidateRefusesEncryptedAssertion(t *testing.T) {
	idp := validTestKey(t, "idp")
	xml := idpResponse(t, idp, idpOpts{signResponse: true, after: func(root, a *etree.Element) {
		root.RemoveChild(a)
		enc := root.CreateElement("saml:EncryptedAssertion")
		enc.CreateElement("xenc:EncryptedData").CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
	}})
	_, err := newValidator(idp).Validate(context.Background(), form(xml))
	if got := ReasonOf(err); got != ReasonEncryptedUnsupported {
		t.Fatalf("reason %q (%v)", got, err)
	}
}

func TestValidateBase64Wrapped(t *testing.T) {
	idp := validTestKey(t, "idp")
	enc := base64.StdEncoding.EncodeToString(idpResponse(t, idp, idpOpts{}))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	if _, err := newValidator(idp).Validate(context.Background(), url.Values{"SAMLResponse": {b.String()}}); err != nil {
		t.Fatal(err)
	}
}

// TestXSWCrewjamLayerAlone runs the XSW fixtures past crewjam's
// verification without this package's structure checks: the second layer
// must hold on its own too (refuse, or return only what was signed).
func TestXSWCrewjamLayerAlone(t *testing.T) {
	idp := validTestKey(t, "idp")
	v := newValidator(idp)
	acs, _ := url.Parse(testProxyACS)
	for _, tt := range xswCases() {
		t.Run(tt.name, func(t *testing.T) {
			xml := idpResponse(t, idp, tt.opts)
			a, err := v.serviceProvider(testNow, &signatureRecorder{}).ParseXMLResponse(xml, nil, *acs)
			if err == nil && a.Subject.NameID.Value != "alice@example.com" {
				t.Fatalf("crewjam accepted the evil assertion for %q", a.Subject.NameID.Value)
			}
		})
	}
}
