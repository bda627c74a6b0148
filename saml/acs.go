package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"
)

// Limits of the ACS.
const (
	// MaxResponseBytes caps the base64 SAMLResponse field, checked before
	// it is decoded.
	MaxResponseBytes = 256 << 10
	// MaxFormBytes caps the whole ACS request body ReadACSForm reads.
	MaxFormBytes = MaxResponseBytes + 8<<10
	// DefaultMaxSkew is the clock skew allowed when MaxSkew is zero.
	DefaultMaxSkew = 3 * time.Minute
	// ReplayNamespace is the ReplayCache namespace of assertion IDs.
	ReplayNamespace = "assertion"
)

// ReplayCache remembers single-use IDs. ConsumeOnce records id in namespace
// until expires and reports whether it was new (true) or already recorded
// (false). It must be atomic across every node sharing the store; err is for
// technical failure only.
type ReplayCache interface {
	ConsumeOnce(ctx context.Context, namespace, id string, expires time.Time) (bool, error)
}

// RequestTracker holds the AuthnRequest IDs this browser started through the
// proxy; the caller binds it to the browser's cookie. Take removes requestID
// and reports whether it was pending; err is for technical failure only.
type RequestTracker interface {
	Take(ctx context.Context, requestID string) (ok bool, err error)
}

