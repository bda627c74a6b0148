// Package device decides whether a browser runs on a managed device: it
// verifies the client certificate presented in the device host's TLS
// handshake against the admin's root CAs (a Pool) and answers with a Result
// that policies and events use.
//
// The TLS layer only requests a certificate (TLSConfigFor); all verification
// happens here, in Go, so that a browser without a certificate still gets an
// answer (unmanaged) instead of a failed handshake. Verify fails closed:
// every error yields StateUnmanaged with the most specific reason.
//
// Verify trusts that the chain comes from a completed TLS handshake, in which
// the client proved possession of the leaf's private key.
package device
