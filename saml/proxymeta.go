package saml

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	crewjam "github.com/crewjam/saml"
)

// IdPMetadataForApp returns the metadata the app imports: the proxy posing
// as the app's IdP. entityID is the real IdP's entity ID, ssoURL the
// proxy's https://<portal>/saml/<app>/sso (offered with the HTTP-Redirect
// and HTTP-POST bindings), certs the app's replacement signing
// certificates (several during a rotation, newest first).
func IdPMetadataForApp(entityID, ssoURL string, certs []*x509.Certificate, validUntil time.Time) ([]byte, error) {
	if entityID == "" || len(certs) == 0 {
		return nil, errors.New("idp metadata for app: entity ID and at least one certificate are required")
	}
	if err := checkLocation(ssoURL); err != nil {
		return nil, fmt.Errorf("idp metadata for app: %w", err)
	}
	kds, err := keyDescriptors(certs)
	if err != nil {
		return nil, fmt.Errorf("idp metadata for app: %w", err)
	}
	ed := &crewjam.EntityDescriptor{
		EntityID:   entityID,
		ValidUntil: validUntil.UTC(),
		IDPSSODescriptors: []crewjam.IDPSSODescriptor{{
			SSODescriptor: crewjam.SSODescriptor{
				RoleDescriptor: crewjam.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors:             kds,
				},
			},
			SingleSignOnServices: []crewjam.Endpoint{
				{Binding: BindingHTTPRedirect, Location: ssoURL},
				{Binding: BindingHTTPPost, Location: ssoURL},
			},
		}},
	}
	return marshalMetadata(ed)
}

// SPMetadataForIdP returns the metadata the IdP imports: the proxy posing
// as the app. entityID is the app's entity ID, acsURL the proxy's
// https://<portal>/saml/<app>/acs (HTTP-POST). certs, when given, are the
// certificates the proxy signs AuthnRequests with; AuthnRequestsSigned is
// then true.
func SPMetadataForIdP(entityID, acsURL string, certs []*x509.Certificate, wantAssertionsSigned bool, validUntil time.Time) ([]byte, error) {
	if entityID == "" {
		return nil, errors.New("sp metadata for idp: entity ID is required")
	}
	if err := checkLocation(acsURL); err != nil {
		return nil, fmt.Errorf("sp metadata for idp: %w", err)
	}
	kds, err := keyDescriptors(certs)
	if err != nil {
		return nil, fmt.Errorf("sp metadata for idp: %w", err)
	}
	signed := len(certs) > 0
	ed := &crewjam.EntityDescriptor{
		EntityID:   entityID,
		ValidUntil: validUntil.UTC(),
		SPSSODescriptors: []crewjam.SPSSODescriptor{{
			SSODescriptor: crewjam.SSODescriptor{
				RoleDescriptor: crewjam.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors:             kds,
				},
			},
			AuthnRequestsSigned:  &signed,
			WantAssertionsSigned: &wantAssertionsSigned,
			AssertionConsumerServices: []crewjam.IndexedEndpoint{
				{Binding: BindingHTTPPost, Location: acsURL, Index: 0, IsDefault: ptrTrue()},
			},
		}},
	}
	return marshalMetadata(ed)
}

func ptrTrue() *bool { t := true; return &t }

func keyDescriptors(certs []*x509.Certificate) ([]crewjam.KeyDescriptor, error) {
	kds := make([]crewjam.KeyDescriptor, 0, len(certs))
	for _, c := range certs {
		if c == nil {
			return nil, errors.New("nil certificate")
		}
		kds = append(kds, crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{
			X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}},
		}}})
	}
	return kds, nil
}

func marshalMetadata(ed *crewjam.EntityDescriptor) ([]byte, error) {
	b, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal metadata: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
