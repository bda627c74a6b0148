package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/test/testkit"
)

var updateDocs = flag.Bool("update-docs", false, "write the README's screenshots under docs/")

// shots is where browser tests leave a screenshot of their final page.
func shot(t *testing.T, c *testkit.Chrome, name string) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "cas-e2e-screenshots")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	c.Screenshot(path)
	t.Logf("screenshot: %s", path)
	if *updateDocs {
		if doc := map[string]string{"block-page": "block-page.png", "monitored-notice": "monitored-notice.png"}[name]; doc != "" {
			c.Screenshot(filepath.Join("..", "..", "docs", doc))
		}
	}
}

// browserRig is casd --demo and what a browser needs to reach it.
type browserRig struct {
	d      *testkit.Demo
	caFile string
}

func newBrowserRig(t *testing.T) *browserRig {
	t.Helper()
	testkit.RequireChromium(t)
	d := testkit.StartDemo(t)
	return &browserRig{d: d, caFile: filepath.Join(d.StateDir, "tls-ca.crt")}
}

func (r *browserRig) chrome(t *testing.T, managed bool) *testkit.Chrome {
	t.Helper()
	o := testkit.ChromeOptions{CACert: r.caFile}
	if managed {
		o.P12 = filepath.Join(r.d.StateDir, "device.p12")
		o.P12Password = "demo"
		o.AutoSelectURL = fmt.Sprintf("https://device.cas.localhost:%d", r.d.Port)
		o.IssuerCN = "cas demo device CA"
	}
	return testkit.StartChrome(t, o)
}

// loginDemoIdP signs in at the demo IdP and opens Demo Salesforce from its
// portal, stopping at the page casd answers with (the monitored notice,
// or a block page).
func (r *browserRig) loginDemoIdP(t *testing.T, c *testkit.Chrome, user string) {
	t.Helper()
	c.Do(
		chromedp.Navigate(r.d.URL(testkit.DemoIdPHost, "/")),
		chromedp.WaitVisible("#username"),
		chromedp.SendKeys("#username", user),
		chromedp.SendKeys("#password", r.d.Passwords[user]),
		chromedp.Click("#submit"),
		chromedp.WaitVisible("#app-demo-salesforce"),
		chromedp.Click("#app-demo-salesforce"),
		chromedp.WaitVisible("#cas-page"),
	)
}

// continueMonitored accepts the monitored-session notice and waits for the
// app's home page.
func continueMonitored(t *testing.T, c *testkit.Chrome) {
	t.Helper()
	if kind := testkit.Eval[string](c, `document.getElementById("cas-page").dataset.kind`); kind != "notice" {
		t.Fatalf("expected the monitored notice, got a %q page: %s", kind, c.Text("#cas-message"))
	}
	c.Do(chromedp.Click("#cas-continue"), chromedp.WaitVisible("#home-title"))
}

// offProxyLinks lists the links and form actions of the live page that do
// not point at proxied hosts.
func offProxyLinks(c *testkit.Chrome) []string {
	return testkit.Eval[[]string](c, `Array.from(document.querySelectorAll("a[href], form[action]"))
		.map(e => e.href || e.action)
		.filter(u => u.startsWith("http") && !new URL(u).hostname.endsWith(".cas.localhost"))`)
}

