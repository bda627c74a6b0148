package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

// Limits of metadata import: the largest document ParseIdPMetadata and
// ParseSPMetadata accept, and the most tags ('<') in it. One entity's
// metadata has a few hundred at most.
const (
	MaxMetadataBytes = 1 << 20
	MaxMetadataTags  = 10000
)

// SAML binding URNs.
const (
	BindingHTTPPost     = crewjam.HTTPPostBinding
	BindingHTTPRedirect = crewjam.HTTPRedirectBinding
)

// Errors of metadata import, matched with errors.Is.
var (
	ErrMetadataTooLarge   = errors.New("saml: metadata too large")
	ErrMetadataDoctype    = errors.New("saml: metadata declares a DOCTYPE or ENTITY")
	ErrMalformedMetadata  = errors.New("saml: malformed metadata")
	ErrNoIdPDescriptor    = errors.New("saml: metadata has no IDPSSODescriptor")
	ErrNoSPDescriptor     = errors.New("saml: metadata has no SPSSODescriptor")
	ErrNoSSOEndpoint      = errors.New("saml: metadata has no usable SingleSignOnService (HTTP-Redirect or HTTP-POST)")
	ErrNoACSEndpoint      = errors.New("saml: metadata has no usable HTTP-POST AssertionConsumerService")
	ErrNoSigningCert      = errors.New("saml: metadata has no signing certificate")
	ErrInvalidCertificate = errors.New("saml: metadata certificate does not parse")
	// ErrExpiredCert is matched by an *ExpiredCertError.
	ErrExpiredCert = errors.New("saml: certificate is expired or not yet valid")
)

// ExpiredCertError reports a metadata certificate outside its validity
// period. The parse functions return it together with the parsed metadata,
// so a caller may choose to accept the metadata anyway (cas idp add --force).
type ExpiredCertError struct {
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	Now       time.Time
}

// Error describes the certificate and its validity period.
func (e *ExpiredCertError) Error() string {
	if e.Now.Before(e.NotBefore) {
		return fmt.Sprintf("saml: certificate %q is not valid before %s", e.Subject, e.NotBefore.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("saml: certificate %q expired at %s", e.Subject, e.NotAfter.UTC().Format(time.RFC3339))
}

// Is reports whether target is ErrExpiredCert.
func (e *ExpiredCertError) Is(target error) bool { return target == ErrExpiredCert }

// Endpoint is a SAML protocol endpoint.
type Endpoint struct {
	Binding  string
	Location string
}

// ACSEndpoint is an SP's AssertionConsumerService.
type ACSEndpoint struct {
	Binding   string
	Location  string
	Index     int
	IsDefault bool
}

// Certificate is a certificate from metadata, as PEM and parsed.
type Certificate struct {
	PEM  string
	Cert *x509.Certificate
}

// IdPMetadata is what the proxy keeps of an identity provider's metadata.
type IdPMetadata struct {
	EntityID                string
	SSO                     []Endpoint // HTTP-Redirect and HTTP-POST only, in document order
	SigningCerts            []Certificate
	WantAuthnRequestsSigned bool
}

// Certificates returns the parsed signing certificates.
func (m *IdPMetadata) Certificates() []*x509.Certificate {
	return certsOf(m.SigningCerts)
}

// SSOEndpoint returns the SingleSignOnService to send AuthnRequests to,
// preferring HTTP-Redirect over HTTP-POST.
func (m *IdPMetadata) SSOEndpoint() (Endpoint, bool) {
	for _, b := range []string{BindingHTTPRedirect, BindingHTTPPost} {
		for _, e := range m.SSO {
			if e.Binding == b {
				return e, true
			}
		}
	}
	return Endpoint{}, false
}

// SPMetadata is what the proxy keeps of an app's (service provider's)
// metadata.
type SPMetadata struct {
	EntityID             string
	ACS                  []ACSEndpoint // HTTP-POST only
	AuthnRequestsSigned  bool
	WantAssertionsSigned bool
	SigningCerts         []Certificate
}

// DefaultACS returns the HTTP-POST AssertionConsumerService marked as
// default, else the one with the lowest index.
func (m *SPMetadata) DefaultACS() (ACSEndpoint, bool) {
	if len(m.ACS) == 0 {
		return ACSEndpoint{}, false
	}
	best := m.ACS[0]
	for _, a := range m.ACS {
		if a.IsDefault {
			return a, true
		}
		if a.Index < best.Index {
			best = a
		}
	}
	return best, true
}

// Certificates returns the parsed signing certificates.
func (m *SPMetadata) Certificates() []*x509.Certificate {
	return certsOf(m.SigningCerts)
}

func certsOf(cs []Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(cs))
	for i, c := range cs {
		out[i] = c.Cert
	}
	return out
}

// ParseIdPMetadata parses an identity provider's metadata: an
// EntityDescriptor, or an EntitiesDescriptor holding exactly one entity with
// an IDPSSODescriptor. A certificate outside its validity period at now is
// reported as an *ExpiredCertError returned with the parsed metadata; every
// other error returns nil metadata.
func ParseIdPMetadata(data []byte, now time.Time) (*IdPMetadata, error) {
	ed, err := parseEntity(data, func(ed *crewjam.EntityDescriptor) bool { return len(ed.IDPSSODescriptors) > 0 })
	if err != nil {
		return nil, err
	}
	if len(ed.IDPSSODescriptors) == 0 {
		return nil, ErrNoIdPDescriptor
	}
	if len(ed.IDPSSODescriptors) > 1 {
		return nil, fmt.Errorf("%w: %d IDPSSODescriptors, want one", ErrMalformedMetadata, len(ed.IDPSSODescriptors))
	}
	d := ed.IDPSSODescriptors[0]
	m := &IdPMetadata{EntityID: strings.TrimSpace(ed.EntityID)}
	if m.EntityID == "" {
		return nil, fmt.Errorf("%w: no entityID", ErrMalformedMetadata)
	}
	if d.WantAuthnRequestsSigned != nil {
		m.WantAuthnRequestsSigned = *d.WantAuthnRequestsSigned
	}
	for _, s := range d.SingleSignOnServices {
		if s.Binding != BindingHTTPRedirect && s.Binding != BindingHTTPPost {
			continue
		}
		loc := strings.TrimSpace(s.Location)
		if err := checkLocation(loc); err != nil {
			return nil, fmt.Errorf("%w: SingleSignOnService: %v", ErrMalformedMetadata, err)
		}
		m.SSO = append(m.SSO, Endpoint{Binding: s.Binding, Location: loc})
	}
	if len(m.SSO) == 0 {
		return nil, ErrNoSSOEndpoint
	}
	certs, expired, err := signingCerts(d.KeyDescriptors, now)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, ErrNoSigningCert
	}
	m.SigningCerts = certs
	if expired != nil {
		return m, expired
	}
	return m, nil
}

