package pki

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Defaults of a CertCache.
const (
	// CacheValidity is the lifetime of a certificate the cache issues.
	CacheValidity = 30 * 24 * time.Hour
	// CacheMaxEntries bounds the number of names kept; the entry closest to
	// expiry is evicted first.
	CacheMaxEntries = 4096
)

// CertCache issues server certificates on demand, per TLS server name, from a
// CA: the daemon's internal CA behind tls.Config.GetCertificate. A name is
// issued on first use, cached, and renewed once less than a third of its
// validity is left. Concurrent handshakes for the same name wait for a single
// issuance. Names that allow rejects are refused, so a client cannot make the
// CA sign arbitrary names.
//
// A CertCache is safe for concurrent use. Its state is a cache only: it can be
// dropped and rebuilt at any time.
type CertCache struct {
	ca       *CA
	allow    func(name string) bool
	now      func() time.Time
	validity time.Duration
	max      int

	mu      sync.Mutex
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	cert  *tls.Certificate // nil until the first issuance completes
	renew time.Time        // when to issue a new certificate
	// inflight is non-nil while an issuance runs; closed when it ends.
	inflight chan struct{}
	err      error // result of the last issuance, read after inflight closes
}

// NewCertCache returns a cache issuing from ca for the names allow accepts
// (nil allows none: fail closed), reading the clock from now (nil means
// time.Now).
func NewCertCache(ca *CA, allow func(name string) bool, now func() time.Time) *CertCache {
	if allow == nil {
		allow = func(string) bool { return false }
	}
	if now == nil {
		now = time.Now
	}
	return &CertCache{
		ca:       ca,
		allow:    allow,
		now:      now,
		validity: CacheValidity,
		max:      CacheMaxEntries,
		entries:  make(map[string]*cacheEntry),
	}
}

// GetCertificate returns the certificate for hello's server name; it has the
// signature of tls.Config.GetCertificate. A handshake without a server name
// is refused; use Get with a default name to serve such clients.
func (c *CertCache) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	done := (<-chan struct{})(nil)
	if ctx := hello.Context(); ctx != nil {
		done = ctx.Done()
	}
	return c.get(hello.ServerName, done)
}

// Get returns the certificate for name, issuing or renewing it when needed.
func (c *CertCache) Get(name string) (*tls.Certificate, error) {
	return c.get(name, nil)
}

// Len reports how many names the cache holds.
func (c *CertCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *CertCache) get(name string, cancel <-chan struct{}) (*tls.Certificate, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" {
		return nil, errors.New("cert cache: no server name")
	}
	if !validDNSName(name) || strings.HasPrefix(name, "*.") {
		return nil, fmt.Errorf("cert cache: invalid server name %q", name)
	}
	if !c.allow(name) {
		return nil, fmt.Errorf("cert cache: server name %q not allowed", name)
	}
	if c.ca == nil {
		return nil, errors.New("cert cache: no ca")
	}
	c.mu.Lock()
	e := c.entries[name]
	now := c.now()
	if e != nil && e.cert != nil && now.Before(e.renew) {
		cert := e.cert
		c.mu.Unlock()
		return cert, nil
	}
	if e != nil && e.inflight != nil {
		wait := e.inflight
		c.mu.Unlock()
		select {
		case <-wait:
		case <-cancel:
			return nil, fmt.Errorf("cert cache: %s: handshake cancelled", name)
		}
		c.mu.Lock()
		cert, err := e.cert, e.err
		c.mu.Unlock()
		return usableAfter(cert, err, c.now())
	}
	if e == nil {
		c.evictLocked(now)
		e = &cacheEntry{}
		c.entries[name] = e
	}
	e.inflight = make(chan struct{})
	c.mu.Unlock()

	cert, err := c.ca.IssueServer([]string{name}, c.validity, now)

	c.mu.Lock()
	if err != nil {
		e.err = fmt.Errorf("cert cache: %w", err)
		if e.cert == nil {
			delete(c.entries, name)
		}
	} else {
		e.err = nil
		e.cert = cert
		life := cert.Leaf.NotAfter.Sub(cert.Leaf.NotBefore)
		e.renew = cert.Leaf.NotAfter.Add(-life / 3)
	}
	close(e.inflight)
	e.inflight = nil
	cert, err = e.cert, e.err
	c.mu.Unlock()
	return usableAfter(cert, err, now)
}

// usableAfter decides what an issuance left behind: the fresh certificate, or,
// when renewal failed, the previous one while it is still valid (the failure
// is retried on the next handshake).
func usableAfter(cert *tls.Certificate, err error, now time.Time) (*tls.Certificate, error) {
	if err == nil && cert != nil {
		return cert, nil
	}
	if cert != nil && now.Before(cert.Leaf.NotAfter) {
		return cert, nil
	}
	if err == nil {
		err = errors.New("cert cache: no certificate")
	}
	return nil, err
}

// evictLocked makes room for one entry: first any entry past its renewal
// time, else the one closest to renewal. Entries being issued are kept.
func (c *CertCache) evictLocked(now time.Time) {
	if len(c.entries) < c.max {
		return
	}
	var victim string
	var soonest time.Time
	for n, e := range c.entries {
		if e.inflight != nil {
			continue
		}
		if !now.Before(e.renew) {
			delete(c.entries, n)
			continue
		}
		if victim == "" || e.renew.Before(soonest) {
			victim, soonest = n, e.renew
		}
	}
	if len(c.entries) >= c.max && victim != "" {
		delete(c.entries, victim)
	}
}
