package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Validity of the Responses BuildResponse issues.
const (
	// IssuedLifetime is how long after issue an app may accept them.
	IssuedLifetime = 5 * time.Minute
	// IssuedBackdate is how far NotBefore lies before the issue instant,
	// for apps whose clock runs slightly behind.
	IssuedBackdate = 30 * time.Second
)

// Target is the app a Response is built for.
type Target struct {
	EntityID      string // audience
	ACSURL        string // Destination and Recipient: the app's real ACS
	InResponseTo  string // the app's AuthnRequest ID, empty for IdP-initiated
	SignResponse  bool
	SignAssertion bool // the assertion is signed also when neither is set
}

// Signer is a signing key with its certificate: the app's replacement key.
type Signer struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

// BuildResponse builds a new Response for the app from the validated
// identity only (the IdP's XML is never reused): fresh IDs and instants,
// Destination and Recipient set to the app's ACS, audience to the app's
// entity ID, Issuer to issuer (the IdP's entity ID), the subject, attributes
// and authn statement carried over. It is signed with signer (RSA-SHA256 or
// ECDSA-SHA256, exclusive C14N, enveloped): the assertion unless only
// SignResponse is set, and the Response when SignResponse is set.
func BuildResponse(id *Identity, to Target, signer Signer, issuer string, now time.Time) ([]byte, error) {
	if id == nil || id.NameID == "" {
		return nil, errors.New("build response: no identity")
	}
	if to.EntityID == "" || to.ACSURL == "" || issuer == "" {
		return nil, errors.New("build response: target entity ID, ACS URL and issuer are required")
	}
	ctx, err := signingContext(signer)
	if err != nil {
		return nil, fmt.Errorf("build response: %w", err)
	}
	now = now.UTC().Truncate(time.Millisecond)
	assertionID, err := newID()
	if err != nil {
		return nil, fmt.Errorf("build response: %w", err)
	}
	responseID, err := newID()
	if err != nil {
		return nil, fmt.Errorf("build response: %w", err)
	}
	a := newAssertion(id, to, issuer, now, assertionID)
	assertionEl, err := a.CanonicalElement()
	if err != nil {
		return nil, fmt.Errorf("build response: %w", err)
	}
	if to.SignAssertion || !to.SignResponse {
		if assertionEl, err = signEnveloped(ctx, assertionEl); err != nil {
			return nil, fmt.Errorf("build response: sign assertion: %w", err)
		}
	}
	resp := crewjam.Response{
		ID:           responseID,
		InResponseTo: to.InResponseTo,
		Version:      "2.0",
		IssueInstant: now,
		Destination:  to.ACSURL,
		Issuer:       &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: issuer},
		Status:       crewjam.Status{StatusCode: crewjam.StatusCode{Value: crewjam.StatusSuccess}},
	}
	respEl := resp.Element()
	respEl.AddChild(assertionEl)
	if to.SignResponse {
		if respEl, err = signEnveloped(ctx, respEl); err != nil {
			return nil, fmt.Errorf("build response: sign response: %w", err)
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(respEl)
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("build response: serialise: %w", err)
	}
	return out, nil
}

func newAssertion(id *Identity, to Target, issuer string, now time.Time, assertionID string) *crewjam.Assertion {
	notOnOrAfter := now.Add(IssuedLifetime)
	authnInstant := id.AuthnInstant
	if authnInstant.IsZero() {
		authnInstant = now
	}
	a := &crewjam.Assertion{
		ID:           assertionID,
		IssueInstant: now,
		Version:      "2.0",
		Issuer:       crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: issuer},
		Subject: &crewjam.Subject{
			NameID: &crewjam.NameID{
				Format:          id.NameIDFormat,
				NameQualifier:   id.NameQualifier,
				SPNameQualifier: id.SPNameQualifier,
				Value:           id.NameID,
			},
			SubjectConfirmations: []crewjam.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &crewjam.SubjectConfirmationData{
					InResponseTo: to.InResponseTo,
					NotOnOrAfter: notOnOrAfter,
					Recipient:    to.ACSURL,
				},
			}},
		},
		Conditions: &crewjam.Conditions{
			NotBefore:            now.Add(-IssuedBackdate),
			NotOnOrAfter:         notOnOrAfter,
			AudienceRestrictions: []crewjam.AudienceRestriction{{Audience: crewjam.Audience{Value: to.EntityID}}},
		},
		AuthnStatements: []crewjam.AuthnStatement{{
			AuthnInstant: authnInstant.UTC(),
			SessionIndex: id.SessionIndex,
		}},
	}
	if id.AuthnContextClassRef != "" {
		a.AuthnStatements[0].AuthnContext.AuthnContextClassRef = &crewjam.AuthnContextClassRef{Value: id.AuthnContextClassRef}
	}
	if len(id.Attributes) > 0 {
		var st crewjam.AttributeStatement
		for _, at := range id.Attributes {
			ca := crewjam.Attribute{Name: at.Name, NameFormat: at.NameFormat, FriendlyName: at.FriendlyName}
			for _, v := range at.Values {
				ca.Values = append(ca.Values, crewjam.AttributeValue{Value: v})
			}
			st.Attributes = append(st.Attributes, ca)
		}
		a.AttributeStatements = []crewjam.AttributeStatement{st}
	}
	return a
}

// signingContext returns a goxmldsig context for signer: SHA-256,
// exclusive C14N with an empty prefix list.
func signingContext(s Signer) (*dsig.SigningContext, error) {
	if s.Key == nil || s.Cert == nil {
		return nil, errors.New("signer needs a key and a certificate")
	}
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := ""
	switch s.Key.Public().(type) {
	case *rsa.PublicKey:
		method = dsig.RSASHA256SignatureMethod
	case *ecdsa.PublicKey:
		method = dsig.ECDSASHA256SignatureMethod
	default:
		return nil, fmt.Errorf("unsupported key type %T", s.Key.Public())
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return nil, err
	}
	return ctx, nil
}

// signEnveloped signs el and places its Signature right after the Issuer,
// where the SAML schema wants it (the enveloped transform removes it wherever
// it is, so the move does not change what was signed).
func signEnveloped(ctx *dsig.SigningContext, el *etree.Element) (*etree.Element, error) {
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	sig := signed.Child[len(signed.Child)-1]
	signed.RemoveChildAt(len(signed.Child) - 1)
	at := 0
	for i, c := range signed.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	signed.InsertChildAt(at, sig)
	return signed, nil
}

// newID returns a fresh xs:ID: an underscore and 40 hex digits.
func newID() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return "_" + hex.EncodeToString(b[:]), nil
}