func TestBrowserDemo(t *testing.T) {
	r := newBrowserRig(t)

	t.Run("1 monitored session", func(t *testing.T) {
		c := r.chrome(t, false)
		r.loginDemoIdP(t, c, "alice")
		shot(t, c, "monitored-notice")
		continueMonitored(t, c)
		if loc := c.Location(); !strings.Contains(loc, "acme.my.demo-salesforce.localhost.cas.localhost") {
			t.Fatalf("home page not through casd: %s", loc)
		}
		if off := offProxyLinks(c); len(off) > 0 {
			t.Fatalf("links leave casd: %v", off)
		}
		// The Lightning page loads its accounts with fetch() through casd.
		c.Do(chromedp.Click("#nav-lightning"), chromedp.WaitVisible(`#accounts-status[data-state="loaded"]`))
		if off := offProxyLinks(c); len(off) > 0 {
			t.Fatalf("links leave casd on the Lightning page: %v", off)
		}
		shot(t, c, "lightning")
	})

	t.Run("2 blocked login", func(t *testing.T) {
		r.d.OK("iptag", "set", "lab", "127.0.0.0/8", "::1")
		r.d.OK("policy", "add", "block-bob-lab", "--kind", "access", "--user", "bob@example.com", "--ip-tag", "lab", "--action", "block", "--message", "Bob may not sign in from the lab network.")
		defer r.d.OK("policy", "rm", "block-bob-lab")
		c := r.chrome(t, false)
		r.loginDemoIdP(t, c, "bob")
		if kind := testkit.Eval[string](c, `document.getElementById("cas-page").dataset.kind`); kind != "block" {
			t.Fatalf("want the block page, got %q", kind)
		}
		if msg := c.Text("#cas-message"); !strings.Contains(msg, "Bob may not sign in from the lab network.") {
			t.Fatalf("block message = %q", msg)
		}
		shot(t, c, "block-page")
	})

	t.Run("3 unmanaged device", func(t *testing.T) {
		c := r.chrome(t, false)
		r.loginDemoIdP(t, c, "alice")
		continueMonitored(t, c)
		c.Do(chromedp.Click("#nav-files"), chromedp.WaitVisible("#file-068000000000001"), chromedp.Click("#file-068000000000001"))
		got, _ := os.ReadFile(c.WaitDownload(".blocked.txt"))
		if !strings.Contains(string(got), "Downloads are blocked on unmanaged devices") {
			t.Fatalf("blocked download notice: %q", got)
		}
		// alice's upload of a file with card numbers is refused.
		cards := filepath.Join(t.TempDir(), "cards.txt")
		os.WriteFile(cards, []byte("refunds: 4111 1111 1111 1111, 5500 0000 0000 0004\n"), 0o644)
		c.Do(chromedp.Click("#nav-upload"), chromedp.WaitVisible("#upload-file"),
			chromedp.SetUploadFiles("#upload-file", []string{cards}), chromedp.Click("#upload-submit"),
			chromedp.WaitVisible("#cas-page"))
		if kind := testkit.Eval[string](c, `document.getElementById("cas-page").dataset.kind`); kind != "block" {
			t.Fatalf("upload with card numbers: a %q page", kind)
		}
		if msg := c.Text("#cas-message"); !strings.Contains(msg, "payment card numbers") {
			t.Fatalf("upload with card numbers: page says %q", msg)
		}
		shot(t, c, "upload-refused")

		// bob, a contractor, cannot export the report.
		b := r.chrome(t, false)
		r.loginDemoIdP(t, b, "bob")
		continueMonitored(t, b)
		b.Do(chromedp.Click("#nav-report"), chromedp.WaitVisible("#export-csv"), chromedp.Click("#export-csv"))
		got, _ = os.ReadFile(b.WaitDownload(".blocked.txt"))
		if !strings.Contains(string(got), "Contractors cannot export reports.") {
			t.Fatalf("bob's export: %q", got)
		}
	})

	t.Run("4 managed device", func(t *testing.T) {
		c := r.chrome(t, true)
		r.loginDemoIdP(t, c, "alice")
		continueMonitored(t, c)
		c.Do(chromedp.Click("#nav-files"), chromedp.WaitVisible("#file-068000000000001"), chromedp.Click("#file-068000000000001"))
		got, _ := os.ReadFile(c.WaitDownload(".pdf"))
		want := demoFile(t, r.d, "068000000000001")
		if !bytes.Equal(got, want) {
			t.Fatalf("managed download: %d bytes, want the app's %d bytes", len(got), len(want))
		}
		shot(t, c, "managed-download")
	})

	t.Run("5 SP-initiated", func(t *testing.T) {
		c := r.chrome(t, false)
		c.Do(
			chromedp.Navigate(r.d.URL(testkit.Proxied(testkit.DemoMyHost), "/00O000000000001")),
			chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", "alice"),
			chromedp.SendKeys("#password", r.d.Passwords["alice"]),
			chromedp.Click("#submit"),
			chromedp.WaitVisible("#cas-page"),
		)
		c.Do(chromedp.Click("#cas-continue"), chromedp.WaitVisible("#report-title"))
		if loc := c.Location(); !strings.Contains(loc, "acme.my.demo-salesforce.localhost.cas.localhost") || !strings.Contains(loc, "/00O000000000001") {
			t.Fatalf("SP-initiated login landed on %s", loc)
		}
		shot(t, c, "sp-initiated")
	})

	t.Run("6 events", func(t *testing.T) {
		want := []struct{ kind, user, action, decision, device string }{
			{"login", "alice@example.com", "login", "monitor", "unmanaged"},
			{"login", "alice@example.com", "login", "monitor", "managed"},
			{"login", "bob@example.com", "login", "block", ""},
			{"activity", "alice@example.com", "download", "block", "unmanaged"},
			{"activity", "alice@example.com", "download", "allow", "managed"},
			{"activity", "alice@example.com", "upload", "block", ""},
			{"activity", "bob@example.com", "export", "block", ""},
		}
		checkEvents(t, r.d.Casd, want)
	})
}

