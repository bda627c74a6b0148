package e2e

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/test/testkit"
)

// TestReplayRefusedAcrossRestart: an assertion is accepted once, and a
// restart of casd does not forget it.
func TestReplayRefusedAcrossRestart(t *testing.T) {
	r := newLoginRig(t)
	resp := r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	b := testkit.NewBrowser(t, r.ca)
	if p := b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}}); !forwarded(p) {
		t.Fatalf("first use: %d\n%s", p.Status, p.Body)
	}
	r.c.Stop()
	r.c.Start()
	p := b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}})
	if p.Status != 400 || forwarded(p) {
		t.Fatalf("replay after restart: %d\n%s", p.Status, p.Body)
	}
	var seen int64
	for {
		e := nextLogin(t, r.c, &seen)
		if e.Reason == "replayed" {
			break
		}
	}
}

// TestBadMessagesRefusedAndCasdServes: tampered, oversized and otherwise
// bad posts are refused with a reference, never forwarded, and casd keeps
// serving.
func TestBadMessagesRefusedAndCasdServes(t *testing.T) {
	r := newLoginRig(t)
	good := func() string {
		return r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	}
	tamper := func() string {
		xml, _ := base64.StdEncoding.DecodeString(good())
		s := strings.Replace(string(xml), "alice@example.com", "admin@example.com", -1)
		return base64.StdEncoding.EncodeToString([]byte(s))
	}
	other := testkit.NewTestIdP(t, "https://idp.e2e.test/metadata", "https://idp.e2e.test/sso") // same entity ID, other key
	cases := []struct {
		name   string
		form   url.Values
		reason string
	}{
		{"tampered NameID", url.Values{"SAMLResponse": {tamper()}}, "signature_invalid"},
		{"signed by another key", url.Values{"SAMLResponse": {other.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})}}, "signature_invalid"},
		{"wrong audience", url.Values{"SAMLResponse": {r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: "https://other.app/sp", ACSURL: r.portal() + "/saml/app/acs"})}}, "audience_mismatch"},
		{"wrong destination", url.Values{"SAMLResponse": {r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/other/acs"})}}, "destination_mismatch"},
		{"unsolicited InResponseTo", url.Values{"SAMLResponse": {r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs", InResponseTo: "_never_asked"})}}, "in_response_to_mismatch"},
		{"oversized body", url.Values{"SAMLResponse": {strings.Repeat("A", 2<<20)}}, "too_large"},
		{"artifact binding", url.Values{"SAMLart": {"AAQAAA=="}}, "binding_not_supported"},
		{"relay state too long", url.Values{"SAMLResponse": {good()}, "RelayState": {strings.Repeat("r", 81)}}, "relay_state_too_long"},
		{"not base64", url.Values{"SAMLResponse": {"%%%not-base64%%%"}}, "malformed"},
		{"doctype", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))}}, "doctype"},
	}
	b := testkit.NewBrowser(t, r.ca)
	var seen int64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.PostForm(r.portal()+"/saml/app/acs", tc.form)
			if p.Status < 400 || forwarded(p) || !strings.Contains(p.Body, `id="cas-ref"`) {
				t.Fatalf("status %d, forwarded %v\n%s", p.Status, forwarded(p), p.Body)
			}
			if strings.Contains(p.Body, "alice@example.com") || strings.Contains(p.Body, "Signature") {
				t.Errorf("error page leaks detail:\n%s", p.Body)
			}
			e := nextLogin(t, r.c, &seen)
			if e.Decision != "block" || e.Reason != tc.reason {
				t.Fatalf("event = %+v, want reason %s", e, tc.reason)
			}
		})
	}
	var st api.Status
	r.c.JSON(&st, "status")
	if p := b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {good()}}); !forwarded(p) {
		t.Fatalf("a good login after the bad ones: %d\n%s", p.Status, p.Body)
	}
}

