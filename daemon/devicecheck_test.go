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

// TestParkedLoginExpires: a login parked for its device check cannot be
// finished once its time is up, even by the browser that started it.
func TestParkedLoginExpires(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
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
	defer d.closeStore()
	idp := testkit.NewTestIdP(t, "https://idp.test/metadata", "https://idp.test/sso")
	md, err := saml.ParseIdPMetadata([]byte(idp.Metadata), clock.now())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.db.CreateIdP(ctx, &store.IdP{Name: "corp", EntityID: md.EntityID, CertsPEM: certsPEM(md.SigningCerts), GroupsAttrs: saml.DefaultGroupsAttrs()}); err != nil {
		t.Fatal(err)
	}
	key, _ := newAppKey("app", clock.now())
	if err := d.db.CreateApp(ctx, &store.App{Name: "app", Template: "custom", IdP: "corp", EntityID: "https://app.test/sp", ACSURL: "https://app.test/acs", Settings: []byte(`{"idp_initiated":true}`), Keys: []store.AppKey{key}}); err != nil {
		t.Fatal(err)
	}
	rec, _ := encodePolicy(policy.Policy{Name: "managed-only", Kind: policy.KindAccess, Action: policy.ActionBlock, Filters: policy.Filters{Device: policy.StringFilter{Include: []string{"unmanaged"}}}})
	if err := d.db.CreatePolicy(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := d.reloadApps(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.recompile(ctx); err != nil {
		t.Fatal(err)
	}
	h := d.proxyHandler()
	acs := d.proxyACSURL("app")

	park := func() (finish string, cookies []*http.Cookie) {
		form := url.Values{"SAMLResponse": {idp.Mint(testkit.Login{User: "alice@example.com", Audience: "https://app.test/sp", ACSURL: acs})}}
		req := httptest.NewRequest("POST", acs, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, req)
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
