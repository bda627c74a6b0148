package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

var testApp = api.App{
	Name: "sf", Template: "salesforce", IdP: "corp", EntityID: "https://acme.my.salesforce.com", ACSURL: "https://acme.my.salesforce.com/?so=00D",
	Domains: []string{"acme.my.salesforce.com"}, ProxyACSURL: "https://cas.localhost:8443/saml/sf/acs", ProxySSOURL: "https://cas.localhost:8443/saml/sf/sso",
	IdPInitiated: true, MonitorNotice: "Your access to Salesforce is monitored",
	Keys: []api.AppKey{
		{Serial: "01", Retired: false, Active: false, NotBefore: time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), CertPEM: "old", Fingerprint: "aa"},
		{Serial: "02", Active: true, NotBefore: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 11, 1, 0, 0, 0, 0, time.UTC), CertPEM: testPEM, Fingerprint: "bb"},
	},
	CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
}

func TestAppOnboard(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/apps", http.StatusCreated, api.Onboarded{App: testApp, Steps: []string{
		"In the IdP corp, set the reply URL of the app to https://cas.localhost:8443/saml/sf/acs",
		"In Salesforce, set the IdP login URL to https://cas.localhost:8443/saml/sf/sso",
	}})
	certOut := filepath.Join(t.TempDir(), "sf.crt")
	r := run(t, fake.socket, "app", "onboard", "salesforce", "--name", "sf", "--idp", "corp", "--domain", "acme.my.salesforce.com", "--sign-requests", "--cert-out", certOut)
	wantCode(t, r, ExitOK)
	want := `Onboarded app sf (template salesforce, IdP corp)
Replacement certificate: serial 02, valid to 2027-11-01T00:00:00Z, SHA-256 bb
Wrote the certificate to ` + certOut + `

Next steps:
  1. In the IdP corp, set the reply URL of the app to https://cas.localhost:8443/saml/sf/acs
  2. In Salesforce, set the IdP login URL to https://cas.localhost:8443/saml/sf/sso
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	if got, _ := os.ReadFile(certOut); string(got) != testPEM {
		t.Errorf("cert-out = %q", got)
	}
	var req api.OnboardRequest
	fake.only("POST", "/v0/apps").Decode(t, &req)
	wantReq := api.OnboardRequest{Template: "salesforce", Name: "sf", IdP: "corp", Domains: []string{"acme.my.salesforce.com"}, SignRequests: true}
	if !reflect.DeepEqual(req, wantReq) {
		t.Errorf("request = %+v, want %+v", req, wantReq)
	}
}

func TestAppOnboardSPMetadataAndUsage(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/apps", http.StatusCreated, api.Onboarded{App: testApp})
	md := filepath.Join(t.TempDir(), "sp.xml")
	os.WriteFile(md, []byte("<EntityDescriptor/>"), 0o644)
	r := run(t, fake.socket, "app", "onboard", "custom", "--name", "wiki", "--idp", "corp", "--sp-metadata", md, "--json")
	wantCode(t, r, ExitOK)
	var ob api.Onboarded
	if err := json.Unmarshal([]byte(r.Stdout), &ob); err != nil || ob.App.Name != "sf" {
		t.Errorf("--json: %v %+v", err, ob)
	}
	var req api.OnboardRequest
	fake.only("POST", "/v0/apps").Decode(t, &req)
	if req.SPMetadata != "<EntityDescriptor/>" {
		t.Errorf("sp metadata = %q", req.SPMetadata)
	}
	for _, args := range [][]string{
		{"app", "onboard", "custom", "--idp", "corp"},
		{"app", "onboard", "custom", "--name", "x"},
		{"app", "onboard", "custom", "--name", "x", "--idp", "corp", "--sp-metadata", md, "--entity-id", "e"},
		{"app", "onboard", "--name", "x", "--idp", "corp"},
	} {
		wantCode(t, run(t, fake.socket, args...), ExitUsage)
	}
}

func TestAppOnboardUnknownIdP(t *testing.T) {
	fake := newFakeCasd(t)
	fake.fail("POST /v0/apps", http.StatusBadRequest, api.CodeInvalid, `idp: no IdP named "nope"`)
	certOut := filepath.Join(t.TempDir(), "sf.crt")
	r := run(t, fake.socket, "app", "onboard", "salesforce", "--name", "sf", "--idp", "nope", "--cert-out", certOut)
	wantCode(t, r, ExitError)
	if r.Stderr != "cas: idp: no IdP named \"nope\"\n" {
		t.Errorf("stderr = %q", r.Stderr)
	}
	if _, err := os.Stat(certOut); !os.IsNotExist(err) {
		t.Errorf("a certificate file was written for a failed onboarding")
	}
}

func TestAppListShowCatalog(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/apps", http.StatusOK, []api.App{testApp})
	fake.reply("GET /v0/apps/sf", http.StatusOK, testApp)
	fake.reply("GET /v0/catalog", http.StatusOK, []api.Template{
		{Name: "custom", DisplayName: "Custom SAML app", Description: "Any SAML 2.0 app"},
		{Name: "salesforce", DisplayName: "Salesforce", Domains: []string{"*.my.salesforce.com", "*.force.com", "*.visualforce.com"}, Description: "Salesforce CRM"},
	})
	r := run(t, fake.socket, "app", "list")
	if want := "NAME  TEMPLATE    IDP   DOMAINS                 CERT EXPIRES\nsf    salesforce  corp  acme.my.salesforce.com  2027-11-01\n"; r.Stdout != want {
		t.Errorf("list:\n%s", diff(r.Stdout, want))
	}
	r = run(t, fake.socket, "app", "catalog")
	want := `TEMPLATE    NAME             DOMAINS                                    DESCRIPTION
