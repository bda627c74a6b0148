package device

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
)

// fixture holds real CAs and device certificates, all relative to now.
type fixture struct {
	now           time.Time
	rootA, rootB  *pki.CA
	inter         *pki.CA
	valid         tls.Certificate // from rootA
	viaInter      tls.Certificate // from inter, chain leaf+inter
	expired       tls.Certificate // from rootA, expired an hour ago
	notYet        tls.Certificate // from rootA, valid from tomorrow
	otherCA       tls.Certificate // from rootB
	otherExpired  tls.Certificate // from rootB, expired
	serverOnly    tls.Certificate // from rootA, server-auth EKU only
	interAsLeaf   tls.Certificate // the intermediate CA itself
	revoked       tls.Certificate // from rootA, listed in crlA
	crlA          *x509.RevocationList
	serverCert    tls.Certificate // the device host's certificate
	serverRoots   *x509.CertPool
	revokedInterC tls.Certificate // via an intermediate that crlA revokes
	expiredInter  tls.Certificate // valid leaf under an expired intermediate
	crlRevInter   *x509.RevocationList
}

func clientCert(t *testing.T, ca *pki.CA, cn string, validity time.Duration, at time.Time) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, _, err := ca.IssueClient(cn, validity, at)
	if err != nil {
		t.Fatalf("IssueClient(%s): %v", cn, err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func withChain(c tls.Certificate, cas ...*pki.CA) tls.Certificate {
	for _, ca := range cas {
		c.Certificate = append(c.Certificate, ca.Cert.Raw)
	}
	return c
}

func newCRL(t *testing.T, ca *pki.CA, now time.Time, next time.Time, serials ...*big.Int) *x509.RevocationList {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now.Add(-time.Hour), NextUpdate: next}
	for _, s := range serials {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: now.Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		t.Fatalf("CreateRevocationList: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

func leafOf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	l, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	f := &fixture{now: now}
	var err error
	if f.rootA, err = pki.NewRootCA("Acme Device Root", 10*365*24*time.Hour, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if f.rootB, err = pki.NewRootCA("Other Root", 10*365*24*time.Hour, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if f.inter, err = f.rootA.NewIntermediate("Acme Device Issuing", 365*24*time.Hour, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	f.valid = clientCert(t, f.rootA, "laptop-1", 30*day, now)
	f.viaInter = withChain(clientCert(t, f.inter, "laptop-2", 30*day, now), f.inter)
	f.expired = clientCert(t, f.rootA, "laptop-old", time.Hour, now.Add(-2*time.Hour))
	f.notYet = clientCert(t, f.rootA, "laptop-future", 30*day, now.Add(day))
	f.otherCA = clientCert(t, f.rootB, "stranger", 30*day, now)
	f.otherExpired = clientCert(t, f.rootB, "stranger-old", time.Hour, now.Add(-2*time.Hour))
	f.revoked = clientCert(t, f.rootA, "laptop-stolen", 30*day, now)
	so, err := f.rootA.IssueServer([]string{"laptop-3.corp.example"}, 30*day, now)
	if err != nil {
		t.Fatal(err)
	}
	f.serverOnly = *so
	f.interAsLeaf = tls.Certificate{Certificate: [][]byte{f.inter.Cert.Raw}, PrivateKey: f.inter.Key}
	f.crlA = newCRL(t, f.rootA, now, now.Add(7*day), leafOf(t, f.revoked).SerialNumber)

	inter2, err := f.rootA.NewIntermediate("Acme Compromised Issuing", 365*day, now.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.revokedInterC = withChain(clientCert(t, inter2, "laptop-4", 30*day, now), inter2)
	f.crlRevInter = newCRL(t, f.rootA, now, now.Add(7*day), inter2.Cert.SerialNumber)

	f.expiredInter = leafUnderExpiredIntermediate(t, f.rootA, now)

	srvCA, err := pki.NewRootCA("cas internal", 365*day, now)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := srvCA.IssueServer([]string{"device.cas.test"}, 30*day, now)
	if err != nil {
		t.Fatal(err)
	}
	f.serverCert = *sc
	f.serverRoots = x509.NewCertPool()
	f.serverRoots.AddCert(srvCA.Cert)
	return f
}

// leafUnderExpiredIntermediate signs, by hand, a leaf that outlives its
// intermediate (pki never issues one), so only the CA in the middle is
// expired.
func leafUnderExpiredIntermediate(t *testing.T, root *pki.CA, now time.Time) tls.Certificate {
	t.Helper()
	inter, err := root.NewIntermediate("Acme Old Issuing", time.Hour, now.Add(-3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "laptop-5"},
		NotBefore:    now.Add(-3 * time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter.Cert, key.Public(), inter.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, inter.Cert.Raw}, PrivateKey: key}
}

func mustPool(t *testing.T, roots ...Root) *Pool {
	t.Helper()
	p, err := NewPool(roots)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// deviceHost is a real TLS listener configured like casd's device host: the
// pool is read on every handshake and the result computed from the
// connection state after the handshake.
type deviceHost struct {
	ln      net.Listener
	pool    atomic.Pointer[Pool]
	at      func() time.Time
	results chan Result
}

func startDeviceHost(t *testing.T, f *fixture, pool *Pool, at time.Time) *deviceHost {
	t.Helper()
	h := &deviceHost{results: make(chan Result, 1), at: func() time.Time { return at }}
	h.pool.Store(pool)
	base := &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cfg := TLSConfigFor(h.pool.Load)
			cfg.Certificates = []tls.Certificate{f.serverCert}
			return cfg, nil
		},
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", base)
	if err != nil {
		t.Fatal(err)
	}
	h.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				h.results <- Result{State: "handshake failed", Detail: err.Error()}
				tc.Close()
				continue
			}
			cs := tc.ConnectionState()
			h.results <- h.pool.Load().VerifyTLS(&cs, h.at())
			_, _ = tc.Write([]byte("k"))
			tc.Close()
		}
	}()
	return h
}

// present dials the device host, offering cert (nil: none) the way a browser
// would when the user picks it, regardless of the CA hint.
func (h *deviceHost) present(t *testing.T, f *fixture, cert *tls.Certificate, maxVersion uint16) Result {
	t.Helper()
	cfg := &tls.Config{ServerName: "device.cas.test", RootCAs: f.serverRoots, MaxVersion: maxVersion}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	conn, err := tls.Dial("tcp", h.ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
		t.Fatalf("read: %v", err)
	}
	return <-h.results
}

func TestVerifyOverTLS(t *testing.T) {
	f := newFixture(t)
	poolA := mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert, CRL: f.crlA})
	tests := []struct {
		name       string
		cert       *tls.Certificate
		pool       *Pool
		at         time.Time
		wantState  string
		wantReason string
	}{
		{"no certificate", nil, poolA, f.now, StateUnmanaged, ReasonNoCertificate},
		{"valid", &f.valid, poolA, f.now, StateManaged, ReasonManaged},
		{"via intermediate", &f.viaInter, poolA, f.now, StateManaged, ReasonManaged},
		{"intermediate not sent", &tls.Certificate{Certificate: f.viaInter.Certificate[:1], PrivateKey: f.viaInter.PrivateKey}, poolA, f.now, StateUnmanaged, ReasonUntrustedIssuer},
		{"expired", &f.expired, poolA, f.now, StateUnmanaged, ReasonExpired},
		{"intermediate expired", &f.expiredInter, poolA, f.now, StateUnmanaged, ReasonExpired},
		{"not yet valid", &f.notYet, poolA, f.now, StateUnmanaged, ReasonNotYetValid},
		{"another ca", &f.otherCA, poolA, f.now, StateUnmanaged, ReasonUntrustedIssuer},
		{"expired from another ca", &f.otherExpired, poolA, f.now, StateUnmanaged, ReasonUntrustedIssuer},
		{"server-auth-only eku", &f.serverOnly, poolA, f.now, StateUnmanaged, ReasonWrongUsage},
		{"ca certificate as leaf", &f.interAsLeaf, poolA, f.now, StateUnmanaged, ReasonWrongUsage},
		{"revoked by crl", &f.revoked, poolA, f.now, StateUnmanaged, ReasonRevoked},
		{"revoked one is fine without the crl", &f.revoked, mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}), f.now, StateManaged, ReasonManaged},
		{"intermediate revoked by crl", &f.revokedInterC, mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert, CRL: f.crlRevInter}), f.now, StateUnmanaged, ReasonRevoked},
		{"crl expired fails closed", &f.valid, poolA, f.now.Add(8 * 24 * time.Hour), StateUnmanaged, ReasonCRLExpired},
		{"empty pool", &f.valid, mustPool(t), f.now, StateUnmanaged, ReasonUntrustedIssuer},
		{"second root of two", &f.otherCA, mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}, Root{Name: "other", Cert: f.rootB.Cert}), f.now, StateManaged, ReasonManaged},
	}
	for _, tt := range tests {
		for _, v := range []struct {
			name string
			max  uint16
		}{{"tls1.3", tls.VersionTLS13}, {"tls1.2", tls.VersionTLS12}} {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				h := startDeviceHost(t, f, tt.pool, tt.at)
				got := h.present(t, f, tt.cert, v.max)
				if got.State != tt.wantState || got.Reason != tt.wantReason {
					t.Fatalf("Verify = %s/%s (%s), want %s/%s", got.State, got.Reason, got.Detail, tt.wantState, tt.wantReason)
				}
				if tt.cert != nil {
					leaf := leafOf(t, *tt.cert)
					if got.SHA256 != pki.Fingerprint(leaf) || got.Serial != pki.SerialHex(leaf) || got.Subject != leaf.Subject.String() || got.Issuer != leaf.Issuer.String() {
						t.Errorf("result does not describe the presented leaf: %+v", got)
					}
				}
				if got.Managed() != (got.CA != "") {
					t.Errorf("CA = %q with state %s", got.CA, got.State)
				}
			})
		}
	}
}