// TestRelayStateAndBlockPageThroughCasd: IdP-initiated RelayState reaches
// the app; a block shows the policy's message with the app and a reference.
func TestRelayStateAndBlockPageThroughCasd(t *testing.T) {
	r := newLoginRig(t)
	b := testkit.NewBrowser(t, r.ca)
	resp := r.idp.Mint(testkit.Login{User: "bob@example.com", Groups: []string{"contractors"}, Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	p := b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}, "RelayState": {"/reports/42?x=<b>"}})
	f := p.FormWith(t, "SAMLResponse")
	if f.Action != appACS || f.Fields.Get("RelayState") != "/reports/42?x=<b>" {
		t.Fatalf("forwarded to %s with RelayState %q", f.Action, f.Fields.Get("RelayState"))
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(csp, "form-action https://app.e2e.test") {
		t.Errorf("auto-post CSP = %q", csp)
	}
	r.c.OK("policy", "add", "no-contractors", "--kind", "access", "--group", "contractors", "--action", "block", "--message", "Contractors use the partner portal.")
	resp = r.idp.Mint(testkit.Login{User: "bob@example.com", Groups: []string{"contractors"}, Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	p = b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}})
	if p.Status != 403 || !strings.Contains(p.Body, "Contractors use the partner portal.") || !strings.Contains(p.Body, `id="cas-ref"`) || forwarded(p) {
		t.Fatalf("block page: %d\n%s", p.Status, p.Body)
	}
	// A log-only policy records what it would have done, and changes nothing.
	r.c.OK("policy", "add", "watch-alice", "--kind", "access", "--user", "alice@example.com", "--action", "block", "--log-only")
	resp = r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	if p := b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}}); !forwarded(p) {
		t.Fatalf("log-only changed the outcome: %d", p.Status)
	}
	var seen int64
	var e api.Event
	for e.User != "alice@example.com" {
		e = nextLogin(t, r.c, &seen)
	}
	if e.Decision != "allow" || len(e.Policies) != 1 || e.Policies[0] != "watch-alice" || !strings.Contains(string(e.Details), "would_block") {
		t.Fatalf("log-only event = %+v %s", e, e.Details)
	}
}

// signingCert returns the certificate in the KeyInfo of the forwarded
// Response's first signature.
func signingCert(t *testing.T, p *testkit.Page) string {
	t.Helper()
	xml, err := base64.StdEncoding.DecodeString(p.FormWith(t, "SAMLResponse").Fields.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(xml)
	i := strings.Index(s, "X509Certificate>")
	j := strings.Index(s[i+16:], "<")
	if i < 0 || j < 0 {
		t.Fatalf("no certificate in the forwarded Response")
	}
	return strings.TrimSpace(s[i+16 : i+16+j])
}

func pemBody(pemText string) string {
	s := strings.TrimSpace(pemText)
	s = strings.TrimPrefix(s, "-----BEGIN CERTIFICATE-----")
	s = strings.TrimSuffix(s, "-----END CERTIFICATE-----")
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "")
}

// TestCertificateRotationWithoutDowntime: after rotate the old key keeps
// signing while the app metadata offers both certificates; after retiring
// the old one the new one signs; the last one cannot be retired.
func TestCertificateRotationWithoutDowntime(t *testing.T) {
	r := newLoginRig(t)
	login := func() *testkit.Page {
		b := testkit.NewBrowser(t, r.ca)
		p := r.postLogin(t, b, "alice@example.com")
		if !forwarded(p) {
			t.Fatalf("login: %d\n%s", p.Status, p.Body)
		}
		return p
	}
	var app api.App
	r.c.JSON(&app, "app", "show", "app")
	old := app.Keys[0]
	r.c.JSON(&app, "app", "cert", "rotate", "app")
	if len(app.Keys) != 2 {
		t.Fatalf("after rotate: %+v", app.Keys)
	}
	var next api.AppKey
	for _, k := range app.Keys {
		if k.Serial != old.Serial {
			next = k
		}
	}
	if got := signingCert(t, login()); got != pemBody(old.CertPEM) {
		t.Fatal("after rotate, logins must still be signed with the old key")
	}
	md := r.c.OK("app", "metadata", "app", "--for", "app")
	if !strings.Contains(md, pemBody(old.CertPEM)) || !strings.Contains(md, pemBody(next.CertPEM)) {
		t.Fatal("metadata for the app does not offer both certificates during the rotation")
	}
	r.c.OK("app", "cert", "retire", "app", "--serial", old.Serial)
	if got := signingCert(t, login()); got != pemBody(next.CertPEM) {
		t.Fatal("after retiring the old certificate, the new one must sign")
	}
	r.c.Fails(1, "only certificate", "app", "cert", "retire", "app", "--serial", next.Serial)
}
