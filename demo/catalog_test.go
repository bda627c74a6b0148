package demo

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/cas-proxy/cas/catalog"
)

// TestCatalogTemplateFitsApp checks that catalog/templates/demo-salesforce.yaml
// describes this app: its hosts, SAML URL shapes and activity patterns.
func TestCatalogTemplateFitsApp(t *testing.T) {
	tpl, ok := catalog.Lookup("demo-salesforce")
	if !ok {
		t.Fatal("no demo-salesforce template in the catalog")
	}
	app, err := NewApp(AppConfig{Org: "acme", Domain: "demo-salesforce.localhost", Port: 8443})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range app.Hosts() {
		if !tpl.MatchHost(h) {
			t.Errorf("template does not match host %s", h)
		}
	}
	if tpl.MatchHost("idp.demo.localhost") || tpl.MatchHost("cas.localhost") {
		t.Error("template matches a host that is not the app's")
	}
	vars := map[string]string{"domain": "acme.my.demo-salesforce.localhost:8443", "org_id": OrgID}
	if got, err := catalog.Expand(tpl.EntityID, vars); err != nil || got != app.EntityID() {
		t.Errorf("entity ID shape gives %q (%v), app says %q", got, err, app.EntityID())
	}
	acs, err := catalog.Expand(tpl.ACSURL, vars)
	// Exactly: casd refuses an AuthnRequest whose ACS URL differs from the
	// app's configured one.
	if err != nil || acs != app.ACSURL() {
		t.Errorf("ACS shape gives %q (%v), app says %q", acs, err, app.ACSURL())
	}

	p, err := tpl.Compile()
	if err != nil {
		t.Fatal(err)
	}
	l := app.links()
	tests := []struct {
		method, url, want string
	}{
		{http.MethodGet, l.Home, ""},
		{http.MethodGet, l.Files, ""},
		{http.MethodGet, l.Report, ""},
		{http.MethodGet, l.API, ""},
		{http.MethodGet, l.Upload, ""},
		{http.MethodPost, app.ACSURL(), ""},
		{http.MethodGet, l.Export, catalog.ActivityExport},
		{http.MethodPost, l.UploadAction, catalog.ActivityUpload},
	}
	for _, f := range app.Files() {
		tests = append(tests, struct{ method, url, want string }{http.MethodGet, app.fileRows([]File{f})[0].URL, catalog.ActivityDownload})
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Classify(tt.method, u.RequestURI()); got != tt.want {
			t.Errorf("%s %s classified %q, want %q", tt.method, u.RequestURI(), got, tt.want)
		}
	}
}