func TestCARemovedWhileRunning(t *testing.T) {
	f := newFixture(t)
	both := mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}, Root{Name: "other", Cert: f.rootB.Cert})
	h := startDeviceHost(t, f, both, f.now)
	if got := h.present(t, f, &f.otherCA, 0); got.Reason != ReasonManaged || got.CA != "other" {
		t.Fatalf("before removal: %+v", got)
	}
	h.pool.Store(mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}))
	if got := h.present(t, f, &f.otherCA, 0); got.Reason != ReasonUntrustedIssuer {
		t.Fatalf("after removal: %s/%s, want untrusted_issuer", got.State, got.Reason)
	}
	if got := h.present(t, f, &f.valid, 0); got.Reason != ReasonManaged || got.CA != "acme" {
		t.Fatalf("remaining CA: %+v", got)
	}
}

// TestClientCAHint checks that the device host names its roots in the
// certificate request: a client choosing by that list offers a matching
// certificate and withholds another CA's.
func TestClientCAHint(t *testing.T) {
	f := newFixture(t)
	h := startDeviceHost(t, f, mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}), f.now)
	dial := func(certs ...tls.Certificate) Result {
		conn, err := tls.Dial("tcp", h.ln.Addr().String(), &tls.Config{ServerName: "device.cas.test", RootCAs: f.serverRoots, Certificates: certs})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.ReadFull(conn, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		return <-h.results
	}
	if got := dial(f.otherCA); got.Reason != ReasonNoCertificate {
		t.Errorf("other CA's certificate: %s, want no_certificate (not offered)", got.Reason)
	}
	if got := dial(f.otherCA, f.viaInter); got.Reason != ReasonManaged {
		t.Errorf("matching certificate: %s (%s), want managed", got.Reason, got.Detail)
	}
}

