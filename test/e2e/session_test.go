package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/tls"

	"filippo.io/age"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/demo"
	"github.com/cas-proxy/cas/test/testkit"
)

// demoSession signs user in at the demo IdP, opens Demo Salesforce from
// the IdP's portal and follows casd through the device check, the
// monitored-session notice and the app's own login, returning the app's
// first page as seen through casd.
func demoSession(t *testing.T, d *testkit.Demo, b *testkit.Browser, user string) *testkit.Page {
	t.Helper()
	return demoSessionAt(t, d, b, user, testkit.Proxied(testkit.DemoMyHost))
}

// demoSessionAt is demoSession where the app's main host is proxied as
// myHost.
func demoSessionAt(t *testing.T, d *testkit.Demo, b *testkit.Browser, user, myHost string) *testkit.Page {
	t.Helper()
	p := b.Get(d.URL(testkit.DemoIdPHost, "/"))
	f := p.FormWith(t, "password")
	f.Fields.Set("username", user)
	f.Fields.Set("password", d.Passwords[user])
	portal := b.Submit(f)
	var appLink string
	for _, a := range links(portal) {
		if strings.Contains(a, "idp-initiated") {
			appLink = a
		}
	}
	if appLink == "" {
		t.Fatalf("no app on the IdP's portal:\n%s", portal.Body)
	}
	toCasd := b.Get(resolve(portal, appLink))
	notice := b.Submit(toCasd.FormWith(t, "SAMLResponse"))
	if !strings.Contains(notice.Body, "is monitored") || notice.URL.Hostname() != myHost {
		t.Fatalf("no monitored-session notice on the proxied host: %s (%d)\n%s", notice.URL, notice.Status, notice.Body)
	}
	home := b.Submit(notice.FormWith(t, "SAMLResponse"))
	if home.Status != 200 || home.URL.Hostname() != myHost {
		t.Fatalf("app home through casd: %s (%d)\n%s\ncasd:\n%s", home.URL, home.Status, home.Body, tail(d.Stderr.String(), 3000))
	}
	return home
}

// links returns every href and form action of a page.
func links(p *testkit.Page) []string {
	var out []string
	for _, attr := range []string{`href="`, `action="`, `src="`} {
		rest := p.Body
		for {
			i := strings.Index(rest, attr)
			if i < 0 {
				break
			}
			rest = rest[i+len(attr):]
			j := strings.IndexByte(rest, '"')
			if j < 0 {
				break
			}
			out = append(out, strings.ReplaceAll(rest[:j], "&amp;", "&"))
			rest = rest[j:]
		}
	}
	return out
}

func resolve(p *testkit.Page, ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return p.URL.ResolveReference(u).String()
}

