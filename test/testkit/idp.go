package testkit

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/saml"
)

// TestIdP mints signed SAML Responses as an IdP would, for tests that need
// many logins quickly. Interoperability with real IdPs is proven separately
// (test/interop).
type TestIdP struct {
	EntityID string
	SSOURL   string
	Metadata string
	signer   saml.Signer
	t        testing.TB
}

// NewTestIdP makes an IdP with a fresh RSA-2048 signing key.
func NewTestIdP(t testing.TB, entityID, ssoURL string) *TestIdP {
	t.Helper()
	md, certPEM, keyPEM := IdPMetadata(t, entityID, ssoURL, 365*24*time.Hour)
	cert, key, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &TestIdP{EntityID: entityID, SSOURL: ssoURL, Metadata: md, signer: saml.Signer{Key: key, Cert: cert}, t: t}
}

// Login describes the assertion to mint.
type Login struct {
	User         string
	Groups       []string
	Audience     string // the app's entity ID
	ACSURL       string // where it is posted: casd's ACS for the app
	InResponseTo string
	RelayState   string
}

// Mint returns the base64 SAMLResponse for l, signed on the Response and
// the Assertion.
func (p *TestIdP) Mint(l Login) string {
	p.t.Helper()
	var b [16]byte
	rand.Read(b[:])
	now := time.Now()
	id := &saml.Identity{
		IdP:                  p.EntityID,
		NameID:               l.User,
		NameIDFormat:         "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		User:                 l.User,
		Email:                l.User,
		Groups:               l.Groups,
		SessionIndex:         "_s" + hex.EncodeToString(b[:]),
		AuthnInstant:         now,
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
		Attributes: []saml.Attribute{
			{Name: "email", Values: []string{l.User}},
			{Name: "groups", Values: l.Groups},
		},
	}
	xml, err := saml.BuildResponse(id, saml.Target{EntityID: l.Audience, ACSURL: l.ACSURL, InResponseTo: l.InResponseTo, SignResponse: true, SignAssertion: true}, p.signer, p.EntityID, now)
	if err != nil {
		p.t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(xml)
}
