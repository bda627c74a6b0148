package pki

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func allowSuffix(suffix string) func(string) bool {
	return func(name string) bool { return strings.HasSuffix(name, suffix) }
}

// dialName completes a real TLS handshake with a server using cache and
// returns the leaf the client saw, verified against root for name.
func dialName(t *testing.T, ln net.Listener, root *x509.Certificate, name string, at time.Time) (*x509.Certificate, error) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		ServerName: name,
		RootCAs:    roots,
		Time:       func() time.Time { return at },
	})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func serveTLS(t *testing.T, cfg *tls.Config) net.Listener {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln
}

func TestCertCacheOverTLS(t *testing.T) {
	root := mustRoot(t, "internal ca")
	clk := &clock{now: t0}
	cache := NewCertCache(root, allowSuffix(".cas.test"), clk.Now)
	ln := serveTLS(t, &tls.Config{GetCertificate: cache.GetCertificate})

	first, err := dialName(t, ln, root.Cert, "acme.my.salesforce.com.cas.test", t0)
	if err != nil {
		t.Fatalf("first handshake: %v", err)
	}
	again, err := dialName(t, ln, root.Cert, "ACME.my.salesforce.com.cas.test", t0)
	if err != nil {
		t.Fatalf("second handshake: %v", err)
	}
	if !first.Equal(again) {
		t.Error("second handshake got a newly issued certificate, want the cached one")
	}
	other, err := dialName(t, ln, root.Cert, "device.cas.test", t0)
	if err != nil {
		t.Fatalf("other name: %v", err)
	}
	if other.Equal(first) {
		t.Error("two names share one certificate")
	}
	if cache.Len() != 2 {
		t.Errorf("cache holds %d names, want 2", cache.Len())
	}

	// Just before a third of the validity is left: still cached.
	life := first.NotAfter.Sub(first.NotBefore)
	clk.Set(first.NotAfter.Add(-life/3 - time.Second))
	same, err := dialName(t, ln, root.Cert, "acme.my.salesforce.com.cas.test", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !same.Equal(first) {
		t.Error("renewed too early")
	}
	// At the renewal point: a new certificate, valid from the new now.
	clk.Set(first.NotAfter.Add(-life / 3))
	renewed, err := dialName(t, ln, root.Cert, "acme.my.salesforce.com.cas.test", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Equal(first) {
		t.Fatal("not renewed when a third of the validity was left")
	}
	if !renewed.NotBefore.Equal(clk.Now().Add(-Backdate)) {
		t.Errorf("renewed NotBefore %s, want %s", renewed.NotBefore, clk.Now().Add(-Backdate))
	}
}

func TestCertCacheRefuses(t *testing.T) {
	root := mustRoot(t, "internal ca")
	cache := NewCertCache(root, allowSuffix(".cas.test"), func() time.Time { return t0 })
	ln := serveTLS(t, &tls.Config{GetCertificate: cache.GetCertificate})
	for _, name := range []string{"evil.example.com", "cas.test.evil.example"} {
		if _, err := dialName(t, ln, root.Cert, name, t0); err == nil {
			t.Errorf("handshake for %s succeeded, want refusal", name)
		}
	}
	tests := []struct{ name, host string }{
		{"empty", ""},
		{"wildcard", "*.cas.test"},
		{"bad characters", "a b.cas.test"},
		{"not allowed", "example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cache.Get(tt.host); err == nil {
				t.Fatal("Get succeeded, want error")
			}
		})
	}
	if n := cache.Len(); n != 0 {
		t.Errorf("refused names left %d entries", n)
	}
	if _, err := NewCertCache(root, nil, nil).Get("a.cas.test"); err == nil {
		t.Error("a nil allow func allowed a name")
	}
}

func TestCertCacheSingleFlight(t *testing.T) {
	root := mustRoot(t, "internal ca")
	cache := NewCertCache(root, allowSuffix(".cas.test"), func() time.Time { return t0 })
	const n = 32
	got := make([]*tls.Certificate, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = cache.Get("busy.cas.test")
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Get %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("Get %d returned another certificate: issued more than once", i)
		}
	}
}

func TestCertCacheEvicts(t *testing.T) {
	root := mustRoot(t, "internal ca")
	cache := NewCertCache(root, allowSuffix(".cas.test"), func() time.Time { return t0 })
	cache.max = 3
	for _, h := range []string{"a", "b", "c", "d", "e"} {
		if _, err := cache.Get(h + ".cas.test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cache.Len(); n != 3 {
		t.Errorf("cache holds %d names, want at most 3", n)
	}
}

func TestCertCacheKeepsOldCertWhenRenewalFails(t *testing.T) {
	root, err := NewRootCA("short ca", 10*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	cache := NewCertCache(root, allowSuffix(".cas.test"), clk.Now)
	first, err := cache.Get("a.cas.test")
	if err != nil {
		t.Fatal(err)
	}
	// Past the renewal point but before expiry: renewal works (clamped to
	// the CA), so force a failure by breaking the CA's key.
	clk.Set(first.Leaf.NotAfter.Add(-time.Hour))
	cache.ca = &CA{Cert: root.Cert, Key: nil}
	got, err := cache.Get("a.cas.test")
	if err != nil || got != first {
		t.Fatalf("Get = %v, %v; want the previous certificate", got, err)
	}
	clk.Set(first.Leaf.NotAfter.Add(time.Second))
	if _, err := cache.Get("a.cas.test"); err == nil {
		t.Fatal("expired certificate served after renewal failed")
	}
}
