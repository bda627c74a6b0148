package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// ChromeOptions configure a headless Chromium for a test.
type ChromeOptions struct {
	// CACert is a PEM file of a CA the browser trusts for TLS servers
	// (casd's internal CA).
	CACert string
	// P12 and P12Password import a client certificate; AutoSelectURL is the
	// origin (https://host:port) for which Chromium's
	// AutoSelectCertificateForUrls policy picks it without a prompt, and
	// IssuerCN the certificate's issuer common name.
	P12, P12Password, AutoSelectURL, IssuerCN string
}

// Chrome is a running headless Chromium with its own HOME, NSS database
// and profile, driven by chromedp.
type Chrome struct {
	Ctx       context.Context
	Downloads string
	t         *testing.T
}

// RequireChromium fails under CI and skips locally when Chromium or the NSS
// tools are missing.
func RequireChromium(t *testing.T) {
	t.Helper()
	RequireTool(t, "chromium", "apt-get install chromium")
	RequireTool(t, "certutil", "apt-get install libnss3-tools")
	RequireTool(t, "pk12util", "apt-get install libnss3-tools")
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// StartChrome starts Chromium; it is stopped when the test ends.
func StartChrome(t *testing.T, o ChromeOptions) *Chrome {
	t.Helper()
	RequireChromium(t)
	home := t.TempDir()
	nss := filepath.Join(home, ".pki", "nssdb")
	profile := filepath.Join(home, "profile")
	downloads := filepath.Join(home, "downloads")
	for _, d := range []string{nss, profile, downloads, filepath.Join(home, ".config"), filepath.Join(home, ".cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	db := "sql:" + nss
	run(t, "certutil", "-d", db, "-N", "--empty-password")
	if o.CACert != "" {
		run(t, "certutil", "-d", db, "-A", "-n", "cas local CA", "-t", "C,,", "-i", o.CACert)
	}
	if o.P12 != "" {
		run(t, "pk12util", "-d", db, "-i", o.P12, "-W", o.P12Password)
	}
	if o.AutoSelectURL != "" {
		rule, _ := json.Marshal(map[string]any{"pattern": o.AutoSelectURL, "filter": map[string]any{"ISSUER": map[string]string{"CN": o.IssuerCN}}})
		if os.Geteuid() == 0 {
			// The managed policy, as an admin deploys it.
			dir := "/etc/chromium/policies/managed"
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, fmt.Sprintf("cas-test-%d.json", time.Now().UnixNano()))
			pol, _ := json.Marshal(map[string][]string{"AutoSelectCertificateForUrls": {string(rule)}})
			if err := os.WriteFile(file, pol, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(file) })
		} else {
			// Without root: the same setting in the profile.
			prefs := map[string]any{"profile": map[string]any{"content_settings": map[string]any{"exceptions": map[string]any{"auto_select_certificate": map[string]any{
				o.AutoSelectURL + ",*": map[string]any{"setting": map[string]any{"filters": []any{map[string]any{"ISSUER": map[string]string{"CN": o.IssuerCN}}}}},
			}}}}}
			b, _ := json.Marshal(prefs)
			os.MkdirAll(filepath.Join(profile, "Default"), 0o700)
			if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	logf, _ := os.Create(filepath.Join(home, "chromium.log"))
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Env("HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache")),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 900),
		chromedp.CombinedOutput(logf),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		logf.Close()
	})
	// The first action starts the browser and binds it to its context: run
	// it on the long-lived one (a deadline here would end the browser).
	if err := chromedp.Do(ctx); err != nil {
		log, _ := os.ReadFile(filepath.Join(home, "chromium.log"))
		t.Fatalf("start chromium: %v\n%s", err, log)
	}
	allow := browser.SetDownloadBehaviorBehaviorAllow
	dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
	defer dcancel()
	if _, err := chromedp.CallBrowser(dctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: allow, DownloadPath: downloads}); err != nil {
		t.Fatalf("set download behaviour: %v", err)
	}
	return &Chrome{Ctx: ctx, Downloads: downloads, t: t}
}

// Do runs actions with a deadline: a certificate prompt or a stuck page
// must fail the test, not hang it.
func (c *Chrome) Do(actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		url, _ := c.location()
		c.t.Fatalf("chromium at %s: %v", url, err)
	}
}

func (c *Chrome) location() (string, error) {
	ctx, cancel := context.WithTimeout(c.Ctx, 5*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Location())
}

// Location returns the current URL.
func (c *Chrome) Location() string {
	c.t.Helper()
	u, err := c.location()
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

// Text returns the text of the first element matching sel.
func (c *Chrome) Text(sel string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(sel))
	if err != nil {
		u, _ := c.location()
		c.t.Fatalf("text of %s at %s: %v", sel, u, err)
	}
	return s
}

// Eval evaluates JavaScript and decodes its result into T.
func Eval[T any](c *Chrome, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// Screenshot saves a PNG of the page to path.
func (c *Chrome) Screenshot(path string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.Ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// WaitDownload waits for a finished download whose name has suffix and
// returns its path.
func (c *Chrome) WaitDownload(suffix string) string {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(c.Downloads)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), suffix) && !strings.HasSuffix(e.Name(), ".crdownload") {
				return filepath.Join(c.Downloads, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	entries, _ := os.ReadDir(c.Downloads)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	c.t.Fatalf("no download ending in %q (have %v)", suffix, names)
	return ""
}
