// Package demo holds the built-in demo identity provider and demo app that
// `casd --demo` serves and that the end-to-end tests drive: a SAML IdP on
// crewjam/saml with two users (alice in group sales, bob in contractors), and
// "Demo Salesforce", a SAML service provider spread over several hosts that
// behaves like Salesforce where a proxy notices (absolute links between its
// hosts, a session cookie for the parent domain, JSON with escaped URLs, a
// report with a CSV export, file downloads and uploads, a WebSocket, gzip and
// br responses, a CSP naming its hosts).
//
// It is a top-level folder of its own because it is neither part of the
// proxy's data plane nor of its wiring: it stands in for the third-party
// software cas sits between. It provides plain http.Handlers that route by
// host name; whoever serves them terminates TLS. It imports nothing of the
// project's; its tests use pki (certificates) and catalog (to check that the
// demo-salesforce template fits the app).
package demo