// DefaultGroupsAttrs returns the attribute names groups are read from when
// ResponseValidator.GroupsAttrs is empty, in order of preference.
func DefaultGroupsAttrs() []string {
	return []string{"groups", "memberOf", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"}
}

// ResponseValidator validates the Responses an IdP posts to the proxy's ACS
// for one app. It is configuration only and safe for concurrent use.
type ResponseValidator struct {
	IdPEntityID string              // expected Issuer, exactly
	IdPCerts    []*x509.Certificate // the IdP's signing certificates
	SPEntityID  string              // expected audience: the app's entity ID
	ACSURL      string              // the proxy's ACS URL: expected Destination and Recipient, exactly
	// AllowIdPInitiated accepts Responses without InResponseTo.
	AllowIdPInitiated bool
	// RequireSignedAssertion requires a valid signature on the Assertion
	// itself; a signed Response alone is then not enough.
	RequireSignedAssertion bool
	// IgnoreCertExpiry accepts signatures by an IdP certificate outside its
	// validity period (metadata imported with --force): the key still has
	// to be one of IdPCerts.
	IgnoreCertExpiry bool
	MaxSkew          time.Duration    // zero means DefaultMaxSkew
	Now              func() time.Time // nil means time.Now
	Replay           ReplayCache      // required
	Requests         RequestTracker   // nil: every InResponseTo is refused
	// EmailAttr, when set, names the attribute that carries the user's
	// email; it must then be present with exactly one value, and it becomes
	// Identity.User.
	EmailAttr   string
	GroupsAttrs []string // nil means DefaultGroupsAttrs
}

// ReadACSForm reads the form an IdP posts to the ACS, with the body capped
// at MaxFormBytes. It refuses anything but a urlencoded POST, and artifact
// or response parameters in the query string.
func ReadACSForm(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, refuse(ReasonBindingNotSupported, "method %s, want POST", r.Method)
	}
	q := r.URL.Query()
	if q.Has("SAMLart") || q.Has("SAMLResponse") {
		return nil, refuse(ReasonBindingNotSupported, "SAML parameters in the query string")
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, refuse(ReasonMalformed, "content type %q, want application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxFormBytes+1))
	if err != nil {
		return nil, refuse(ReasonMalformed, "read body: %w", err)
	}
	if len(body) > MaxFormBytes {
		return nil, refuse(ReasonTooLarge, "body larger than %d bytes", MaxFormBytes)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, refuse(ReasonMalformed, "parse form: %w", err)
	}
	return form, nil
}

// Validate validates the form an IdP posted to the ACS (HTTP-POST binding)
// and returns the identity it asserts. Every refusal is a *ValidationError
// whose Reason is one of the Reason constants. On success the assertion ID
// has been consumed in the ReplayCache and, for an SP-initiated login, the
// request ID taken from the RequestTracker (the request ID is taken before
// the signature is checked, so a failed attempt also uses it up).
func (v *ResponseValidator) Validate(ctx context.Context, form url.Values) (*Identity, error) {
	if err := v.checkConfig(); err != nil {
		return nil, &ValidationError{Reason: ReasonInternal, Err: err}
	}
	now := v.now()
	decoded, relayState, err := decodeACSForm(form)
	if err != nil {
		return nil, err
	}
	shape, err := inspectResponse(decoded, v.RequireSignedAssertion)
	if err != nil {
		return nil, err
	}
	if shape.destination != v.ACSURL {
		return nil, refuse(ReasonDestinationMismatch, "Destination %q, want %q", shape.destination, v.ACSURL)
	}
	if shape.issuer != nil && *shape.issuer != v.IdPEntityID {
		return nil, refuse(ReasonIssuerMismatch, "Response Issuer %q, want %q", *shape.issuer, v.IdPEntityID)
	}
	var requestIDs []string
	if shape.inResponseTo == "" {
		if !v.AllowIdPInitiated {
			return nil, refuse(ReasonUnsolicited, "unsolicited Response and IdP-initiated login is not allowed for this app")
		}
	} else {
		ok := false
		if v.Requests != nil {
			if ok, err = v.Requests.Take(ctx, shape.inResponseTo); err != nil {
				return nil, &ValidationError{Reason: ReasonInternal, Err: fmt.Errorf("take request id: %w", err)}
			}
		}
		if !ok {
			return nil, refuse(ReasonInResponseToMismatch, "InResponseTo %q is not a request this browser started", shape.inResponseTo)
		}
		requestIDs = []string{shape.inResponseTo}
	}

	rec := &signatureRecorder{}
	sp := v.serviceProvider(now, rec)
	acs, _ := url.Parse(v.ACSURL) // checked by checkConfig
	assertion, err := sp.ParseXMLResponse(decoded, requestIDs, *acs)
	if err != nil {
		return nil, classifyCrewjam(err)
	}
	if !rec.response && !rec.assertion {
		return nil, refuse(ReasonSignatureMissing, "no signature was verified")
	}
	if v.RequireSignedAssertion && !rec.assertion {
		return nil, refuse(ReasonSignatureMissing, "the Assertion is not signed and this app requires it")
	}
	if err := v.checkAssertion(assertion, now); err != nil {
		return nil, err
	}
	id, err := v.identity(assertion)
	if err != nil {
		return nil, err
	}
	id.InResponseTo = shape.inResponseTo
	id.RelayState = relayState

	fresh, err := v.Replay.ConsumeOnce(ctx, ReplayNamespace, assertion.ID, v.replayUntil(assertion))
	if err != nil {
		return nil, &ValidationError{Reason: ReasonInternal, Err: fmt.Errorf("replay cache: %w", err)}
	}
	if !fresh {
		return nil, refuse(ReasonReplayed, "assertion %q was already used", assertion.ID)
	}
	return id, nil
}

func (v *ResponseValidator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *ResponseValidator) skew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return DefaultMaxSkew
}

// checkConfig refuses a validator that could not validate anything safely.
func (v *ResponseValidator) checkConfig() error {
	switch {
	case v.IdPEntityID == "":
		return errors.New("validator: no IdP entity ID")
	case len(v.IdPCerts) == 0:
		return errors.New("validator: no IdP certificate")
	case v.SPEntityID == "":
		return errors.New("validator: no SP entity ID")
	case v.Replay == nil:
		return errors.New("validator: no replay cache")
	}
	for _, c := range v.IdPCerts {
		if c == nil {
			return errors.New("validator: nil IdP certificate")
		}
	}
	u, err := url.Parse(v.ACSURL)
	if err != nil || u.String() != v.ACSURL || u.Host == "" {
		return fmt.Errorf("validator: ACS URL %q is not a canonical absolute URL", v.ACSURL)
	}
	return nil
}

// decodeACSForm checks the form fields and returns the decoded Response XML
// and the RelayState.
func decodeACSForm(form url.Values) ([]byte, string, error) {
	if form.Has("SAMLart") {
		return nil, "", refuse(ReasonBindingNotSupported, "HTTP-Artifact binding (SAMLart) is not supported")
	}
	for _, f := range []string{"Signature", "SigAlg", "KeyInfo"} {
		if form.Has(f) {
			return nil, "", refuse(ReasonBindingNotSupported, "HTTP-POST-SimpleSign binding (%s field) is not supported", f)
		}
	}
	var relayState string
	switch rs := form["RelayState"]; len(rs) {
	case 0:
	case 1:
		if err := ValidRelayState(rs[0]); err != nil {
			return nil, "", err
		}
		relayState = rs[0]
	default:
		return nil, "", refuse(ReasonMalformed, "%d RelayState fields", len(rs))
	}
	vals := form["SAMLResponse"]
	if len(vals) != 1 {
		return nil, "", refuse(ReasonMalformed, "%d SAMLResponse fields, want one", len(vals))
	}
	raw := vals[0]
	if len(raw) > MaxResponseBytes {
		return nil, "", refuse(ReasonTooLarge, "SAMLResponse is %d bytes, more than %d", len(raw), MaxResponseBytes)
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, raw)
	decoded, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, "", refuse(ReasonMalformed, "SAMLResponse base64: %w", err)
	}
	return decoded, relayState, nil
}

