package demo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium for the test, or skips the test when
// there is none (or with -short). Names under .localhost resolve to
// loopback in Chromium; the test CA is not installed, so certificate errors
// are ignored.
func browser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped with -short")
	}
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (make test installs it)")
		}
		t.Skip("no Chromium found; apt-get install chromium (or run make test)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.IgnoreCertErrors,
		chromedp.UserDataDir(t.TempDir()),
	)
	// A deadline so that a broken page fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// textOf returns the visible text of the element matching the CSS selector.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func attrOf(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return r.Value
}

// TestAppInBrowser drives the demo IdP and app in Chromium: SP-initiated
// login landing on the page first asked for, the Lightning page's
// cross-host fetch of escaped JSON, the WebSocket echo and an upload, with
// the app's CSP in force throughout.
func TestAppInBrowser(t *testing.T) {
	ctx := browser(t)
	e := newAppEnv(t, nil)
	l := e.app.links()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(l.Report),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPasswords("alice")),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#report-title")),
	); err != nil {
		t.Fatalf("SP-initiated login: %v", err)
	}
	if title, who := textOf(t, ctx, "#report-title"), textOf(t, ctx, "#user-email"); title != "Pipeline report" || who != "alice@example.com" {
		t.Errorf("landed on %q as %q", title, who)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nav-lightning")),
		chromedp.WaitVisible(chromedp.CSS(`#accounts-status[data-state="loaded"], #accounts-status[data-state="error"]`)),
	); err != nil {
		t.Fatalf("Lightning page: %v", err)
	}
	if status, state := textOf(t, ctx, "#accounts-status"), attrOf(t, ctx, "#accounts-status", "data-state"); state != "loaded" || status != "3 accounts" {
		t.Fatalf("accounts: %s (%s)", status, state)
	}
	if href := attrOf(t, ctx, "#account-001000000000001", "href"); href != e.app.base(e.app.lightHost)+"/lightning/r/Account/001000000000001/view" {
		t.Errorf("account link %q", href)
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nav-streaming")),
		chromedp.WaitVisible(chromedp.CSS("#ws-form")),
	); err != nil {
		t.Fatalf("WebSocket page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("ws-status").textContent !== "connecting"`)); err != nil {
		t.Fatal(err)
	}
	if st := textOf(t, ctx, "#ws-status"); st != "open" {
		t.Fatalf("WebSocket status %q", st)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#ws-input"), "ping from chromium"),
		chromedp.Click(chromedp.CSS("#ws-send")),
		chromedp.WaitVisible(chromedp.CSS("#ws-log li.ws-echo")),
	); err != nil {
		t.Fatalf("WebSocket echo: %v", err)
	}
	if echo := textOf(t, ctx, "#ws-log li.ws-echo"); echo != "ping from chromium" {
		t.Errorf("echo %q", echo)
	}

	upload := filepath.Join(t.TempDir(), "browser-upload.txt")
	if err := os.WriteFile(upload, []byte("uploaded from Chromium\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nav-upload")),
		chromedp.WaitVisible(chromedp.CSS("#upload-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{upload}),
		chromedp.Click(chromedp.CSS("#upload-submit")),
		chromedp.WaitVisible(chromedp.CSS("#upload-result")),
	); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if result := textOf(t, ctx, "#upload-result"); result != "Uploaded browser-upload.txt (23 bytes)" {
		t.Errorf("upload result %q", result)
	}
	if ups := e.app.Uploads(); len(ups) != 1 || !strings.HasPrefix(string(ups[0].Content), "uploaded from Chromium") {
		t.Errorf("Uploads() = %+v", ups)
	}
}
