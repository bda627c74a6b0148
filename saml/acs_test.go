package saml

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
)

func TestValidateAccepts(t *testing.T) {
	idp := validTestKey(t, "idp")
	tests := []struct {
		name  string
		opts  idpOpts
		tweak func(v *ResponseValidator)
		form  func(f url.Values)
		check func(t *testing.T, id *Identity)
	}{
		{name: "idp-initiated, assertion signed", opts: idpOpts{signAssertion: true}},
		{name: "response signed only", opts: idpOpts{signResponse: true}},
		{name: "both signed, assertion required", opts: idpOpts{signResponse: true, signAssertion: true},
			tweak: func(v *ResponseValidator) { v.RequireSignedAssertion = true }},
		{name: "sp-initiated", opts: idpOpts{inResponseTo: "_req1", signResponse: true},
			tweak: func(v *ResponseValidator) { v.AllowIdPInitiated = false },
			check: func(t *testing.T, id *Identity) {
				if id.InResponseTo != "_req1" {
					t.Errorf("InResponseTo = %q", id.InResponseTo)
				}
			}},
		{name: "relay state", opts: idpOpts{},
			form: func(f url.Values) { f.Set("RelayState", "https://app.example.com/home?x=1") },
			check: func(t *testing.T, id *Identity) {
				if id.RelayState != "https://app.example.com/home?x=1" {
					t.Errorf("RelayState = %q", id.RelayState)
				}
			}},
		{name: "email attribute is the user", opts: idpOpts{nameID: "00u1abcd"},
			tweak: func(v *ResponseValidator) { v.EmailAttr = "email" },
			check: func(t *testing.T, id *Identity) {
				if id.User != "alice@example.com" || id.NameID != "00u1abcd" || id.Email != "alice@example.com" {
					t.Errorf("User %q NameID %q Email %q", id.User, id.NameID, id.Email)
				}
			}},
		{name: "groups from memberOf", opts: idpOpts{attrs: []crewjam.Attribute{
			{Name: "memberOf", Values: []crewjam.AttributeValue{{Value: "cn=admins"}}},
			{Name: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", Values: []crewjam.AttributeValue{{Value: "guid-1"}}},
		}},
			check: func(t *testing.T, id *Identity) {
				if !reflect.DeepEqual(id.Groups, []string{"cn=admins"}) {
					t.Errorf("Groups = %q", id.Groups)
				}
			}},
		{name: "second certificate of a rollover", opts: idpOpts{},
			tweak: func(v *ResponseValidator) {
				other := validTestKey(t, "old")
				v.IdPCerts = []*x509.Certificate{other.cert, idp.cert}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(idp)
			if tt.tweak != nil {
				tt.tweak(v)
			}
			f := form(idpResponse(t, idp, tt.opts))
			if tt.form != nil {
				tt.form(f)
			}
			id, err := v.Validate(context.Background(), f)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if id.NameID == "" || id.IdP != testIdPEntity || id.AssertionID == "" {
				t.Errorf("identity %+v", id)
			}
			if id.SessionIndex != "_session1" || id.AuthnContextClassRef == "" || id.AuthnInstant.IsZero() {
				t.Errorf("authn statement not carried: %+v", id)
			}
			if tt.check != nil {
				tt.check(t, id)
			} else {
				if id.User != "alice@example.com" {
					t.Errorf("User = %q", id.User)
				}
				if !reflect.DeepEqual(id.Groups, []string{"sales", "staff"}) {
					t.Errorf("Groups = %q", id.Groups)
				}
			}
		})
	}
}

func TestValidateReplay(t *testing.T) {
	idp := validTestKey(t, "idp")
	v := newValidator(idp)
	f := form(idpResponse(t, idp, idpOpts{}))
	if _, err := v.Validate(context.Background(), f); err != nil {
		t.Fatalf("first: %v", err)
	}
	_, err := v.Validate(context.Background(), f)
	if got := ReasonOf(err); got != ReasonReplayed {
		t.Fatalf("second: reason %q (%v), want %q", got, err, ReasonReplayed)
	}
}

func TestValidateInResponseToSingleUse(t *testing.T) {
	idp := validTestKey(t, "idp")
	v := newValidator(idp)
	if _, err := v.Validate(context.Background(), form(idpResponse(t, idp, idpOpts{inResponseTo: "_req1"}))); err != nil {
		t.Fatalf("first: %v", err)
	}
	_, err := v.Validate(context.Background(), form(idpResponse(t, idp, idpOpts{inResponseTo: "_req1"})))
	if got := ReasonOf(err); got != ReasonInResponseToMismatch {
		t.Fatalf("second: reason %q (%v)", got, err)
	}
}

func TestValidateTechnicalFailure(t *testing.T) {
	idp := validTestKey(t, "idp")
	v := newValidator(idp)
	v.Replay = failingReplay{}
	_, err := v.Validate(context.Background(), form(idpResponse(t, idp, idpOpts{})))
	if got := ReasonOf(err); got != ReasonInternal {
		t.Fatalf("reason %q (%v)", got, err)
	}
	v.Replay = nil
	_, err = v.Validate(context.Background(), form(idpResponse(t, idp, idpOpts{})))
	if got := ReasonOf(err); got != ReasonInternal {
		t.Fatalf("nil replay: reason %q (%v)", got, err)
	}
}

type failingReplay struct{}

func (failingReplay) ConsumeOnce(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("store is down")
}

func TestValidationErrorHidesXML(t *testing.T) {
	idp := validTestKey(t, "idp")
	v := newValidator(idp)
	v.SPEntityID = "https://other.example.com"
	_, err := v.Validate(context.Background(), form(idpResponse(t, idp, idpOpts{nameID: "secret-user@example.com"})))
	if err == nil {
		t.Fatal("accepted")
	}
	if strings.Contains(err.Error(), "secret-user") || strings.Contains(err.Error(), "<saml") {
		t.Errorf("error leaks the assertion: %v", err)
	}
}

func TestValidateIgnoreCertExpiry(t *testing.T) {
	expired := newTestKey(t, "idp-old", testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour))
	other := validTestKey(t, "other")
	for _, certs := range [][]*x509.Certificate{{expired.cert}, {other.cert, expired.cert}} {
		v := newValidator(expired)
		v.IdPCerts = certs
		xml := idpResponse(t, expired, idpOpts{after: func(root, a *etree.Element) {
			if len(certs) > 1 { // no certificate in KeyInfo: each trusted one is tried
				sig := a.SelectElement("Signature")
				sig.RemoveChild(sig.SelectElement("KeyInfo"))
			}
		}})
		if _, err := v.Validate(context.Background(), form(xml)); ReasonOf(err) != ReasonSignatureInvalid {
			t.Fatalf("%d certs, expiry enforced: %v", len(certs), err)
		}
		v = newValidator(expired)
		v.IdPCerts = certs
		v.IgnoreCertExpiry = true
		if _, err := v.Validate(context.Background(), form(xml)); err != nil {
			t.Fatalf("%d certs, expiry ignored: %v", len(certs), err)
		}
	}
}

