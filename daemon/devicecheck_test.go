package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/saml"
	"github.com/cas-proxy/cas/store"
	"github.com/cas-proxy/cas/test/testkit"
)

// fakeClock is a settable clock for the daemon and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// loginDaemon is an in-process daemon (no listeners) with a test IdP, the
// app "app" posting to acsURL, and policies.
func loginDaemon(t *testing.T, clock *fakeClock, acsURL string, ps ...policy.Policy) (*Daemon, *testkit.TestIdP) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := LoadConfig("", false, nil, []string{"CAS_STATE_DIR=" + dir, "CAS_SOCKET=" + dir + "/s.sock", "CAS_LISTEN=127.0.0.1:8443"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.closeStore)
	idp := testkit.NewTestIdP(t, "https://idp.test/metadata", "https://idp.test/sso")
	md, err := saml.ParseIdPMetadata([]byte(idp.Metadata), clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.db.CreateIdP(ctx, &store.IdP{Name: "corp", EntityID: md.EntityID, CertsPEM: certsPEM(md.SigningCerts), GroupsAttrs: saml.DefaultGroupsAttrs()}); err != nil {
		t.Fatal(err)
	}
	key, _ := newAppKey("app", clock.now())
	if err := d.db.CreateApp(ctx, &store.App{Name: "app", Template: "custom", IdP: "corp", EntityID: "https://app.test/sp", ACSURL: acsURL, Settings: []byte(`{"idp_initiated":true}`), Keys: []store.AppKey{key}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		rec, _ := encodePolicy(p)
		if err := d.db.CreatePolicy(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.reloadApps(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.recompile(ctx); err != nil {
		t.Fatal(err)
	}
	return d, idp
}

// postACS posts a fresh Response for user to the daemon's ACS.
func postACS(t *testing.T, d *Daemon, idp *testkit.TestIdP, user string) *httptest.ResponseRecorder {
	t.Helper()
	acs := d.proxyACSURL("app")
	form := url.Values{"SAMLResponse": {idp.Mint(testkit.Login{User: user, Audience: "https://app.test/sp", ACSURL: acs})}}
	req := httptest.NewRequest("POST", acs, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rr := httptest.NewRecorder()
	d.proxyHandler().ServeHTTP(rr, req)
	return rr
}

// TestParkedLoginExpires: a login parked for its device check cannot be
// finished once its time is up, even by the browser that started it.
func TestParkedLoginExpires(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	ctx := context.Background()
	d, idp := loginDaemon(t, clock, "https://app.test/acs", policy.Policy{Name: "managed-only", Kind: policy.KindAccess, Action: policy.ActionBlock, Filters: policy.Filters{Device: policy.StringFilter{Include: []string{"unmanaged"}}}})
	h := d.proxyHandler()

	park := func() (finish string, cookies []*http.Cookie) {
		rr := postACS(t, d, idp, "alice@example.com")
		loc := rr.Header().Get("Location")
		if rr.Code != http.StatusSeeOther || !strings.Contains(loc, "/check?") || !strings.Contains(loc, "p=") {
			t.Fatalf("not parked: %d %q\n%s", rr.Code, loc, rr.Body)
		}
		u, _ := url.Parse(loc)
		return d.portalURL() + "/saml/app/finish?p=" + u.Query().Get("p"), rr.Result().Cookies()
	}
	finish := func(u string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", u, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
		return rr
	}

	// In time: the decision is made (block: the device was never checked).
	u, cookies := park()
	if rr := finish(u, cookies); rr.Code != http.StatusForbidden {
		t.Fatalf("finish in time: %d\n%s", rr.Code, rr.Body)
	}
	// Too late: refused, whoever asks.
	u, cookies = park()
	clock.advance(pendingTTL + time.Second)
	if rr := finish(u, cookies); rr.Code != http.StatusBadRequest || !strings.Contains(rr.Body.String(), "cas-ref") {
		t.Fatalf("finish after expiry: %d\n%s", rr.Code, rr.Body)
	}
	d.events.Close(ctx)
	evs, err := d.db.Events(ctx, store.EventFilter{Kinds: []string{"login"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(evs); n < 2 || evs[n-1].Reason != "pending_expired" {
		t.Fatalf("events = %+v", evs)
	}
}

// TestMonitorFailsClosed: when a monitor decision cannot start session
// control (here the app's ACS host lies under casd's own suffix and cannot
// be proxied), the login is refused, never delivered unmonitored.
func TestMonitorFailsClosed(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	d, idp := loginDaemon(t, clock, "https://app.cas.localhost/acs", policy.Policy{Name: "watch", Kind: policy.KindAccess, Action: policy.ActionMonitor})
	rr := postACS(t, d, idp, "alice@example.com")
	if rr.Code != http.StatusServiceUnavailable || strings.Contains(rr.Body.String(), "SAMLResponse") || !strings.Contains(rr.Body.String(), "cas-ref") {
		t.Fatalf("monitor without session control: %d\n%s", rr.Code, rr.Body)
	}
	d.events.Close(context.Background())
	evs, err := d.db.Events(context.Background(), store.EventFilter{Kinds: []string{"login"}})
	if err != nil || len(evs) != 1 || evs[0].Decision != "block" || !strings.HasPrefix(evs[0].Reason, "session_control_failed") {
		t.Fatalf("events = %+v (%v)", evs, err)
	}
}
