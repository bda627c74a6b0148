package saml

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

// serviceProvider configures crewjam's ServiceProvider for one validation.
func (v *ResponseValidator) serviceProvider(now time.Time, rec *signatureRecorder) *crewjam.ServiceProvider {
	kds := make([]crewjam.KeyDescriptor, len(v.IdPCerts))
	for i, c := range v.IdPCerts {
		kds[i] = crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{
			X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}},
		}}}
	}
	acs, _ := url.Parse(v.ACSURL)
	rec.certs = v.IdPCerts
	if v.IgnoreCertExpiry {
		rec.certs = make([]*x509.Certificate, len(v.IdPCerts))
		for i, c := range v.IdPCerts {
			cc := *c
			cc.NotBefore = time.Time{}
			cc.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
			rec.certs[i] = &cc
		}
	}
	return &crewjam.ServiceProvider{
		EntityID: v.SPEntityID,
		AcsURL:   *acs,
		IDPMetadata: &crewjam.EntityDescriptor{
			EntityID: v.IdPEntityID,
			IDPSSODescriptors: []crewjam.IDPSSODescriptor{{
				SSODescriptor: crewjam.SSODescriptor{RoleDescriptor: crewjam.RoleDescriptor{KeyDescriptors: kds}},
			}},
		},
		AllowIDPInitiated:       v.AllowIdPInitiated,
		RejectUnknownConditions: true,
		RejectSHA1Signatures:    true,
		IgnoreCertificateExpiry: v.IgnoreCertExpiry,
		SignatureVerifier:       rec,
		Clock:                   dsigClock(now),
	}
}

// classifyCrewjam maps an error of crewjam's ParseXMLResponse to a reason.
func classifyCrewjam(err error) error {
	detail := err
	var ire *crewjam.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		detail = ire.PrivateErr // ire.Response holds the whole XML: never keep it
	}
	msg := detail.Error()
	var bad crewjam.ErrBadStatus
	reason := ReasonMalformed
	switch {
	case errors.As(detail, &bad):
		reason = ReasonStatusNotSuccess
	case strings.Contains(msg, "SHA-1"):
		reason = ReasonWeakAlgorithm
	case errors.Is(detail, crewjam.ErrUnsupported) && strings.Contains(msg, "Conditions"):
		reason = ReasonUnknownCondition
	case errors.Is(detail, crewjam.ErrInvalidSignature):
		reason = ReasonSignatureInvalid
	case msg == "signature element not present":
		reason = ReasonSignatureMissing
	case errors.Is(detail, crewjam.ErrDestinationMismatch) && strings.Contains(msg, "Recipient"):
		reason = ReasonRecipientMismatch
	case errors.Is(detail, crewjam.ErrDestinationMismatch):
		reason = ReasonDestinationMismatch
	case errors.Is(detail, crewjam.ErrIssuerMismatch):
		reason = ReasonIssuerMismatch
	case errors.Is(detail, crewjam.ErrAudienceMismatch):
		reason = ReasonAudienceMismatch
	case errors.Is(detail, crewjam.ErrRequestIDMismatch):
		reason = ReasonInResponseToMismatch
	case errors.Is(detail, crewjam.ErrExpired):
		reason = ReasonExpired
	case errors.Is(detail, crewjam.ErrNotYetValid):
		reason = ReasonNotYetValid
	case errors.Is(detail, crewjam.ErrDecryptionFailed):
		reason = ReasonEncryptedUnsupported
	}
	return &ValidationError{Reason: reason, Err: detail}
}
