package demo

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/x509"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/cas-proxy/cas/pki"
	"github.com/crewjam/saml"
	"golang.org/x/net/html"
)

const testDomain = "demo-salesforce.localhost"

type appEnv struct {
	n   *testNet
	idp *IdP
	app *App
}

// newAppEnv serves the demo IdP and the demo app on one test listener, the
// app trusting the IdP and the IdP knowing the app under acs.
func newAppEnv(t *testing.T, acs func(*App) string) *appEnv {
	t.Helper()
	n := newTestNet(t)
	idp, cert := newTestIdPCert(t, n)
	app, err := NewApp(AppConfig{Org: "acme", Domain: testDomain, Port: n.port})
	if err != nil {
		t.Fatal(err)
	}
	app.SetIdP(idp.EntityID(), idp.SSOURL(), []*x509.Certificate{cert})
	if acs == nil {
		acs = (*App).ACSURL
	}
	if err := idp.RegisterApp("demo-salesforce", "Demo Salesforce", app.EntityID(), acs(app)); err != nil {
		t.Fatal(err)
	}
	n.handle(app.Handler(), app.Hosts()...)
	return &appEnv{n: n, idp: idp, app: app}
}

// login signs user in at the IdP's form and carries the Response to the
// app; p must be the IdP's login form.
func (e *appEnv) login(t *testing.T, c *http.Client, p page, user string) page {
	t.Helper()
	if elements(t, p.Body)["username"] == nil {
		t.Fatalf("want the IdP's login form, got %d at %s: %.300s", p.Status, p.URL, p.Body)
	}
	post := submit(t, c, p, url.Values{"username": {user}, "password": {testPasswords(user)}})
	forms := parseForms(t, post.Body)
	if len(forms) != 1 || forms[0].Fields.Get("SAMLResponse") == "" {
		t.Fatalf("want the auto-POST form, got %d: %.300s", post.Status, post.Body)
	}
	return submit(t, c, post, nil)
}

// signIn logs user in, SP-initiated from the home page, and returns the
// client and the home page.
func (e *appEnv) signIn(t *testing.T, user string) (*http.Client, page) {
	t.Helper()
	c := e.n.client(t)
	acs := e.login(t, c, follow(t, c, get(t, c, e.app.HomeURL())), user)
	if acs.Status != http.StatusSeeOther {
		t.Fatalf("ACS: status %d: %.300s", acs.Status, acs.Body)
	}
	home := follow(t, c, acs)
	if elements(t, home.Body)["home-title"] == nil {
		t.Fatalf("not on the home page after login: %d %s: %.300s", home.Status, home.URL, home.Body)
	}
	return c, home
}

func TestAppSPInitiatedLogin(t *testing.T) {
	e := newAppEnv(t, nil)
	c := e.n.client(t)
	reportURL := e.app.links().Report
	start := get(t, c, reportURL)
	if start.Status != http.StatusFound {
		t.Fatalf("report without a session: status %d, want a redirect to the IdP", start.Status)
	}
	loc, err := url.Parse(start.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.idp.SSOURL()+"?") {
		t.Fatalf("redirect to %q, want the IdP's SSO URL", start.Header.Get("Location"))
	}
	relay := loc.Query().Get("RelayState")
	if relay == "" || len(relay) > 80 || strings.Contains(relay, "00O") {
		t.Errorf("RelayState %q: want a short opaque token", relay)
	}
	req := decodeAuthnRequest(t, loc.Query().Get("SAMLRequest"))
	if req.Issuer.Value != e.app.EntityID() || req.AssertionConsumerServiceURL != e.app.ACSURL() || req.Destination != e.idp.SSOURL() {
		t.Errorf("AuthnRequest issuer %q, ACS %q, destination %q", req.Issuer.Value, req.AssertionConsumerServiceURL, req.Destination)
	}

	acs := e.login(t, c, follow(t, c, start), "bob")
	if acs.Status != http.StatusSeeOther || acs.Header.Get("Location") != reportURL {
		t.Fatalf("ACS: %d to %q, want 303 to %s: %.300s", acs.Status, acs.Header.Get("Location"), reportURL, acs.Body)
	}
	checkSessionCookies(t, acs.Header.Values("Set-Cookie"))
	report := follow(t, c, acs)
	ids := elements(t, report.Body)
	if ids["report-title"] == nil || text(ids["user-email"]) != "bob@example.com" {
		t.Errorf("landed on %s without the report for bob: %.300s", report.URL, report.Body)
	}
}

