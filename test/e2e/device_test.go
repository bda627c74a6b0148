package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/test/testkit"
)

const (
	appEntityID = "https://app.e2e.test/sp"
	appACS      = "https://app.e2e.test/acs"
)

// loginRig is casd with a test IdP and an app onboarded.
type loginRig struct {
	c    *testkit.Casd
	idp  *testkit.TestIdP
	port int
	ca   []byte // casd's internal TLS CA
}

func newLoginRig(t *testing.T) *loginRig {
	t.Helper()
	port := testkit.FreePort(t)
	c := testkit.NewCasd(t, fmt.Sprintf("listen: 127.0.0.1:%d\n", port))
	c.Start()
	idp := testkit.NewTestIdP(t, "https://idp.e2e.test/metadata", "https://idp.e2e.test/sso")
	c.OK("idp", "add", "corp", "--metadata", testkit.WriteTemp(t, "idp.xml", idp.Metadata))
	c.OK("app", "onboard", "custom", "--name", "app", "--idp", "corp", "--entity-id", appEntityID, "--acs-url", appACS)
	return &loginRig{c: c, idp: idp, port: port, ca: testkit.CasdCA(t, c.StateDir)}
}

func (r *loginRig) portal() string { return fmt.Sprintf("https://cas.localhost:%d", r.port) }
func (r *loginRig) device() string { return fmt.Sprintf("https://device.cas.localhost:%d", r.port) }

// postLogin posts a fresh Response for user to casd's ACS, as the IdP's
// auto-post form would.
func (r *loginRig) postLogin(t *testing.T, b *testkit.Browser, user string, groups ...string) *testkit.Page {
	t.Helper()
	resp := r.idp.Mint(testkit.Login{User: user, Groups: groups, Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	return b.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}})
}

// forwarded reports whether the page is casd's auto-post to the app.
func forwarded(p *testkit.Page) bool {
	for _, f := range p.Forms() {
		if f.Action == appACS && f.Fields.Get("SAMLResponse") != "" {
			return true
		}
	}
	return false
}

// deviceCA is a root CA made in the test, with helpers to issue the client
// certificates of each case.
type deviceCA struct {
	*pki.CA
	t *testing.T
}

func newDeviceCA(t *testing.T, name string) *deviceCA {
	ca, _ := testkit.RootCAPEM(t, name)
	return &deviceCA{CA: ca, t: t}
}

func (ca *deviceCA) client(name string, validity time.Duration, now time.Time) tls.Certificate {
	ca.t.Helper()
	certPEM, keyPEM, _, err := ca.IssueClient(name, validity, now)
	if err != nil {
		ca.t.Fatal(err)
	}
	// A client sends its intermediates, never the root.
	if !bytes.Equal(ca.Cert.RawIssuer, ca.Cert.RawSubject) {
		certPEM = append(certPEM, ca.CertPEM...)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		ca.t.Fatal(err)
	}
	return kp
}

// crl returns a PEM CRL revoking serials.
func (ca *deviceCA) crl(serials ...*big.Int) []byte {
	ca.t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Minute)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// deviceState fetches the device host's page with the given client
// certificate and returns what casd says of the device.
func (r *loginRig) deviceState(t *testing.T, certs ...tls.Certificate) string {
	t.Helper()
	b := testkit.NewBrowser(t, r.ca, certs...)
	p := b.Get(r.device() + "/")
	if p.Status != 200 {
		t.Fatalf("device page: %d\n%s", p.Status, p.Body)
	}
	return p.Body
}