func TestVerifyDirect(t *testing.T) {
	f := newFixture(t)
	pool := mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert})
	var nilPool *Pool
	long := make([]*x509.Certificate, maxChain+1)
	for i := range long {
		long[i] = leafOf(t, f.valid)
	}
	tests := []struct {
		name   string
		pool   *Pool
		chain  []*x509.Certificate
		reason string
	}{
		{"nil chain", pool, nil, ReasonNoCertificate},
		{"nil leaf", pool, []*x509.Certificate{nil}, ReasonMalformed},
		{"nil intermediate", pool, []*x509.Certificate{leafOf(t, f.valid), nil}, ReasonMalformed},
		{"too long", pool, long, ReasonMalformed},
		{"nil pool", nilPool, []*x509.Certificate{leafOf(t, f.valid)}, ReasonUntrustedIssuer},
		{"managed", pool, []*x509.Certificate{leafOf(t, f.valid)}, ReasonManaged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.pool.Verify(tt.chain, f.now)
			if got.Reason != tt.reason {
				t.Fatalf("reason %s (%s), want %s", got.Reason, got.Detail, tt.reason)
			}
			if (got.State == StateManaged) != (tt.reason == ReasonManaged) {
				t.Fatalf("state %s with reason %s", got.State, got.Reason)
			}
		})
	}
	if got := pool.VerifyTLS(nil, f.now); got.Reason != ReasonNoCertificate {
		t.Errorf("VerifyTLS(nil) = %s", got.Reason)
	}
}

func TestTLSConfigFor(t *testing.T) {
	f := newFixture(t)
	cfg := TLSConfigFor(func() *Pool { return nil })
	if cfg.ClientAuth != tls.RequestClientCert || cfg.ClientCAs != nil {
		t.Errorf("nil pool: ClientAuth %v, ClientCAs %v", cfg.ClientAuth, cfg.ClientCAs)
	}
	cfg = TLSConfigFor(func() *Pool { return mustPool(t, Root{Name: "acme", Cert: f.rootA.Cert}) })
	if cfg.ClientAuth != tls.RequestClientCert || cfg.ClientCAs == nil || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("pool: %+v", cfg)
	}
	if strings.Contains(cfg.ClientAuth.String(), "Require") {
		t.Errorf("client certificates must be requested, not required")
	}
}