func decodeAuthnRequest(t *testing.T, v string) saml.AuthnRequest {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var req saml.AuthnRequest
	if err := xml.Unmarshal(x, &req); err != nil {
		t.Fatal(err)
	}
	return req
}

func checkSessionCookies(t *testing.T, setCookies []string) {
	t.Helper()
	var sid, browserID string
	for _, sc := range setCookies {
		switch {
		case strings.HasPrefix(sc, "sid="):
			sid = sc
		case strings.HasPrefix(sc, "BrowserId="):
			browserID = sc
		}
	}
	for _, want := range []string{"; Domain=." + testDomain + ";", "; Path=/", "; Secure", "; HttpOnly", "; SameSite=None"} {
		if !strings.Contains(sid, want) {
			t.Errorf("sid cookie %q lacks %q", sid, want)
		}
	}
	if browserID == "" || strings.Contains(browserID, "Domain=") {
		t.Errorf("BrowserId cookie %q: want a host-only cookie", browserID)
	}
}

func TestAppIdPInitiatedRelayState(t *testing.T) {
	// The IdP knows the app's ACS URL with a slash before "?"; the app
	// accepts Responses addressed so too.
	e := newAppEnv(t, func(a *App) string { return strings.Replace(a.ACSURL(), "?", "/?", 1) })
	l := e.app.links()
	tests := []struct{ relay, want string }{
		{"/lightning/page/home", l.Lightning},
		{"/00O000000000001", l.Report},
		{l.Report, l.Report},
		{"", l.Home},
		{"https://evil.example/phish", l.Home},
		{"//evil.example/phish", l.Home},
	}
	for _, tt := range tests {
		t.Run(tt.relay, func(t *testing.T) {
			c := e.n.client(t)
			acs := e.login(t, c, get(t, c, e.idp.LoginURL(e.app.EntityID(), tt.relay)), "alice")
			if acs.Status != http.StatusSeeOther || acs.Header.Get("Location") != tt.want {
				t.Errorf("ACS: %d to %q, want %s", acs.Status, acs.Header.Get("Location"), tt.want)
			}
		})
	}
}