// checkAssertion adds the checks crewjam does not make, or makes with its
// own fixed skew, to an assertion it accepted.
func (v *ResponseValidator) checkAssertion(a *crewjam.Assertion, now time.Time) error {
	skew := v.skew()
	if a.ID == "" {
		return refuse(ReasonMalformed, "assertion has no ID")
	}
	if a.Issuer.Value != v.IdPEntityID {
		return refuse(ReasonIssuerMismatch, "assertion Issuer %q, want %q", a.Issuer.Value, v.IdPEntityID)
	}
	c := a.Conditions
	if c == nil {
		return refuse(ReasonMalformed, "assertion has no Conditions")
	}
	if !c.NotBefore.IsZero() && now.Add(skew).Before(c.NotBefore) {
		return refuse(ReasonNotYetValid, "Conditions NotBefore %s", c.NotBefore)
	}
	if !c.NotOnOrAfter.IsZero() && !now.Before(c.NotOnOrAfter.Add(skew)) {
		return refuse(ReasonExpired, "Conditions NotOnOrAfter %s", c.NotOnOrAfter)
	}
	if a.IssueInstant.After(now.Add(skew)) {
		return refuse(ReasonNotYetValid, "assertion IssueInstant %s is in the future", a.IssueInstant)
	}
	// OneTimeUse needs nothing more: every assertion is single-use here.
	// ProxyRestriction limits who may issue new assertions from this one,
	// which is what the proxy does: Count 0 forbids it, and listed
	// audiences must include the app.
	if pr := c.ProxyRestriction; pr != nil {
		if pr.Count != nil && *pr.Count == 0 {
			return refuse(ReasonUnknownCondition, "ProxyRestriction Count 0 forbids the proxy to re-issue the assertion")
		}
		if len(pr.Audiences) > 0 && !hasAudience(pr.Audiences, v.SPEntityID) {
			return refuse(ReasonAudienceMismatch, "ProxyRestriction does not list %q", v.SPEntityID)
		}
	}
	if len(c.AudienceRestrictions) == 0 {
		return refuse(ReasonAudienceMismatch, "no AudienceRestriction")
	}
	for i := range c.AudienceRestrictions {
		if !hasAudience(c.AudienceRestrictions[i].AllAudiences(), v.SPEntityID) {
			return refuse(ReasonAudienceMismatch, "AudienceRestriction does not list %q", v.SPEntityID)
		}
	}
	if a.Subject == nil || a.Subject.NameID == nil {
		return refuse(ReasonMalformed, "assertion has no NameID")
	}
	bearerOK := false
	for _, sc := range a.Subject.SubjectConfirmations {
		if sc.Method == "urn:oasis:names:tc:SAML:2.0:cm:bearer" && sc.SubjectConfirmationData != nil && sc.SubjectConfirmationData.Recipient == v.ACSURL {
			bearerOK = true
		}
	}
	if !bearerOK {
		return refuse(ReasonRecipientMismatch, "no bearer SubjectConfirmation with Recipient %q", v.ACSURL)
	}
	return nil
}

func hasAudience(as []crewjam.Audience, want string) bool {
	for _, a := range as {
		if a.Value == want {
			return true
		}
	}
	return false
}

// replayUntil is how long the assertion ID must be remembered: past every
// instant at which any check could still accept it.
func (v *ResponseValidator) replayUntil(a *crewjam.Assertion) time.Time {
	latest := a.IssueInstant.Add(crewjam.MaxIssueDelay)
	if a.Conditions != nil && a.Conditions.NotOnOrAfter.After(latest) {
		latest = a.Conditions.NotOnOrAfter
	}
	if a.Subject != nil {
		for _, sc := range a.Subject.SubjectConfirmations {
			if d := sc.SubjectConfirmationData; d != nil && d.NotOnOrAfter.After(latest) {
				latest = d.NotOnOrAfter
			}
		}
	}
	skew := v.skew()
	if crewjam.MaxClockSkew > skew {
		skew = crewjam.MaxClockSkew
	}
	return latest.Add(skew)
}