custom      Custom SAML app  -                                          Any SAML 2.0 app
salesforce  Salesforce       *.my.salesforce.com,*.force.com (+1 more)  Salesforce CRM
`
	if r.Stdout != want {
		t.Errorf("catalog:\n%s", diff(r.Stdout, want))
	}
	r = run(t, fake.socket, "app", "show", "sf")
	for _, line := range []string{
		"Proxy ACS URL:             https://cas.localhost:8443/saml/sf/acs\n",
		"Monitor notice:            Your access to Salesforce is monitored\n",
		"Certificate:               serial 01 (standby)\n",
		"Certificate:               serial 02 (active)\n",
	} {
		if !strings.Contains(r.Stdout, line) {
			t.Errorf("show lacks %q:\n%s", line, r.Stdout)
		}
	}
}

func TestAppSetFlags(t *testing.T) {
	tr, fa := true, false
	notice, off := "Monitored by IT", ""
	tests := []struct {
		name    string
		args    []string
		want    api.AppPatch
		wantErr string
	}{
		{name: "patterns and bools", args: []string{"sf", "--download-pattern", "^/a,b/", "--download-pattern", "^/c", "--export-pattern", "x", "--upload-pattern", "y", "--idp-initiated=false", "--sign-requests"},
			want: api.AppPatch{AddDownloadPatterns: []string{"^/a,b/", "^/c"}, AddExportPatterns: []string{"x"}, AddUploadPatterns: []string{"y"}, IdPInitiated: &fa, SignRequests: &tr}},
		{name: "notice", args: []string{"sf", "--monitor-notice", "Monitored by IT"}, want: api.AppPatch{MonitorNotice: &notice}},
		{name: "no notice", args: []string{"sf", "--no-monitor-notice", "--require-signed-assertion", "--sign-response=false"},
			want: api.AppPatch{MonitorNotice: &off, RequireSignedAssertion: &tr, SignResponse: &fa}},
		{name: "nothing", args: []string{"sf"}, wantErr: "nothing to change"},
		{name: "both notices", args: []string{"sf", "--monitor-notice", "x", "--no-monitor-notice"}, wantErr: "cannot be used together"},
		{name: "empty notice", args: []string{"sf", "--monitor-notice", " "}, wantErr: "--monitor-notice needs a text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := testFactory("")
			var got *AppSetOptions
			err := execCmd(newCmdAppSet(f, func(o *AppSetOptions) error { got = o; return nil }), tt.args...)
			if tt.wantErr != "" {
				if !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gj, _ := json.Marshal(got.Patch)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Errorf("patch:\n%s", diff(string(gj), string(wj)))
			}
		})
	}
}

func TestAppSetSendsPatch(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("PATCH /v0/apps/sf", http.StatusOK, testApp)
	r := run(t, fake.socket, "app", "set", "sf", "--no-monitor-notice")
	wantCode(t, r, ExitOK)
	if r.Stdout != "Updated app sf\n" {
		t.Errorf("stdout = %q", r.Stdout)
	}
	body := string(fake.only("PATCH", "/v0/apps/sf").Body)
	if strings.TrimSpace(body) != `{"monitor_notice":""}` {
		t.Errorf("body = %s", body)
	}
}

func TestAppMetadataAndCerts(t *testing.T) {
	fake := newFakeCasd(t)
	fake.mux.HandleFunc("GET /v0/apps/sf/metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<EntityDescriptor for=\"" + r.URL.Query().Get("for") + "\"/>"))
	})
	rotated := testApp
	rotated.Keys = append([]api.AppKey{{Serial: "00", Retired: true, NotBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}, testApp.Keys...)
	rotated.Keys = append(rotated.Keys, api.AppKey{Serial: "03", NotBefore: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC), CertPEM: "new", Fingerprint: "cc"})
	fake.reply("POST /v0/apps/sf/cert/rotate", http.StatusOK, rotated)
	fake.reply("POST /v0/apps/sf/cert/retire", http.StatusOK, testApp)

	r := run(t, fake.socket, "app", "metadata", "sf", "--for", "idp")
	if r.Stdout != "<EntityDescriptor for=\"idp\"/>\n" {
		t.Errorf("metadata = %q", r.Stdout)
	}
	wantCode(t, run(t, fake.socket, "app", "metadata", "sf"), ExitUsage)
	wantCode(t, run(t, fake.socket, "app", "metadata", "sf", "--for", "sp"), ExitUsage)

	certOut := filepath.Join(t.TempDir(), "new.crt")
	r = run(t, fake.socket, "app", "cert", "rotate", "sf", "--cert-out", certOut)
	wantCode(t, r, ExitOK)
	want := `New certificate for sf: serial 03, valid to 2027-11-27T00:00:00Z, SHA-256 cc