// ParseSPMetadata parses an app's (service provider's) metadata: an
// EntityDescriptor, or an EntitiesDescriptor holding exactly one entity with
// an SPSSODescriptor. Only HTTP-POST AssertionConsumerServices are kept. As
// for ParseIdPMetadata, an *ExpiredCertError comes with the metadata.
func ParseSPMetadata(data []byte, now time.Time) (*SPMetadata, error) {
	ed, err := parseEntity(data, func(ed *crewjam.EntityDescriptor) bool { return len(ed.SPSSODescriptors) > 0 })
	if err != nil {
		return nil, err
	}
	if len(ed.SPSSODescriptors) == 0 {
		return nil, ErrNoSPDescriptor
	}
	if len(ed.SPSSODescriptors) > 1 {
		return nil, fmt.Errorf("%w: %d SPSSODescriptors, want one", ErrMalformedMetadata, len(ed.SPSSODescriptors))
	}
	d := ed.SPSSODescriptors[0]
	m := &SPMetadata{EntityID: strings.TrimSpace(ed.EntityID)}
	if m.EntityID == "" {
		return nil, fmt.Errorf("%w: no entityID", ErrMalformedMetadata)
	}
	if d.AuthnRequestsSigned != nil {
		m.AuthnRequestsSigned = *d.AuthnRequestsSigned
	}
	if d.WantAssertionsSigned != nil {
		m.WantAssertionsSigned = *d.WantAssertionsSigned
	}
	for _, a := range d.AssertionConsumerServices {
		if a.Binding != BindingHTTPPost {
			continue
		}
		loc := strings.TrimSpace(a.Location)
		if err := checkLocation(loc); err != nil {
			return nil, fmt.Errorf("%w: AssertionConsumerService: %v", ErrMalformedMetadata, err)
		}
		m.ACS = append(m.ACS, ACSEndpoint{Binding: a.Binding, Location: loc, Index: a.Index, IsDefault: a.IsDefault != nil && *a.IsDefault})
	}
	if len(m.ACS) == 0 {
		return nil, ErrNoACSEndpoint
	}
	certs, expired, err := signingCerts(d.KeyDescriptors, now)
	if err != nil {
		return nil, err
	}
	m.SigningCerts = certs
	if expired != nil {
		return m, expired
	}
	return m, nil
}

