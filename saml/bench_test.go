package saml

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// acceptAll is a ReplayCache that never reports a replay, so that a
// benchmark can validate the same Response repeatedly.
type acceptAll struct{}

func (acceptAll) ConsumeOnce(context.Context, string, string, time.Time) (bool, error) {
	return true, nil
}

// benchACS sets up one login through the ACS: an IdP Response (RSA-2048,
// assertion signed) validated, and a new Response built and signed with an
// RSA-2048 replacement key.
func benchACS(b *testing.B) (func() error, int) {
	idp := fixedTestKey(b)
	replacement := validTestKey(b, "replacement")
	xml := idpResponse(b, idp, idpOpts{})
	f := form(xml)
	v := newValidator(idp)
	v.Replay = acceptAll{}
	to := Target{EntityID: testSPEntity, ACSURL: testAppACS, SignAssertion: true}
	login := func() error {
		id, err := v.Validate(context.Background(), f)
		if err != nil {
			return err
		}
		out, err := BuildResponse(id, to, replacement.signer(), testIdPEntity, testNow)
		if err != nil {
			return err
		}
		_ = AutoPostForm(testAppACS, map[string]string{"SAMLResponse": base64.StdEncoding.EncodeToString(out)}, "nonce")
		return nil
	}
	return login, len(xml)
}

// BenchmarkACS is one login through the ACS: Validate (one RSA-2048
// verify) then BuildResponse (one RSA-2048 sign) and the auto-POST page.
// Compare with BenchmarkRSAVerifySign, the bare crypto of the same login.
func BenchmarkACS(b *testing.B) {
	login, size := benchACS(b)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if err := login(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkACSParallel is BenchmarkACS from GOMAXPROCS goroutines (-cpu 2).
func BenchmarkACSParallel(b *testing.B) {
	login, _ := benchACS(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := login(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

func benchCrypto(b *testing.B) func() error {
	idp := fixedTestKey(b)
	replacement := validTestKey(b, "replacement")
	msg := make([]byte, 2048)
	digest := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(rand.Reader, idp.key, crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	return func() error {
		d := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(&idp.key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			return err
		}
		_, err := replacement.key.Sign(rand.Reader, d[:], crypto.SHA256)
		return err
	}
}

// BenchmarkRSAVerifySign is the crypto floor of one login: one RSA-2048
// PKCS#1 v1.5 verify and one sign.
func BenchmarkRSAVerifySign(b *testing.B) {
	op := benchCrypto(b)
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkRSAVerifySignParallel is BenchmarkRSAVerifySign from
// GOMAXPROCS goroutines.
func BenchmarkRSAVerifySignParallel(b *testing.B) {
	op := benchCrypto(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkACS16Clients runs logins from 16 goroutines (8 per P at -cpu 2,
// as the 16 concurrent clients) and reports the p99 latency of one
// login beside the rate.
func BenchmarkACS16Clients(b *testing.B) {
	login, _ := benchACS(b)
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((16 + procs - 1) / procs)
	var mu sync.Mutex
	var lat []time.Duration
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := login(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkACSvsCrypto interleaves one login through the ACS with the bare
// RSA verify + sign of the same key sizes, so that both see the same machine
// load, and reports each rate and their ratio (goal: ratio ≥ 0.5, the XML
// work costing no more than the crypto).
func BenchmarkACSvsCrypto(b *testing.B) {
	login, _ := benchACS(b)
	op := benchCrypto(b)
	var acs, crypto time.Duration
	for b.Loop() {
		start := time.Now()
		if err := login(); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		acs += mid.Sub(start)
		crypto += time.Since(mid)
	}
	b.ReportMetric(float64(b.N)/acs.Seconds(), "acs-logins/s")
	b.ReportMetric(float64(b.N)/crypto.Seconds(), "crypto-logins/s")
	b.ReportMetric(crypto.Seconds()/acs.Seconds(), "ratio")
}
