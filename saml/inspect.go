package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// responseShape is what the ACS reads from a Response before its signature
// is checked. It decides only refusals and which request ID to take; no
// value from it reaches the Identity.
type responseShape struct {
	destination  string
	inResponseTo string
	issuer       *string
}

// inspectResponse guards the decoded Response and checks its structure
// strictly, which defeats signature wrapping before crewjam looks at it: the
// root is the only Response, there is exactly one Assertion and it is a
// child of the root, no encrypted element, every Signature sits directly
// under the Response or the Assertion, no SHA-1 algorithm anywhere, and
// at least one signature where one can be (on the Assertion if required).
func inspectResponse(decoded []byte, requireSignedAssertion bool) (*responseShape, error) {
	if reason, err := guardBytes(decoded, MaxResponseBytes); err != nil {
		return nil, &ValidationError{Reason: reason, Err: err}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(decoded); err != nil {
		return nil, refuse(ReasonMalformed, "parse response: %w", err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "Response" || root.NamespaceURI() != nsProtocol {
		return nil, refuse(ReasonMalformed, "root element is not a samlp:Response")
	}
	var assertions, responseSigs, assertionSigs int
	var assertion *etree.Element
	var walkErr error
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		if walkErr != nil {
			return
		}
		ns := el.NamespaceURI()
		switch {
		case ns == nsProtocol && el.Tag == "Response" && el != root:
			walkErr = refuse(ReasonMalformed, "nested Response element")
		case ns == nsAssertion && el.Tag == "Assertion":
			assertions++
			assertion = el
			if el.Parent() != root {
				walkErr = refuse(ReasonMalformed, "Assertion outside the Response's children")
			}
		case strings.HasPrefix(el.Tag, "Encrypted") && (ns == nsAssertion || ns == "http://www.w3.org/2001/04/xmlenc#"):
			walkErr = refuse(ReasonEncryptedUnsupported, "encrypted %s is not supported", el.Tag)
		case ns == nsDSig && el.Tag == "Signature":
			switch p := el.Parent(); {
			case p == root:
				responseSigs++
			case p != nil && p.Tag == "Assertion" && p.Parent() == root && p.NamespaceURI() == nsAssertion:
				assertionSigs++
			default:
				walkErr = refuse(ReasonSignatureInvalid, "Signature in an unexpected place (under %s)", el.Parent().Tag)
			}
		case ns == nsDSig && (el.Tag == "SignatureMethod" || el.Tag == "DigestMethod"):
			if alg := el.SelectAttrValue("Algorithm", ""); isSHA1(alg) {
				walkErr = refuse(ReasonWeakAlgorithm, "%s %s", el.Tag, alg)
			}
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	if walkErr != nil {
		return nil, walkErr
	}
	if assertions != 1 {
		return nil, refuse(ReasonMalformed, "%d Assertions, want exactly one", assertions)
	}
	if responseSigs > 1 || assertionSigs > 1 {
		return nil, refuse(ReasonSignatureInvalid, "more than one Signature on an element")
	}
	if responseSigs+assertionSigs == 0 {
		return nil, refuse(ReasonSignatureMissing, "neither the Response nor the Assertion is signed")
	}
	if requireSignedAssertion && assertionSigs == 0 {
		return nil, refuse(ReasonSignatureMissing, "the Assertion is not signed and this app requires it")
	}
	_ = assertion
	shape := &responseShape{
		destination:  root.SelectAttrValue("Destination", ""),
		inResponseTo: root.SelectAttrValue("InResponseTo", ""),
	}
	for _, c := range root.ChildElements() {
		if c.Tag == "Issuer" && c.NamespaceURI() == nsAssertion {
			if shape.issuer != nil {
				return nil, refuse(ReasonMalformed, "more than one Response Issuer")
			}
			v := strings.TrimSpace(c.Text())
			shape.issuer = &v
		}
	}
	return shape, nil
}

// isSHA1 reports whether an XML signature or digest algorithm URI is SHA-1
// based.
func isSHA1(alg string) bool {
	a := strings.ToLower(alg)
	return strings.HasSuffix(a, "sha1") || strings.Contains(a, "sha1#") || strings.HasSuffix(a, "#sha1")
}

// signatureRecorder verifies signatures for crewjam (as its default code
// does) and records which elements carried a valid one, so that
// RequireSignedAssertion can be enforced on what was verified rather than on
// what the document claims.
type signatureRecorder struct {
	certs     []*x509.Certificate
	response  bool
	assertion bool
}

// VerifySignature implements crewjam's SignatureVerifier.
func (r *signatureRecorder) VerifySignature(vc *dsig.ValidationContext, el *etree.Element) error {
	_, err := r.VerifySignedElement(vc, el)
	return err
}

// VerifySignedElement implements crewjam's SignedElementVerifier.
func (r *signatureRecorder) VerifySignedElement(vc *dsig.ValidationContext, el *etree.Element) (*etree.Element, error) {
	signed, err := r.verify(vc, el)
	if err != nil {
		return nil, err
	}
	switch {
	case el.Tag == "Response" && el.NamespaceURI() == nsProtocol:
		r.response = true
	case el.Tag == "Assertion" && el.NamespaceURI() == nsAssertion:
		r.assertion = true
	}
	return signed, nil
}

func (r *signatureRecorder) verify(vc *dsig.ValidationContext, el *etree.Element) (*etree.Element, error) {
	if el.FindElement("./Signature/KeyInfo/X509Data/X509Certificate") != nil || len(r.certs) <= 1 {
		return vc.Validate(el)
	}
	// No certificate in KeyInfo and several trusted ones (a rollover): try
	// each alone, as crewjam does without a SignatureVerifier.
	var err error
	for _, c := range r.certs {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		ctx.IdAttribute = vc.IdAttribute
		ctx.Clock = vc.Clock
		var signed *etree.Element
		if signed, err = ctx.Validate(el); err == nil {
			return signed, nil
		}
	}
	if err == nil {
		err = errors.New("no certificate")
	}
	return nil, fmt.Errorf("validate with each certificate: %w", err)
}

// dsigClock returns a goxmldsig clock stopped at now.
func dsigClock(now time.Time) *dsig.Clock {
	return dsig.NewFakeClockAt(now)
}