func TestDeviceCertificatesOverRealTLS(t *testing.T) {
	r := newLoginRig(t)
	corp := newDeviceCA(t, "Corp Devices")
	other := newDeviceCA(t, "Someone Else")
	crlFile := filepath.Join(t.TempDir(), "corp.crl")
	os.WriteFile(crlFile, corp.crl(), 0o644)
	r.c.OK("ca", "add", "corp", "--cert", testkit.WriteTemp(t, "corp.pem", string(corp.CertPEM)), "--crl", crlFile)

	now := time.Now()
	inter, err := corp.NewIntermediate("Corp Issuing", 365*24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	viaInter := (&deviceCA{CA: inter, t: t}).client("laptop-2", 24*time.Hour, now)
	server, err := corp.IssueServer([]string{"server.example"}, 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	valid := corp.client("laptop-1", 24*time.Hour, now)
	revoked := corp.client("stolen", 24*time.Hour, now)

	cases := []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{"no certificate", nil, "unmanaged (no_certificate)"},
		{"valid", []tls.Certificate{valid}, "managed"},
		{"via intermediate", []tls.Certificate{viaInter}, "managed"},
		{"expired", []tls.Certificate{corp.client("old", time.Hour, now.Add(-72*time.Hour))}, "unmanaged (expired)"},
		{"another CA", []tls.Certificate{other.client("byod", 24*time.Hour, now)}, "unmanaged (untrusted_issuer)"},
		{"server-auth only", []tls.Certificate{*server}, "unmanaged (wrong_usage)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := r.deviceState(t, tc.certs...)
			if !strings.Contains(got, tc.want) || (tc.want == "managed" && strings.Contains(got, "unmanaged")) {
				t.Fatalf("want %q in:\n%s", tc.want, got)
			}
		})
	}

	// Revoke a certificate by rewriting the CRL file: casd notices without
	// a restart.
	revokedCert, _ := x509.ParseCertificate(revoked.Certificate[0])
	if got := r.deviceState(t, revoked); !strings.Contains(got, "is managed") {
		t.Fatalf("before revocation: %s", got)
	}
	os.WriteFile(crlFile, corp.crl(revokedCert.SerialNumber), 0o644)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(r.deviceState(t, revoked), "unmanaged (revoked)") {
		if time.Now().After(deadline) {
			t.Fatal("revocation by CRL never took effect")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := r.deviceState(t, valid); !strings.Contains(got, "is managed") {
		t.Fatalf("a certificate the CRL does not list: %s", got)
	}

	// Removing the CA takes effect for the next connection.
	r.c.OK("ca", "rm", "corp")
	if got := r.deviceState(t, valid); !strings.Contains(got, "unmanaged (untrusted_issuer)") {
		t.Fatalf("after ca rm: %s", got)
	}
}

// loginThroughDeviceCheck follows casd's redirect to the device host and
// back, returning the final page.
func (r *loginRig) loginThroughDeviceCheck(t *testing.T, b *testkit.Browser, user string, groups ...string) *testkit.Page {
	t.Helper()
	p := r.postLogin(t, b, user, groups...)
	if !strings.HasPrefix(p.URL.String(), r.portal()+"/saml/app/finish?") {
		t.Fatalf("login did not go through the device check: at %s (%d)\n%s", p.URL, p.Status, p.Body)
	}
	return p
}

// nextLogin waits for the first login event after id *after, moves *after
// past it and returns it. Data-plane events are written in batches a few
// milliseconds after the fact.
func nextLogin(t *testing.T, c *testkit.Casd, after *int64) api.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := strings.TrimSpace(c.OK("events", "tail", "-n", "50", "--kind", "login", "--json"))
		for _, line := range strings.Split(out, "\n") {
			var e api.Event
			if line == "" || json.Unmarshal([]byte(line), &e) != nil || e.ID <= *after {
				continue
			}
			*after = e.ID
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login event after id %d", *after)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoginWithDevicePolicy(t *testing.T) {
	r := newLoginRig(t)
	dir := t.TempDir()
	r.c.OK("ca", "create", "corp", "--out", dir)
	p12 := filepath.Join(dir, "laptop.p12")
	r.c.OK("ca", "issue", "corp", "--device", "laptop", "--out", p12)
	// The CLI writes the PEM pair beside the PKCS#12 file.
	kp, err := tls.LoadX509KeyPair(strings.TrimSuffix(p12, ".p12")+".pem", strings.TrimSuffix(p12, ".p12")+".key")
	if err != nil {
		t.Fatalf("issued device certificate: %v", err)
	}

	// Without a device policy there is no device check at all.
	plain := testkit.NewBrowser(t, r.ca)
	if p := r.postLogin(t, plain, "alice@example.com"); !forwarded(p) || strings.Contains(p.URL.Host, "device.") {
		t.Fatalf("no device policy: %s %d", p.URL, p.Status)
	}

	var seen int64
	nextLogin(t, r.c, &seen)

	// The seed's advice: a log-only policy identifies managed devices
	// without changing any outcome.
	r.c.OK("policy", "add", "identify-managed", "--kind", "access", "--device", "managed", "--action", "allow", "--log-only")
	unmanaged := testkit.NewBrowser(t, r.ca)
	if p := r.loginThroughDeviceCheck(t, unmanaged, "alice@example.com"); !forwarded(p) {
		t.Fatalf("log-only policy changed the outcome: %d\n%s", p.Status, p.Body)
	}
	if e := nextLogin(t, r.c, &seen); e.Device != "unmanaged" || e.Decision != "allow" || len(e.Policies) != 0 {
		t.Fatalf("unmanaged login event = %+v", e)
	}
	managed := testkit.NewBrowser(t, r.ca, kp)
	if p := r.loginThroughDeviceCheck(t, managed, "alice@example.com"); !forwarded(p) {
		t.Fatalf("managed login: %d\n%s", p.Status, p.Body)
	}
	if e := nextLogin(t, r.c, &seen); e.Device != "managed" || e.Decision != "allow" || len(e.Policies) != 1 || e.Policies[0] != "identify-managed" {
		t.Fatalf("managed login event = %+v", e)
	}

	// Enforcing: unmanaged devices are blocked, managed ones pass.
	r.c.OK("policy", "add", "block-unmanaged", "--kind", "access", "--app", "app", "--device", "unmanaged", "--action", "block", "--message", "Use a company laptop.")
	p := r.loginThroughDeviceCheck(t, testkit.NewBrowser(t, r.ca), "bob@example.com")
	if p.Status != 403 || !strings.Contains(p.Body, "Use a company laptop.") || forwarded(p) {
		t.Fatalf("unmanaged with block policy: %d\n%s", p.Status, p.Body)
	}
	if p := r.loginThroughDeviceCheck(t, testkit.NewBrowser(t, r.ca, kp), "bob@example.com"); !forwarded(p) {
		t.Fatalf("managed with block policy: %d\n%s", p.Status, p.Body)
	}
}

func TestParkedLoginIsSingleUseAndBoundToTheBrowser(t *testing.T) {
	r := newLoginRig(t)
	r.c.OK("policy", "add", "block-unmanaged", "--kind", "access", "--device", "unmanaged", "--action", "block")
	a := testkit.NewBrowser(t, r.ca)
	// Stop at the device host's redirect to see the finish URL.
	a.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/finish") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp := r.idp.Mint(testkit.Login{User: "alice@example.com", Audience: appEntityID, ACSURL: r.portal() + "/saml/app/acs"})
	res, err := a.Client.PostForm(r.portal()+"/saml/app/acs", url.Values{"SAMLResponse": {resp}})
	if err != nil {
		t.Fatal(err)
	}
	finish := res.Header.Get("Location")
	res.Body.Close()
	if !strings.Contains(finish, "/saml/app/finish?p=") {
		t.Fatalf("no finish URL: %q", finish)
	}
	// Another browser cannot use it.
	if p := testkit.NewBrowser(t, r.ca).Get(finish); p.Status != 400 || forwarded(p) {
		t.Fatalf("finish from another browser: %d\n%s", p.Status, p.Body)
	}
	var seen int64
	if e := nextLogin(t, r.c, &seen); e.Reason != "pending_wrong_browser" {
		t.Fatalf("event = %+v", e)
	}
	// And, taken once, it is gone: the right browser cannot replay it.
	a.CheckRedirect = nil
	if p := a.Get(finish); p.Status != 400 || forwarded(p) {
		t.Fatalf("replayed finish: %d\n%s", p.Status, p.Body)
	}
	if e := nextLogin(t, r.c, &seen); e.Reason != "pending_expired" {
		t.Fatalf("event = %+v", e)
	}
}