// download fetches a URL without following redirects and returns the
// response and its body.
func download(t *testing.T, b *testkit.Browser, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// demoFile returns the demo app's file id as the app serves it: the demo
// package builds the same files for the same port.
func demoFile(t *testing.T, d *testkit.Demo, id string) []byte {
	t.Helper()
	app, err := demo.NewApp(demo.AppConfig{Org: "acme", Domain: "demo-salesforce.localhost", Port: d.Port})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range app.Files() {
		if f.ID == id {
			return f.Content
		}
	}
	t.Fatalf("no demo file %s", id)
	return nil
}

// TestSessionControlWithTheDemo runs over HTTP/2 (net/http's server in
// casd) and over HTTP/1.1 (casd's front server).
func TestSessionControlWithTheDemo(t *testing.T) {
	for _, proto := range []string{"h2", "http/1.1"} {
		t.Run(strings.ReplaceAll(proto, "/", ""), func(t *testing.T) { sessionControl(t, proto) })
	}
}

func sessionControl(t *testing.T, proto string) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	b := testkit.NewBrowserProto(t, proto, ca)
	home := demoSession(t, d, b, "alice")
	if !strings.Contains(home.Body, `id="home-title"`) {
		t.Fatalf("not the app's home page:\n%s", home.Body)
	}
	wantProto := map[string]string{"h2": "HTTP/2.0", "http/1.1": "HTTP/1.1"}[proto]
	if home.Proto != wantProto {
		t.Fatalf("home page over %s, want %s", home.Proto, wantProto)
	}
	// Every absolute link and form on the page points at proxied hosts.
	for _, l := range links(home) {
		u, err := url.Parse(l)
		if err != nil || u.Host == "" {
			continue
		}
		if !strings.HasSuffix(u.Hostname(), ".cas.localhost") {
			t.Errorf("link leaves casd: %s", l)
		}
	}
	// The app's own cookie came back through casd scoped to the proxied
	// domain, and casd's session cookie is host-only.
	myURL, _ := url.Parse(d.URL(testkit.Proxied(testkit.DemoMyHost), "/"))
	var names []string
	for _, c := range b.Jar.Cookies(myURL) {
		names = append(names, c.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "sid") || !strings.Contains(strings.Join(names, ","), "__cas_session") {
		t.Errorf("cookies on the proxied host: %v", names)
	}

	// Unmanaged device: a download is replaced by a .blocked.txt notice.
	fileURL := d.URL(testkit.Proxied(testkit.DemoFileHost), "/sfc/servlet.shepherd/version/download/068000000000001")
	resp, body := download(t, b, fileURL)
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, ".blocked.txt") || !strings.Contains(string(body), "Downloads are blocked on unmanaged devices") {
		t.Fatalf("download on an unmanaged device: %d %q\n%s", resp.StatusCode, cd, body)
	}

	// A managed device gets the file, byte for byte.
	kp, err := tls.LoadX509KeyPair(filepath.Join(d.StateDir, "device.pem"), filepath.Join(d.StateDir, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	mb := testkit.NewBrowserProto(t, proto, ca, kp)
	demoSession(t, d, mb, "alice")
	resp, body = download(t, mb, fileURL)
	want := demoFile(t, d, "068000000000001")
	if resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("managed download: %d, %d bytes, want the app's %d bytes", resp.StatusCode, len(body), len(want))
	}

	// bob is a contractor: his CSV export is blocked; alice's works.
	bb := testkit.NewBrowserProto(t, proto, ca)
	demoSession(t, d, bb, "bob")
	exportURL := d.URL(testkit.Proxied(testkit.DemoMyHost), "/00O000000000001?export=1&enc=UTF-8&xf=csv")
	resp, body = download(t, bb, exportURL)
	if !strings.Contains(resp.Header.Get("Content-Disposition"), ".blocked.txt") || !strings.Contains(string(body), "Contractors cannot export reports.") {
		t.Fatalf("bob's export: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	resp, body = download(t, b, exportURL)
	if resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Content-Disposition"), "blocked") || !bytes.Contains(body, []byte(",")) {
		t.Fatalf("alice's export: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}

	// Uploads: a file with card numbers is refused by content inspection; a
	// clean one goes through.
	upload := func(b *testkit.Browser, name, content string) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte(content))
		mw.Close()
		req, _ := http.NewRequest("POST", d.URL(testkit.Proxied(testkit.DemoFileHost), "/sfc/servlet.shepherd/upload"), &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, body := upload(b, "cards.txt", "customer cards: 4111 1111 1111 1111 and 5500-0000-0000-0004\n"); code != 403 || !strings.Contains(body, "payment card numbers") {
		t.Fatalf("upload with card numbers: %d\n%s", code, body)
	}
	if code, body := upload(b, "notes.txt", "nothing sensitive; order 1234-5678 shipped\n"); code != 200 || !strings.Contains(body, "Uploaded notes.txt") {
		t.Fatalf("clean upload: %d\n%s", code, body)
	}

	// Events: the downloads, export and uploads with their decisions.
	var evs []api.Event
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs = nil
		out := d.OK("events", "tail", "-n", "200", "--kind", "activity", "--json")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var e api.Event
			if json.Unmarshal([]byte(line), &e) == nil {
				evs = append(evs, e)
			}
		}
		if countEvents(evs, "upload", "allow")+countEvents(evs, "upload", "log") >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checks := []struct {
		user, action, decision string
	}{
		{"alice@example.com", "download", "block"},
		{"alice@example.com", "download", "allow"},
		{"bob@example.com", "export", "block"},
		{"alice@example.com", "upload", "block"},
	}
	for _, c := range checks {
		found := false
		for _, e := range evs {
			if e.User == c.user && e.Action == c.action && e.Decision == c.decision {
				found = true
			}
		}
		if !found {
			t.Errorf("no activity event %s %s %s in %d events", c.user, c.action, c.decision, len(evs))
		}
	}

	// Revocation: the next request of a revoked session goes back to login.
	d.OK("session", "revoke", "--user", "bob@example.com")
	bb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = download(t, bb, d.URL(testkit.Proxied(testkit.DemoMyHost), "/home/home.jsp"))
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/hop?") {
		t.Fatalf("revoked session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sessions []api.Session
	d.JSON(&sessions, "session", "list", "--user", "bob@example.com")
	if len(sessions) != 0 {
		t.Errorf("revoked sessions still listed: %+v", sessions)
	}
}

func countEvents(evs []api.Event, action, decision string) int {
	n := 0
	for _, e := range evs {
		if e.Action == action && e.Decision == decision {
			n++
		}
	}
	return n
}

// TestSessionHopAndProtect: moving to another host of the app is a hop
// through the portal, not a login; a protect policy delivers files
// encrypted to the policy's age recipient.
func TestSessionHopAndProtect(t *testing.T) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	d.OK("policy", "rm", "block-downloads-unmanaged")
	d.OK("policy", "add", "protect-notes", "--kind", "session", "--activity", "download", "--file-ext", "txt", "--action", "protect", "--protect-recipient", id.Recipient().String())
	b := testkit.NewBrowser(t, ca)
	demoSession(t, d, b, "alice")
	// The Lightning host has no cookie yet: one hop through the portal.
	p := b.Get(d.URL(testkit.Proxied(testkit.DemoLightHost), "/lightning/page/home"))
	if p.Status != 200 || p.URL.Hostname() != testkit.Proxied(testkit.DemoLightHost) || !strings.Contains(p.Body, "lightning-title") {
		t.Fatalf("hop to the Lightning host: %s (%d)\n%s", p.URL, p.Status, p.Body)
	}
	resp, body := download(t, b, d.URL(testkit.Proxied(testkit.DemoFileHost), "/sfc/servlet.shepherd/version/download/068000000000002"))
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, ".age") {
		t.Fatalf("protected download: %d %q", resp.StatusCode, cd)
	}
	r, err := age.Decrypt(bytes.NewReader(body), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	plain, _ := io.ReadAll(r)
	if want := demoFile(t, d, "068000000000002"); !bytes.Equal(plain, want) {
		t.Fatalf("decrypted file differs: %q vs %q", plain, demoFile(t, d, "068000000000002"))
	}
	// The PDF is not a .txt: delivered as it is.
	resp, _ = download(t, b, d.URL(testkit.Proxied(testkit.DemoFileHost), "/sfc/servlet.shepherd/version/download/068000000000001"))
	if strings.Contains(resp.Header.Get("Content-Disposition"), ".age") {
		t.Fatalf("PDF protected too: %q", resp.Header.Get("Content-Disposition"))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestFlatHostMapping: with host_mapping flat every app host is one label
// under the suffix, so one wildcard certificate serves them all.
func TestFlatHostMapping(t *testing.T) {
	d := testkit.StartDemo(t, "host_mapping: flat\n")
	b := testkit.NewBrowser(t, testkit.CasdCA(t, d.StateDir))
	const flatMy = "acme--my--demo-0salesforce--localhost.cas.localhost"
	home := demoSessionAt(t, d, b, "alice", flatMy)
	for _, l := range links(home) {
		u, err := url.Parse(l)
		if err != nil || u.Host == "" {
			continue
		}
		if h := u.Hostname(); strings.Count(h, ".") != 2 || !strings.HasSuffix(h, ".cas.localhost") {
			t.Errorf("link not flat-mapped: %s", l)
		}
	}
	// Through casd on the flat name: alice's CSV export (allowed), rewritten
	// nowhere since it is an attachment.
	resp, body := download(t, b, d.URL(flatMy, "/00O000000000001?export=1&enc=UTF-8&xf=csv"))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "report.csv") || !bytes.Contains(body, []byte(",")) {
		t.Fatalf("export on the flat host: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	// The file host has its own flat name: the session hops onto it, and
	// the app's login (its parent-domain cookie, kept in casd's jar for the
	// session) comes along: the download is decided, not a new sign-in.
	resp, body = download(t, b, d.URL("acme--file--demo-0salesforce--localhost.cas.localhost", "/sfc/servlet.shepherd/version/download/068000000000002"))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), ".blocked.txt") {
		t.Fatalf("download on the flat file host: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	// No cookie with a Domain reached the browser under the shared suffix.
	suffix, _ := url.Parse(d.URL("other.cas.localhost", "/"))
	for _, c := range b.Jar.Cookies(suffix) {
		t.Errorf("cookie %s would reach every app under the suffix", c.Name)
	}
}
