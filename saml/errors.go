package saml

import (
	"errors"
	"fmt"
)

// Reason codes of a ValidationError. They are stable: the daemon records them
// in login events and operators filter on them.
const (
	ReasonSignatureInvalid     = "signature_invalid"
	ReasonSignatureMissing     = "signature_missing"
	ReasonAudienceMismatch     = "audience_mismatch"
	ReasonDestinationMismatch  = "destination_mismatch"
	ReasonRecipientMismatch    = "recipient_mismatch"
	ReasonIssuerMismatch       = "issuer_mismatch"
	ReasonReplayed             = "replayed"
	ReasonExpired              = "expired"
	ReasonNotYetValid          = "not_yet_valid"
	ReasonInResponseToMismatch = "in_response_to_mismatch"
	ReasonUnsolicited          = "unsolicited_not_allowed"
	ReasonStatusNotSuccess     = "status_not_success"
	ReasonMalformed            = "malformed"
	ReasonDoctype              = "doctype"
	ReasonTooLarge             = "too_large"
	ReasonBindingNotSupported  = "binding_not_supported"
	ReasonWeakAlgorithm        = "weak_algorithm"
	ReasonUnknownCondition     = "unknown_condition"
	ReasonRelayStateTooLong    = "relay_state_too_long"
	ReasonEncryptedUnsupported = "encrypted_not_supported"
	ReasonAttributeMissing     = "attribute_missing"
	ReasonInternal             = "internal_error"
)

// ValidationError is the error Validate and ParseAuthnRequest return when a
// message is refused. Reason is a stable code safe to show and record; Err is
// the detail for the log only (it may quote parts of the message, so it must
// never reach the browser).
type ValidationError struct {
	Reason string
	Err    error
}

// Error returns the reason code and the detail.
func (e *ValidationError) Error() string {
	if e.Err == nil {
		return "saml: " + e.Reason
	}
	return fmt.Sprintf("saml: %s: %v", e.Reason, e.Err)
}

// Unwrap returns the detail.
func (e *ValidationError) Unwrap() error { return e.Err }

// ReasonOf returns the reason code of err if it is (or wraps) a
// *ValidationError, and ReasonInternal otherwise.
func ReasonOf(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ReasonInternal
}

func refuse(reason string, format string, args ...any) *ValidationError {
	return &ValidationError{Reason: reason, Err: fmt.Errorf(format, args...)}
}