// absoluteURLs returns every link, form action and script source of a page.
func absoluteURLs(t *testing.T, body string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, k := range []string{"href", "action", "src"} {
				if v := attr(n, k); v != "" && !strings.HasPrefix(v, "data:") {
					out = append(out, v)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func TestAppPagesLinkAppHosts(t *testing.T) {
	e := newAppEnv(t, nil)
	c, home := e.signIn(t, "alice")
	l := e.app.links()
	wantCSP := "default-src 'self' https://*." + testDomain + ":" + strconv.Itoa(e.n.port) + ";"
	for _, u := range []string{l.Home, l.Lightning, l.Files, l.Report, l.Upload, l.Streaming} {
		p := get(t, c, u)
		if p.Status != http.StatusOK {
			t.Errorf("%s: status %d", u, p.Status)
			continue
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, wantCSP) {
			t.Errorf("%s: CSP %q, want it to start with %q", u, csp, wantCSP)
		}
		if link := p.Header.Get("Link"); link != "<"+l.Script+">; rel=preload; as=script" {
			t.Errorf("%s: Link %q", u, link)
		}
		urls := absoluteURLs(t, p.Body)
		if len(urls) < 5 {
			t.Errorf("%s: only %d links", u, len(urls))
		}
		for _, link := range urls {
			pu, err := url.Parse(link)
			if err != nil || pu.Scheme != "https" || !e.app.isAppHost(pu.Hostname()) || pu.Port() != strconv.Itoa(e.n.port) {
				t.Errorf("%s: link %q is not an absolute URL on the app's hosts", u, link)
			}
		}
	}
	ids := elements(t, home.Body)
	for _, id := range []string{"home-title", "nav-files", "nav-report", "nav-upload", "nav-lightning", "nav-streaming", "nav-logout"} {
		if ids[id] == nil {
			t.Errorf("home page has no #%s", id)
		}
	}
	if got := text(ids["user-groups"]); got != "sales" {
		t.Errorf("groups on the home page = %q", got)
	}
	if cfg := text(ids["page-config"]); !strings.Contains(cfg, `https:\/\/acme.my.`) || !strings.Contains(cfg, `https:\u002F\u002Facme.lightning.`) {
		t.Errorf("page config lacks the escaped URL forms: %s", cfg)
	}
	// Lightning paths on My Domain move to the Lightning host.
	if p := get(t, c, e.app.base(e.app.myHost)+"/lightning/page/home"); p.Header.Get("Location") != l.Lightning {
		t.Errorf("My Domain /lightning/page/home redirects to %q", p.Header.Get("Location"))
	}
	// The script names the API and WebSocket on My Domain.
	js := get(t, c, l.Script)
	if !strings.Contains(js.Body, `"`+l.API+`"`) || !strings.Contains(js.Body, `"`+l.WS+`"`) {
		t.Errorf("script lacks the API and WebSocket URLs: %.300s", js.Body)
	}
}

func TestAppDownloads(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "alice")
	filesPage := get(t, c, e.app.links().Files)
	ids := elements(t, filesPage.Body)
	files := e.app.Files()
	if len(files) != 3 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			a := ids["file-"+f.ID]
			if a == nil {
				t.Fatalf("files page has no #file-%s", f.ID)
			}
			href := attr(a, "href")
			if !strings.HasPrefix(href, e.app.base(e.app.fileHost)+"/sfc/servlet.shepherd/version/download/") {
				t.Errorf("download link %q is not on the file host", href)
			}
			req, _ := http.NewRequest(http.MethodGet, href, nil)
			req.Header.Set("Accept-Encoding", "gzip, br")
			p := do(t, c, req)
			if p.Status != http.StatusOK || !bytes.Equal([]byte(p.Body), f.Content) {
				t.Fatalf("download: status %d, %d bytes, want %d exact bytes", p.Status, len(p.Body), len(f.Content))
			}
			disp, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			if err != nil || disp != "attachment" || params["filename"] != f.Name || !strings.HasPrefix(p.Header.Get("Content-Disposition"), `attachment; filename="`) {
				t.Errorf("Content-Disposition %q", p.Header.Get("Content-Disposition"))
			}
			if p.Header.Get("Content-Type") != f.MIME || p.Header.Get("Content-Encoding") != "" {
				t.Errorf("Content-Type %q, Content-Encoding %q", p.Header.Get("Content-Type"), p.Header.Get("Content-Encoding"))
			}
		})
	}
	// The text file names the app's own URL: a proxy must pass it untouched.
	if !bytes.Contains(files[1].Content, []byte(e.app.HomeURL())) {
		t.Error("the text file should carry the app's URL")
	}
	files[0].Content[0] = 'X'
	if e.app.Files()[0].Content[0] == 'X' {
		t.Error("Files returned the app's own slice")
	}
}

