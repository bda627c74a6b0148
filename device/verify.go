package device

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/cas-proxy/cas/pki"
)

// States of a device.
const (
	StateManaged   = "managed"
	StateUnmanaged = "unmanaged"
)

// Reasons for a device state, as recorded in login events.
const (
	// ReasonManaged: the certificate chains to a root, is valid, for client
	// authentication, and not revoked.
	ReasonManaged = "managed"
	// ReasonNoCertificate: the browser presented no certificate (none
	// installed, or the prompt was declined).
	ReasonNoCertificate = "no_certificate"
	// ReasonUntrustedIssuer: the certificate does not chain to any root of
	// the pool (another CA, a missing intermediate, or no roots at all).
	ReasonUntrustedIssuer = "untrusted_issuer"
	// ReasonExpired: the certificate, or a CA in its chain, has expired.
	ReasonExpired = "expired"
	// ReasonNotYetValid: the certificate is not valid yet.
	ReasonNotYetValid = "not_yet_valid"
	// ReasonRevoked: the root's CRL lists the certificate or its issuer.
	ReasonRevoked = "revoked"
	// ReasonWrongUsage: the certificate is not for client authentication
	// (for example a server-auth-only EKU), or is itself a CA.
	ReasonWrongUsage = "wrong_usage"
	// ReasonCRLExpired: the root's CRL is past its NextUpdate, so
	// revocation cannot be known; the device is unmanaged until a fresh CRL
	// is loaded (fail closed).
	ReasonCRLExpired = "crl_expired"
	// ReasonMalformed: the chain could not be processed at all.
	ReasonMalformed = "malformed"
)

// maxChain bounds the certificates a client may send, to bound the work of
// chain building.
const maxChain = 8

// Result is the outcome of verifying a device certificate. Subject, Issuer,
// Serial and SHA256 describe the leaf whenever one was presented, even when
// the device is unmanaged, so events can show what was offered.
type Result struct {
	// State is StateManaged or StateUnmanaged.
	State string `json:"state"`
	// Reason is one of the Reason constants.
	Reason string `json:"reason"`
	// CA is the name of the root the certificate chains to, when managed.
	CA string `json:"ca,omitempty"`
	// Subject is the leaf's subject distinguished name.
	Subject string `json:"subject,omitempty"`
	// Issuer is the leaf's issuer distinguished name.
	Issuer string `json:"issuer,omitempty"`
	// Serial is the leaf's serial number in lower-case hex.
	Serial string `json:"serial,omitempty"`
	// SHA256 is the leaf's SHA-256 fingerprint in lower-case hex.
	SHA256 string `json:"sha256,omitempty"`
	// Detail explains an unmanaged result for the log; it is never shown to
	// the browser.
	Detail string `json:"detail,omitempty"`
}

// Managed reports whether the device is managed.
func (r Result) Managed() bool { return r.State == StateManaged }

// VerifyTLS verifies the client certificate of a completed handshake; a nil
// state counts as no certificate.
func (p *Pool) VerifyTLS(cs *tls.ConnectionState, now time.Time) Result {
	if cs == nil {
		return unmanaged(Result{}, ReasonNoCertificate, "")
	}
	return p.Verify(cs.PeerCertificates, now)
}

// Verify decides whether chain (leaf first, as in
// tls.ConnectionState.PeerCertificates; the rest are untrusted intermediates)
// proves a managed device at now. It fails closed: any error makes the device
// unmanaged, with the most specific reason. A nil or empty Pool trusts
// nothing.
func (p *Pool) Verify(chain []*x509.Certificate, now time.Time) Result {
	if len(chain) == 0 {
		return unmanaged(Result{}, ReasonNoCertificate, "")
	}
	leaf := chain[0]
	if leaf == nil {
		return unmanaged(Result{}, ReasonMalformed, "nil leaf certificate")
	}
	res := describe(leaf)
	if len(chain) > maxChain {
		return unmanaged(res, ReasonMalformed, fmt.Sprintf("%d certificates presented, at most %d accepted", len(chain), maxChain))
	}
	if p == nil || len(p.roots) == 0 {
		return unmanaged(res, ReasonUntrustedIssuer, "no root CAs configured")
	}
	if leaf.IsCA {
		return unmanaged(res, ReasonWrongUsage, "the presented certificate is a CA, not a device certificate")
	}
	inters := x509.NewCertPool()
	for i, c := range chain[1:] {
		if c == nil {
			return unmanaged(res, ReasonMalformed, fmt.Sprintf("nil certificate at position %d", i+2))
		}
		inters.AddCert(c)
	}
	chains, err := p.verifyAt(leaf, inters, now)
	if err != nil {
		reason, detail := p.classify(err, leaf, inters, now)
		return unmanaged(res, reason, detail)
	}
	var first Result
	for i, ch := range chains {
		r := p.checkChain(res, ch, now)
		if r.Managed() {
			return r
		}
		if i == 0 {
			first = r
		}
	}
	return first
}