// checkEvents waits until cas events tail --json holds an event for each
// row of want (empty fields match anything).
func checkEvents(t *testing.T, c *testkit.Casd, want []struct{ kind, user, action, decision, device string }) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var evs []api.Event
		for _, line := range strings.Split(strings.TrimSpace(c.OK("events", "tail", "-n", "1000", "--json")), "\n") {
			var e api.Event
			if json.Unmarshal([]byte(line), &e) == nil {
				evs = append(evs, e)
			}
		}
		var missing []string
		for _, w := range want {
			found := false
			for _, e := range evs {
				if e.Kind == w.kind && e.User == w.user && e.Action == w.action && e.Decision == w.decision && (w.device == "" || e.Device == w.device) && e.App == "demo-salesforce" {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%+v", w))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events missing: %v\n(%d events)", missing, len(evs))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserDemoWithSimpleSAMLphp runs steps 1, 3 and 6 with SimpleSAMLphp
// as the IdP instead of the demo IdP.
func TestBrowserDemoWithSimpleSAMLphp(t *testing.T) {
	r := newBrowserRig(t)
	var app api.App
	r.d.JSON(&app, "app", "show", "demo-salesforce")
	ssp := testkit.StartSSP(t, app.EntityID, app.ProxyACSURL)
	r.d.OK("idp", "add", "ssp", "--metadata", testkit.WriteTemp(t, "ssp.xml", ssp.Metadata(t)))
	r.d.OK("app", "set", "demo-salesforce", "--idp", "ssp")

	login := func(c *testkit.Chrome, user, pass string) {
		c.Do(
			chromedp.Navigate(ssp.IdPInitiatedURL(app.EntityID, "")),
			chromedp.WaitVisible("#username"),
			chromedp.SendKeys("#username", user),
			chromedp.SendKeys("#password", pass),
			chromedp.Click("#submit_button"),
			chromedp.WaitVisible("#cas-page"),
		)
	}
	c := r.chrome(t, false)
	login(c, "alice", "alicepass")
	continueMonitored(t, c)
	if off := offProxyLinks(c); len(off) > 0 {
		t.Fatalf("links leave casd: %v", off)
	}
	c.Do(chromedp.Click("#nav-files"), chromedp.WaitVisible("#file-068000000000001"), chromedp.Click("#file-068000000000001"))
	if got, _ := os.ReadFile(c.WaitDownload(".blocked.txt")); !strings.Contains(string(got), "unmanaged devices") {
		t.Fatalf("blocked download: %q", got)
	}
	shot(t, c, "ssp-download-blocked")
	b := r.chrome(t, false)
	login(b, "bob", "bobpass")
	continueMonitored(t, b)
	b.Do(chromedp.Click("#nav-report"), chromedp.WaitVisible("#export-csv"), chromedp.Click("#export-csv"))
	if got, _ := os.ReadFile(b.WaitDownload(".blocked.txt")); !strings.Contains(string(got), "Contractors cannot export reports.") {
		t.Fatalf("bob's export: %q", got)
	}
	checkEvents(t, r.d.Casd, []struct{ kind, user, action, decision, device string }{
		{"login", "alice@example.com", "login", "monitor", "unmanaged"},
		{"activity", "alice@example.com", "download", "block", "unmanaged"},
		{"activity", "bob@example.com", "export", "block", ""},
	})
}
