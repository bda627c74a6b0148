// Package pki holds the certificate primitives cas needs in more than one place:
// the daemon's internal TLS CA (certificates per SNI name on demand, see
// CertCache), the device CA helpers behind `cas ca create` and `cas ca issue`
// (root CAs, client certificates, PKCS#12 bundles), and the apps' replacement
// SAML signing certificates (NewSigningCert).
//
// It is a top-level folder of its own because those users sit in different
// layers (daemon, device, and the onboarding path through saml and store) and
// none of them should import another's internals to mint a certificate. It
// imports nothing of the project's.
//
// Every function that depends on the clock takes the time as an argument, so
// tests are exact. Certificates are backdated by Backdate to tolerate small
// clock differences between the issuer and the relying party.
package pki
