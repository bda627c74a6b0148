package daemon

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
	"github.com/cas-proxy/cas/test/testkit"
)

// benchDaemon is a daemon (no listeners) with an IdP, an app and a mixed
// policy set, for driving the portal handler directly.
func benchDaemon(b *testing.B) (*Daemon, *testkit.TestIdP, http.Handler) {
	b.Helper()
	dir := b.TempDir()
	cfg, err := LoadConfig("", false, nil, []string{"CAS_STATE_DIR=" + dir, "CAS_SOCKET=" + dir + "/s.sock", "CAS_LISTEN=127.0.0.1:8443"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.closeStore() })
	idp := testkit.NewTestIdP(b, "https://idp.bench/metadata", "https://idp.bench/sso")
	md, err := saml.ParseIdPMetadata([]byte(idp.Metadata), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := d.db.CreateIdP(ctx, &store.IdP{Name: "corp", EntityID: md.EntityID, CertsPEM: certsPEM(md.SigningCerts), GroupsAttrs: saml.DefaultGroupsAttrs()}); err != nil {
		b.Fatal(err)
	}
	key, err := newAppKey("app", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := d.db.CreateApp(ctx, &store.App{Name: "app", Template: "custom", IdP: "corp", EntityID: "https://app.bench/sp", ACSURL: "https://app.bench/acs", Settings: []byte(`{"idp_initiated":true,"sign_response":true}`), Keys: []store.AppKey{key}}); err != nil {
		b.Fatal(err)
	}
	if err := d.reloadApps(ctx); err != nil {
		b.Fatal(err)
	}
	// A realistic policy set: a few dozen access policies of every filter
	// kind, none matching alice, so every one is evaluated.
	for i := 0; i < 40; i++ {
		p := policy.Policy{Name: fmt.Sprintf("p%02d", i), Kind: policy.KindAccess, Priority: i, Action: policy.ActionBlock}
		switch i % 4 {
		case 0:
			p.Filters.Users.Include = []string{fmt.Sprintf("user%d@*", i)}
		case 1:
			p.Filters.IPs.Include = []string{fmt.Sprintf("10.%d.0.0/16", i)}
		case 2:
			p.Filters.Groups.Include = []string{fmt.Sprintf("group-%d", i)}
		case 3:
			p.Filters.UAContains.Include = []string{fmt.Sprintf("bot-%d", i)}
		}
		rec, err := encodePolicy(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.db.CreatePolicy(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.recompile(ctx); err != nil {
		b.Fatal(err)
	}
	return d, idp, d.proxyHandler()
}

// BenchmarkACSLogin measures whole logins through the ACS handler
// (validate, replay check in SQLite, decide, re-sign, auto-post form) with
// 16 concurrent clients, next to the bare RSA work of one login measured in
// the same run: two RSA-2048 verifications (the IdP's Response and
// Assertion) and two signatures (casd's Response and Assertion).
func BenchmarkACSLogin(b *testing.B) {
	d, idp, h := benchDaemon(b)
	acs := d.proxyACSURL("app")

	// The bare crypto rate, 16 concurrent workers like the logins.
	signKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	digest := sha256.Sum256([]byte("a signed info element"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, signKey, crypto.SHA256, digest[:])
	crypto1 := func() {
		for i := 0; i < 2; i++ {
			rsa.VerifyPKCS1v15(&signKey.PublicKey, crypto.SHA256, digest[:], sig)
		}
		for i := 0; i < 2; i++ {
			rsa.SignPKCS1v15(rand.Reader, signKey, crypto.SHA256, digest[:])
		}
	}

	// Responses are minted before the clock starts: each is used once.
	n := b.N
	forms := make([]string, n)
	for i := range forms {
		forms[i] = url.Values{"SAMLResponse": {idp.Mint(testkit.Login{User: "alice@example.com", Groups: []string{"sales"}, Audience: "https://app.bench/sp", ACSURL: acs})}}.Encode()
	}
	lat := make([]time.Duration, n)
	var failed atomic.Int64
	login := func(i int) {
		t0 := time.Now()
		req := httptest.NewRequest("POST", acs, strings.NewReader(forms[i]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "192.0.2.10:5555"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		lat[i] = time.Since(t0)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "SAMLResponse") {
			failed.Add(1)
		}
	}
	// Logins and the bare crypto alternate in chunks, so both see the same
	// machine: the ratio is what this benchmark is about.
	const chunks = 10
	var loginTime, cryptoTime time.Duration
	b.ResetTimer()
	for c := 0; c < chunks; c++ {
		lo, hi := n*c/chunks, n*(c+1)/chunks
		if hi == lo {
			continue
		}
		t0 := time.Now()
		runParallel(lo, hi, 16, login)
		loginTime += time.Since(t0)
		t0 = time.Now()
		runParallel(lo, hi, 16, func(int) { crypto1() })
		cryptoTime += time.Since(t0)
	}
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d logins failed", f, n)
	}
	slices.Sort(lat)
	rate := float64(n) / loginTime.Seconds()
	cryptoRate := float64(n) / cryptoTime.Seconds()
	b.ReportMetric(rate, "logins/s")
	b.ReportMetric(cryptoRate, "crypto-logins/s")
	b.ReportMetric(rate/cryptoRate, "ratio")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
}

// runParallel runs f(i) for i in [lo, hi) on workers goroutines.
func runParallel(lo, hi, workers int, f func(int)) {
	var next atomic.Int64
	next.Store(int64(lo))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= hi {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