// parseEntity guards and decodes metadata, returning the one entity it
// describes; in an EntitiesDescriptor, the one for which want is true.
func parseEntity(data []byte, want func(*crewjam.EntityDescriptor) bool) (*crewjam.EntityDescriptor, error) {
	if len(data) > MaxMetadataBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMetadataTooLarge, len(data), MaxMetadataBytes)
	}
	reason, err := guardXML(data, MaxMetadataBytes, MaxMetadataTags)
	switch reason {
	case "":
	case ReasonDoctype:
		return nil, ErrMetadataDoctype
	case ReasonTooLarge:
		return nil, fmt.Errorf("%w: %v", ErrMetadataTooLarge, err)
	default:
		return nil, fmt.Errorf("%w: %v", ErrMalformedMetadata, err)
	}
	root, err := rootName(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedMetadata, err)
	}
	const mdNS = "urn:oasis:names:tc:SAML:2.0:metadata"
	switch {
	case root.Space == mdNS && root.Local == "EntityDescriptor":
		var ed crewjam.EntityDescriptor
		if err := xml.Unmarshal(data, &ed); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedMetadata, err)
		}
		return &ed, nil
	case root.Space == mdNS && root.Local == "EntitiesDescriptor":
		var es crewjam.EntitiesDescriptor
		if err := xml.Unmarshal(data, &es); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformedMetadata, err)
		}
		if len(es.EntitiesDescriptors) > 0 {
			return nil, fmt.Errorf("%w: nested EntitiesDescriptor is not supported", ErrMalformedMetadata)
		}
		var found []*crewjam.EntityDescriptor
		for i := range es.EntityDescriptors {
			if want(&es.EntityDescriptors[i]) {
				found = append(found, &es.EntityDescriptors[i])
			}
		}
		switch len(found) {
		case 0:
			if len(es.EntityDescriptors) == 1 {
				return &es.EntityDescriptors[0], nil // the caller names what is missing
			}
			return &crewjam.EntityDescriptor{}, nil
		case 1:
			return found[0], nil
		default:
			return nil, fmt.Errorf("%w: EntitiesDescriptor holds %d matching entities, want one", ErrMalformedMetadata, len(found))
		}
	default:
		return nil, fmt.Errorf("%w: root element is {%s}%s, want an EntityDescriptor or EntitiesDescriptor", ErrMalformedMetadata, root.Space, root.Local)
	}
}

// rootName returns the name of the first element of data.
func rootName(data []byte) (xml.Name, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.Name{}, errors.New("no root element")
		}
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// signingCerts parses the certificates of KeyDescriptors usable for signing
// (use="signing" or no use). Every certificate must parse; the first one
// outside its validity period is returned as an *ExpiredCertError.
func signingCerts(kds []crewjam.KeyDescriptor, now time.Time) ([]Certificate, *ExpiredCertError, error) {
	var out []Certificate
	var expired *ExpiredCertError
	for _, kd := range kds {
		if kd.Use != "" && kd.Use != "signing" {
			continue
		}
		for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
			c, err := parseCertData(xc.Data)
			if err != nil {
				return nil, nil, err
			}
			if expired == nil && (now.Before(c.Cert.NotBefore) || now.After(c.Cert.NotAfter)) {
				expired = &ExpiredCertError{Subject: c.Cert.Subject.String(), NotBefore: c.Cert.NotBefore, NotAfter: c.Cert.NotAfter, Now: now}
			}
			out = append(out, c)
		}
	}
	return out, expired, nil
}

// parseCertData decodes the base64 content of a ds:X509Certificate.
func parseCertData(data string) (Certificate, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, data)
	der, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: base64: %v", ErrInvalidCertificate, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: %v", ErrInvalidCertificate, err)
	}
	return Certificate{PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), Cert: cert}, nil
}

// checkLocation requires an absolute http or https URL.
func checkLocation(loc string) error {
	u, err := url.Parse(loc)
	if err != nil {
		return fmt.Errorf("location %q: %w", loc, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("location %q is not an absolute http(s) URL", loc)
	}
	return nil
}
