// Package saml is the SAML 2.0 protocol core of the proxy: importing IdP and
// SP metadata, validating the IdP's Response at the proxy's ACS (fail-closed:
// every check crewjam/saml leaves to its caller is done here), building and
// signing a new Response for the app with its replacement key, relaying
// SP-initiated AuthnRequests, and publishing the proxy's metadata for both
// sides.
//
// The package holds no state of its own. The replay cache and the pending
// request IDs reach it through the small ReplayCache and RequestTracker
// interfaces, which the daemon implements on top of its store; time is
// always injected.
//
// # The ACS, in order
//
// ResponseValidator.Validate refuses, each with a reason code: artifact and
// SimpleSign form fields; more than one SAMLResponse or RelayState; a
// RelayState over 80 bytes or with control characters; a SAMLResponse over
// MaxResponseBytes (before decoding); any DOCTYPE or ENTITY; a root that is
// not a samlp:Response, a nested Response, anything but exactly one
// Assertion as a child of the root, any encrypted element (not supported
// yet), a Signature anywhere but directly under the Response or the
// Assertion, any SHA-1 signature or digest algorithm, no signature at all (or
// none on the Assertion when RequireSignedAssertion is set); a Destination
// or Response Issuer other than the configured ones, exactly; an
// InResponseTo the RequestTracker does not hold, or none when IdP-initiated
// login is not allowed. crewjam then verifies the signatures from the signed
// bytes (XML round-trip check, one Reference to the signed element's ID,
// only the configured certificates, their validity period unless
// IgnoreCertExpiry) and reads everything from what was signed: status,
// issuer, audience, Recipient, InResponseTo, time window, unknown
// conditions. This package checks again what it relies on (issuer,
// audience, Recipient, the time window with its own MaxSkew, which signed
// element was verified) and finally consumes the assertion ID in the
// ReplayCache, so only an otherwise valid assertion is remembered.
//
// crewjam's own windows apply as well: an IssueInstant more than 90 s old
// (crewjam.MaxIssueDelay) or a NotOnOrAfter more than 180 s past
// (crewjam.MaxClockSkew) is refused whatever MaxSkew says.
//
// Conditions: OneTimeUse needs nothing more, since every assertion is
// single-use here. ProxyRestriction limits issuing new assertions from this
// one, which is what the proxy does: Count="0" is refused
// (unknown_condition) and listed audiences must include the app. Any other
// condition is refused (unknown_condition).
//
// The NameID is the whole text the IdP signed: a comment inside it, as in
// alice@example.com<!---->.evil.com, is dropped by canonicalization and the
// text on both sides joins, so the user is alice@example.com.evil.com.
package saml
