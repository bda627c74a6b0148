package main

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/saml"
)

// idp mints signed SAML Responses, as testkit.TestIdP does for tests.
type idp struct {
	entityID string
	metadata string
	signer   saml.Signer
}

func newIdP(entityID string) (*idp, error) {
	certPEM, keyPEM, _, err := pki.NewSigningCert("bench idp", 2048, 24*time.Hour, time.Now())
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	cert, key, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("idp: %w", err)
	}
	b, _ := pem.Decode(certPEM)
	md := fmt.Sprintf(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`, entityID, base64.StdEncoding.EncodeToString(b.Bytes), strings.TrimSuffix(entityID, "/metadata"))
	return &idp{entityID: entityID, metadata: md, signer: saml.Signer{Key: key, Cert: cert}}, nil
}

// mint returns the base64 SAMLResponse for user, for the app whose entity
// ID is audience, posted to casd's ACS acs.
func (p *idp) mint(user, audience, acs string) (string, error) {
	now := time.Now()
	id := &saml.Identity{
		IdP:                  p.entityID,
		NameID:               user,
		NameIDFormat:         "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		User:                 user,
		Email:                user,
		SessionIndex:         fmt.Sprintf("_s%d", now.UnixNano()),
		AuthnInstant:         now,
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:Password",
		Attributes:           []saml.Attribute{{Name: "email", Values: []string{user}}},
	}
	xml, err := saml.BuildResponse(id, saml.Target{EntityID: audience, ACSURL: acs, SignResponse: true, SignAssertion: true}, p.signer, p.entityID, now)
	if err != nil {
		return "", fmt.Errorf("mint response: %w", err)
	}
	return base64.StdEncoding.EncodeToString(xml), nil
}