func (p *Pool) verifyAt(leaf *x509.Certificate, inters *x509.CertPool, at time.Time) ([][]*x509.Certificate, error) {
	return leaf.Verify(x509.VerifyOptions{
		Roots:         p.certs,
		Intermediates: inters,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// classify turns a verification error into a reason. Go reports an expired
// leaf before it looks for an issuer, and an expired intermediate as an
// unknown authority, so both cases are checked again at a time inside the
// leaf's validity: a chain that verifies then is a time problem, one that
// still does not is an untrusted issuer.
func (p *Pool) classify(err error, leaf *x509.Certificate, inters *x509.CertPool, now time.Time) (reason, detail string) {
	detail = err.Error()
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired,
		errors.As(err, &unk):
		mid := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2)
		if _, err2 := p.verifyAt(leaf, inters, mid); err2 != nil {
			var inv2 x509.CertificateInvalidError
			switch {
			case errors.As(err2, &unk):
				return ReasonUntrustedIssuer, detail
			case errors.As(err2, &inv2) && (inv2.Reason == x509.IncompatibleUsage || inv2.Reason == x509.CANotAuthorizedForExtKeyUsage):
				return ReasonWrongUsage, err2.Error()
			case errors.As(err2, &inv2) && inv2.Reason == x509.Expired:
				// A CA of the chain is out of its validity even then.
			default:
				return ReasonUntrustedIssuer, err2.Error()
			}
		}
		switch {
		case now.Before(leaf.NotBefore):
			return ReasonNotYetValid, detail
		case now.After(leaf.NotAfter):
			return ReasonExpired, detail
		default:
			return ReasonExpired, "a CA in the chain is outside its validity: " + detail
		}
	case errors.As(err, &inv):
		switch inv.Reason {
		case x509.IncompatibleUsage, x509.CANotAuthorizedForExtKeyUsage:
			return ReasonWrongUsage, detail
		default:
			return ReasonUntrustedIssuer, detail
		}
	default:
		return ReasonMalformed, detail
	}
}

// checkChain finds the root chain ends at and checks that root's CRL against
// the certificate it issued directly.
func (p *Pool) checkChain(res Result, chain []*x509.Certificate, now time.Time) Result {
	top := chain[len(chain)-1]
	var root *Root
	for i := range p.roots {
		if p.roots[i].Cert.Equal(top) {
			root = &p.roots[i]
			break
		}
	}
	if root == nil {
		return unmanaged(res, ReasonUntrustedIssuer, "chain ends at a certificate outside the pool")
	}
	res.CA = root.Name
	if crl := root.CRL; crl != nil {
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			return unmanaged(res, ReasonCRLExpired, fmt.Sprintf("crl of %q expired at %s", root.Name, crl.NextUpdate.UTC().Format(time.RFC3339)))
		}
		for i := 0; i+1 < len(chain); i++ {
			if !chain[i+1].Equal(root.Cert) {
				continue
			}
			if revoked(crl, chain[i]) {
				what := "certificate"
				if i > 0 {
					what = "intermediate " + chain[i].Subject.String()
				}
				return unmanaged(res, ReasonRevoked, fmt.Sprintf("%s serial %s revoked by %q", what, pki.SerialHex(chain[i]), root.Name))
			}
		}
	}
	res.State, res.Reason = StateManaged, ReasonManaged
	return res
}

func revoked(crl *x509.RevocationList, c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(crl.RawIssuer) {
		return false
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

func describe(leaf *x509.Certificate) Result {
	return Result{
		Subject: leaf.Subject.String(),
		Issuer:  leaf.Issuer.String(),
		Serial:  pki.SerialHex(leaf),
		SHA256:  pki.Fingerprint(leaf),
	}
}

func unmanaged(r Result, reason, detail string) Result {
	r.State, r.Reason, r.Detail, r.CA = StateUnmanaged, reason, detail, ""
	return r
}

// TLSConfigFor returns the TLS settings of the device host: the client
// certificate is requested, not required and not verified by crypto/tls, so a
// browser without one still completes the handshake and gets an answer; Verify
// decides afterwards. ClientCAs lists the pool's roots so browsers offer only
// matching certificates (and Chromium's AutoSelectCertificateForUrls can pick
// one).
//
// Call it on every handshake for the device host (from the listener's
// GetConfigForClient), so that a changed pool takes effect at once, and set
// Certificates or GetCertificate and NextProtos on the result.
func TLSConfigFor(getPool func() *Pool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequestClientCert,
	}
	if getPool != nil {
		if p := getPool(); p.Len() > 0 {
			cfg.ClientCAs = p.certs
		}
	}
	return cfg
}