func TestReadACSForm(t *testing.T) {
	idp := validTestKey(t, "idp")
	body := form(idpResponse(t, idp, idpOpts{}))
	body.Set("RelayState", "rs")
	post := func(target, ct, b string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(b))
		r.Header.Set("Content-Type", ct)
		return r
	}
	const urlenc = "application/x-www-form-urlencoded"
	tests := []struct {
		name   string
		req    *http.Request
		reason string
	}{
		{"good", post(testProxyACS, urlenc, body.Encode()), ""},
		{"charset parameter", post(testProxyACS, urlenc+"; charset=utf-8", body.Encode()), ""},
		{"GET", httptest.NewRequest(http.MethodGet, testProxyACS+"?"+body.Encode(), nil), ReasonBindingNotSupported},
		{"artifact in query", post(testProxyACS+"?SAMLart=AAQ", urlenc, body.Encode()), ReasonBindingNotSupported},
		{"multipart", post(testProxyACS, "multipart/form-data; boundary=x", body.Encode()), ReasonMalformed},
		{"too large", post(testProxyACS, urlenc, "SAMLResponse="+strings.Repeat("A", MaxFormBytes)), ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadACSForm(tt.req)
			if tt.reason != "" {
				if got := ReasonOf(err); got != tt.reason {
					t.Fatalf("reason %q (%v), want %q", got, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, err := newValidator(idp).Validate(context.Background(), f)
			if err != nil || id.RelayState != "rs" {
				t.Fatalf("validate: %v %+v", err, id)
			}
		})
	}
}