func TestAppCSVExport(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "bob")
	report := get(t, c, e.app.links().Report)
	a := elements(t, report.Body)["export-csv"]
	if a == nil {
		t.Fatalf("report page has no #export-csv: %.300s", report.Body)
	}
	href := attr(a, "href")
	if href != e.app.base(e.app.myHost)+"/00O000000000001?export=1&enc=UTF-8&xf=csv" {
		t.Errorf("export link = %q", href)
	}
	p := get(t, c, href)
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %q", p.Status, p.Header.Get("Content-Type"))
	}
	if cd := p.Header.Get("Content-Disposition"); cd != `attachment; filename="report.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil || len(rows) != len(reportRows) || !slices.Equal(rows[3], reportRows[3]) {
		t.Errorf("CSV rows %q, %v", rows, err)
	}
}

func multipartBody(t *testing.T, name string, content []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("title", "ignored")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(content)
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func TestAppUpload(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "alice")
	form := get(t, c, e.app.links().Upload)
	forms := parseForms(t, form.Body)
	ids := elements(t, form.Body)
	if len(forms) != 1 || ids["upload-file"] == nil || ids["upload-submit"] == nil {
		t.Fatalf("upload page: %.400s", form.Body)
	}
	action := forms[0].Action
	if action != e.app.base(e.app.fileHost)+"/sfc/servlet.shepherd/upload" || forms[0].Method != http.MethodPost {
		t.Errorf("upload form: %s %s", forms[0].Method, action)
	}
	content := []byte("card 4111 1111 1111 1111\n")
	ctype, body := multipartBody(t, "plan.txt", content)

	// Without a session the upload is not recorded.
	stranger := e.n.client(t)
	req, _ := http.NewRequest(http.MethodPost, action, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if p := do(t, stranger, req); p.Status != http.StatusFound || !strings.HasPrefix(p.Header.Get("Location"), e.idp.SSOURL()) {
		t.Errorf("upload without a session: %d to %q", p.Status, p.Header.Get("Location"))
	}

	req, _ = http.NewRequest(http.MethodPost, action, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	p := do(t, c, req)
	result := elements(t, p.Body)["upload-result"]
	if p.Status != http.StatusOK || result == nil || text(result) != "Uploaded plan.txt (25 bytes)" {
		t.Fatalf("upload: %d: %.400s", p.Status, p.Body)
	}
	ups := e.app.Uploads()
	if len(ups) != 1 || ups[0].Name != "plan.txt" || !bytes.Equal(ups[0].Content, content) {
		t.Fatalf("Uploads() = %+v", ups)
	}
	// The upload can be downloaded back from the files page.
	files := get(t, c, e.app.links().Files)
	link := elements(t, files.Body)["file-"+ups[0].ID]
	if link == nil {
		t.Fatalf("files page does not list the upload")
	}
	if back := get(t, c, attr(link, "href")); back.Body != string(content) {
		t.Errorf("downloaded upload = %q", back.Body)
	}
}

func TestAppCompression(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "alice")
	l := e.app.links()
	decoders := map[string]func(io.Reader) (io.Reader, error){
		"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	for _, u := range []string{l.Home, l.API, l.Script} {
		plain := get(t, c, u)
		if plain.Header.Get("Content-Encoding") != "" || plain.Status != http.StatusOK {
			t.Fatalf("%s without Accept-Encoding: %d, encoded %q", u, plain.Status, plain.Header.Get("Content-Encoding"))
		}
		for _, tt := range []struct{ accept, want string }{
			{"gzip", "gzip"}, {"gzip, deflate, br, zstd", "br"}, {"br;q=0, gzip", "gzip"}, {"identity", ""},
		} {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("Accept-Encoding", tt.accept)
			p := do(t, c, req)
			if got := p.Header.Get("Content-Encoding"); got != tt.want {
				t.Errorf("%s, Accept-Encoding %q: Content-Encoding %q, want %q", u, tt.accept, got, tt.want)
				continue
			}
			body := p.Body
			if tt.want != "" {
				r, err := decoders[tt.want](strings.NewReader(p.Body))
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("%s: decode %s: %v", u, tt.want, err)
				}
				body = string(b)
			}
			if body != plain.Body {
				t.Errorf("%s: %s body differs from the plain one", u, tt.accept)
			}
		}
	}
}

func TestAppAccountsAPI(t *testing.T) {
	e := newAppEnv(t, nil)
	c, _ := e.signIn(t, "alice")
	l := e.app.links()
	origin := e.app.base(e.app.lightHost)
	req, _ := http.NewRequest(http.MethodGet, l.API, nil)
	req.Header.Set("Origin", origin)
	p := do(t, c, req)
	if p.Status != http.StatusOK || p.Header.Get("Access-Control-Allow-Origin") != origin || p.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("API: %d, CORS %q %q", p.Status, p.Header.Get("Access-Control-Allow-Origin"), p.Header.Get("Access-Control-Allow-Credentials"))
	}
	for _, form := range []string{`"https://acme.my.`, `"https:\/\/acme.lightning.`, `"https:\u002F\u002Facme.file.`} {
		if !strings.Contains(p.Body, form) {
			t.Errorf("API body lacks %s", form)
		}
	}
	var data struct {
		TotalSize int
		Records   []struct{ Id, Name, Website, LightningUrl, PhotoUrl string }
	}
	if err := json.Unmarshal([]byte(p.Body), &data); err != nil {
		t.Fatalf("API body is not JSON: %v", err)
	}
	if data.TotalSize != 3 || len(data.Records) != 3 {
		t.Fatalf("API: %+v", data)
	}
	r := data.Records[0]
	if r.Website != e.app.base(e.app.myHost)+"/001000000000001" ||
		r.LightningUrl != origin+"/lightning/r/Account/001000000000001/view" ||
		!strings.HasPrefix(r.PhotoUrl, e.app.base(e.app.fileHost)+"/") {
		t.Errorf("record URLs: %+v", r)
	}
	if acc := get(t, c, r.LightningUrl); text(elements(t, acc.Body)["account-title"]) != "Acme Corp" {
		t.Errorf("record page: %d %.200s", acc.Status, acc.Body)
	}

	// Another origin gets no CORS grant; no session gets Salesforce's 401.
	req, _ = http.NewRequest(http.MethodGet, l.API, nil)
	req.Header.Set("Origin", "https://evil.example")
	if p := do(t, c, req); p.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS granted to another origin")
	}
	if p := get(t, e.n.client(t), l.API); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "INVALID_SESSION_ID") {
		t.Errorf("API without a session: %d %s", p.Status, p.Body)
	}
}

