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
package saml