Wrote it to ` + certOut + `
Add it to the app as an IdP signing certificate.
casd signs with serial 02 until you retire it: cas app cert retire sf --serial 02
`
	if r.Stdout != want {
		t.Errorf("rotate:\n%s", diff(r.Stdout, want))
	}
	if got, _ := os.ReadFile(certOut); string(got) != "new\n" {
		t.Errorf("cert-out = %q", got)
	}
	r = run(t, fake.socket, "app", "cert", "retire", "sf", "--serial", "01")
	wantCode(t, r, ExitOK)
	var req api.RetireRequest
	fake.only("POST", "/v0/apps/sf/cert/retire").Decode(t, &req)
	if req.Serial != "01" || r.Stdout != "Retired certificate 01 of app sf\n" {
		t.Errorf("retire: %+v %q", req, r.Stdout)
	}
	wantCode(t, run(t, fake.socket, "app", "cert", "retire", "sf"), ExitUsage)
}

func TestSessions(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/sessions", http.StatusOK, []api.Session{{
		ID: "s1", App: "sf", User: "alice@example.com", Device: "managed", IP: "203.0.113.9",
		LastSeen: time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 12, 11, 0, 0, 0, 0, time.UTC),
	}})
	fake.reply("POST /v0/sessions:revoke", http.StatusOK, api.RevokeResult{Revoked: 3})

	r := run(t, fake.socket, "session", "list", "--app", "sf", "--user", "alice@example.com")
	want := `ID  APP  USER               DEVICE   IP           LAST SEEN             EXPIRES               REVOKED
s1  sf   alice@example.com  managed  203.0.113.9  2026-11-27T11:00:00Z  2026-12-11T00:00:00Z  no
`
	if r.Stdout != want {
		t.Errorf("list:\n%s", diff(r.Stdout, want))
	}
	if q := fake.only("GET", "/v0/sessions").RawQuery; q != "app=sf&user=alice%40example.com" {
		t.Errorf("query = %q", q)
	}
	r = run(t, fake.socket, "session", "revoke", "--user", "alice@example.com")
	wantCode(t, r, ExitOK)
	if r.Stdout != "Revoked 3 session(s)\n" {
		t.Errorf("revoke = %q", r.Stdout)
	}
	var req api.RevokeRequest
	fake.only("POST", "/v0/sessions:revoke").Decode(t, &req)
	if req != (api.RevokeRequest{User: "alice@example.com"}) {
		t.Errorf("request = %+v", req)
	}
	for _, args := range [][]string{
		{"session", "revoke"},
		{"session", "revoke", "s1", "--app", "sf"},
		{"session", "revoke", "s1", "s2"},
	} {
		wantCode(t, run(t, fake.socket, args...), ExitUsage)
	}
}

func TestTLSCAExport(t *testing.T) {
	fake := newFakeCasd(t)
	fake.replyText("GET /v0/tls/ca", strings.TrimSuffix(testPEM, "\n"))
	r := run(t, fake.socket, "tls", "ca", "export")
	wantCode(t, r, ExitOK)
	if r.Stdout != testPEM {
		t.Errorf("stdout:\n%s", diff(r.Stdout, testPEM))
	}
}

func TestCompletionCommand(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		r := run(t, "/nonexistent.sock", "completion", sh)
		wantCode(t, r, ExitOK)
		if !strings.Contains(r.Stdout, "cas") || len(r.Stdout) < 500 {
			t.Errorf("%s: short script:\n%s", sh, r.Stdout)
		}
	}
	wantCode(t, run(t, "/nonexistent.sock", "completion", "tcsh"), ExitUsage)
	wantCode(t, run(t, "/nonexistent.sock", "completion"), ExitUsage)
}

func TestDynamicCompletionListsNames(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/idps", http.StatusOK, []api.IdP{{Name: "corp"}, {Name: "okta"}})
	r := run(t, fake.socket, "__complete", "idp", "show", "")
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.Stdout, "corp\nokta\n:4\n") {
		t.Errorf("completion:\n%s", r.Stdout)
	}
	// Without casd there are no suggestions and no error.
	r = run(t, filepath.Join(t.TempDir(), "no.sock"), "__complete", "idp", "show", "")
	if r.Code != ExitOK || !strings.HasPrefix(r.Stdout, ":4\n") {
		t.Errorf("completion without casd: %+v", r)
	}
}