func TestAppRefusesBadResponses(t *testing.T) {
	e := newAppEnv(t, nil)
	// An IdP with the same entity ID but another key: its signature must
	// not be accepted.
	impostor, _ := newSigner(t, "impostor")

	c := e.n.client(t)
	form := get(t, c, e.idp.LoginURL(e.app.EntityID(), ""))
	post := submit(t, c, form, url.Values{"username": {"alice"}, "password": {testPasswords("alice")}})
	fields := parseForms(t, post.Body)[0].Fields
	raw, _ := base64.StdEncoding.DecodeString(fields.Get("SAMLResponse"))

	tampered := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(">sales<"), []byte(">admins<"), 1))}}
	if !bytes.Contains(raw, []byte(">sales<")) {
		t.Fatal("Response does not carry the sales group")
	}
	if p := postForm(t, c, e.app.ACSURL(), tampered); p.Status != http.StatusForbidden {
		t.Errorf("tampered Response: status %d", p.Status)
	}
	if p := postForm(t, c, e.app.ACSURL(), fields); p.Status != http.StatusSeeOther {
		t.Fatalf("genuine Response: status %d: %.300s", p.Status, p.Body)
	}
	if p := postForm(t, e.n.client(t), e.app.ACSURL(), fields); p.Status != http.StatusForbidden {
		t.Errorf("replayed Response: status %d", p.Status)
	}
	if p := postForm(t, c, e.app.ACSURL(), url.Values{"SAMLResponse": {"%%%"}}); p.Status != http.StatusBadRequest {
		t.Errorf("garbage Response: status %d", p.Status)
	}

	// A Response signed by a key the app was not given.
	other := e.n.client(t)
	e.app.SetIdP(e.idp.EntityID(), e.idp.SSOURL(), []*x509.Certificate{impostor})
	form = get(t, other, e.idp.LoginURL(e.app.EntityID(), ""))
	if p := e.login(t, other, form, "bob"); p.Status != http.StatusForbidden {
		t.Errorf("Response signed with an unknown key: status %d", p.Status)
	}
}

func TestAppWithoutIdP(t *testing.T) {
	app, err := NewApp(AppConfig{Org: "acme", Domain: testDomain, Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	if app.EntityID() != "https://acme.my."+testDomain || app.ACSURL() != "https://acme.my."+testDomain+"?so="+OrgID {
		t.Errorf("EntityID %s, ACSURL %s", app.EntityID(), app.ACSURL())
	}
	if !slices.Equal(app.Hosts(), []string{"acme.my." + testDomain, "acme.lightning." + testDomain, "acme.file." + testDomain}) {
		t.Errorf("Hosts = %v", app.Hosts())
	}
	tests := []struct {
		host, path string
		status     int
	}{
		{"acme.my." + testDomain, "/home/home.jsp", http.StatusServiceUnavailable},
		{"acme.lightning." + testDomain + ":443", "/lightning/page/home", http.StatusServiceUnavailable},
		{"acme.my." + testDomain, "/nope", http.StatusNotFound},
		{"other.my." + testDomain, "/home/home.jsp", http.StatusNotFound},
		{"acme.file." + testDomain, "/home/home.jsp", http.StatusNotFound},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, "https://"+tt.host+tt.path, nil)
		w := httptest.NewRecorder()
		app.Handler().ServeHTTP(w, req)
		if w.Code != tt.status {
			t.Errorf("%s%s: status %d, want %d", tt.host, tt.path, w.Code, tt.status)
		}
	}
	for _, cfg := range []AppConfig{
		{Org: "", Domain: testDomain, Port: 1},
		{Org: "Acme!", Domain: testDomain, Port: 1},
		{Org: "acme", Domain: "localhost", Port: 1},
		{Org: "acme", Domain: testDomain, Port: 0},
		{Org: "acme", Domain: "a..b", Port: 8443},
	} {
		if _, err := NewApp(cfg); err == nil {
			t.Errorf("NewApp(%+v) succeeded", cfg)
		}
	}
	md, err := app.SPMetadataXML()
	if err != nil || !bytes.Contains(md, []byte(`Location="https://acme.my.`+testDomain+`?so=`+OrgID+`"`)) {
		t.Errorf("SP metadata: %v: %s", err, md)
	}
}

func TestAppLogout(t *testing.T) {
	e := newAppEnv(t, nil)
	c, home := e.signIn(t, "alice")
	logout := elements(t, home.Body)["nav-logout"]
	p := get(t, c, attr(logout, "href"))
	if elements(t, p.Body)["logout-title"] == nil {
		t.Fatalf("logout page: %.300s", p.Body)
	}
	if again := get(t, c, e.app.HomeURL()); again.Status != http.StatusFound || !strings.HasPrefix(again.Header.Get("Location"), e.idp.SSOURL()) {
		t.Errorf("home after logout: %d to %q, want the IdP", again.Status, again.Header.Get("Location"))
	}
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestAppUsesInjectedClock runs a login years from now: it works only if
// the IdP dates its Response, and the app checks it and its sessions, by
// the injected clock.
func TestAppUsesInjectedClock(t *testing.T) {
	clk := &testClock{t: time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)}
	n := newTestNet(t)
	certPEM, keyPEM, _, err := pki.NewSigningCert("future idp", 2048, 24*time.Hour, clk.now())
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := pki.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	idp, err := NewIdP(IdPConfig{BaseURL: n.base(idpHost), Users: DefaultUsers(testPasswords), Key: key, Cert: cert, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	app, err := NewApp(AppConfig{Org: "acme", Domain: testDomain, Port: n.port, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	app.SetIdP(idp.EntityID(), idp.SSOURL(), []*x509.Certificate{idp.Certificate()})
	if err := idp.AddServiceProvider(app.EntityID(), app.ACSURL()); err != nil {
		t.Fatal(err)
	}
	n.handle(idp.Handler(), idpHost)
	n.handle(app.Handler(), app.Hosts()...)

	c := n.client(t)
	form := follow(t, c, get(t, c, app.HomeURL()))
	post := submit(t, c, form, url.Values{"username": {"alice"}, "password": {testPasswords("alice")}})
	response := parseForms(t, post.Body)[0].Fields
	if acs := submit(t, c, post, nil); acs.Status != http.StatusSeeOther {
		t.Fatalf("ACS at the injected time: %d: %.300s", acs.Status, acs.Body)
	}
	if home := get(t, c, app.HomeURL()); home.Status != http.StatusOK {
		t.Fatalf("home: %d", home.Status)
	}

	clk.add(3 * time.Hour) // past the app's 2 h idle timeout
	if home := get(t, c, app.HomeURL()); home.Status != http.StatusFound || !strings.HasPrefix(home.Header.Get("Location"), idp.SSOURL()) {
		t.Errorf("home after 3 h: %d to %q, want a new login", home.Status, home.Header.Get("Location"))
	}
	if p := postForm(t, n.client(t), app.ACSURL(), response); p.Status != http.StatusForbidden {
		t.Errorf("a 3 h old Response: status %d, want 403", p.Status)
	}
	// The IdP's own session (8 h) still holds: the new login needs no form.
	again := follow(t, c, get(t, c, app.HomeURL()))
	if fs := parseForms(t, again.Body); len(fs) != 1 || fs[0].Fields.Get("SAMLResponse") == "" {
		t.Fatalf("want a Response straight from the IdP session: %.300s", again.Body)
	}
	if acs := submit(t, c, again, nil); acs.Status != http.StatusSeeOther {
		t.Errorf("second login: %d", acs.Status)
	}
}

func TestAttachment(t *testing.T) {
	tests := []struct{ name, want string }{
		{"Q3-Forecast.pdf", `attachment; filename="Q3-Forecast.pdf"`},
		{"report.csv", `attachment; filename="report.csv"`},
		{"plan 2027.txt", `attachment; filename="plan 2027.txt"`},
		{`say "hi".txt`, `attachment; filename="say \"hi\".txt"`},
		{"Präsentation.pdf", `attachment; filename*=utf-8''Pr%C3%A4sentation.pdf`},
	}
	for _, tt := range tests {
		got := attachment(tt.name)
		if got != tt.want {
			t.Errorf("attachment(%q) = %s, want %s", tt.name, got, tt.want)
		}
		if _, params, err := mime.ParseMediaType(got); err != nil || params["filename"] != tt.name {
			t.Errorf("attachment(%q) parses back as %q, %v", tt.name, params["filename"], err)
		}
	}
}
