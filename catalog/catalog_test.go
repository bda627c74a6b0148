package catalog

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestTemplates(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	ts := Templates()
	var names []string
	for _, tpl := range ts {
		names = append(names, tpl.Name)
		if err := tpl.Validate(); err != nil {
			t.Errorf("%s: %v", tpl.Name, err)
		}
		if _, err := tpl.Compile(); err != nil {
			t.Errorf("%s: Compile: %v", tpl.Name, err)
		}
	}
	for _, want := range []string{"custom", "salesforce"} {
		if _, ok := Lookup(want); !ok {
			t.Errorf("template %q missing (have %v)", want, names)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i-1] >= names[i] {
			t.Errorf("templates not sorted by name: %v", names)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestTemplatesAreCopies(t *testing.T) {
	sf, _ := Lookup("salesforce")
	sf.Domains[0] = "evil.example.com"
	sf.Download = nil
	again, _ := Lookup("salesforce")
	if again.Domains[0] == "evil.example.com" || len(again.Download) == 0 {
		t.Fatal("a caller's change leaked into the catalog")
	}
}

func TestCustomTemplate(t *testing.T) {
	c, ok := Lookup("custom")
	if !ok {
		t.Fatal("no custom template")
	}
	if len(c.Domains) != 0 || c.EntityID != "" || c.ACSURL != "" {
		t.Errorf("custom template should leave domains and SAML URLs to the admin: %+v", c)
	}
	if c.MatchHost("anything.example.com") {
		t.Error("custom template matched a host")
	}
	p, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Classify("GET", "/sfc/servlet.shepherd/version/download/0685e00000AbCdE"); got != "" {
		t.Errorf("custom template classified a request as %q", got)
	}
}

func TestSalesforceShapes(t *testing.T) {
	sf, _ := Lookup("salesforce")
	vars := map[string]string{"domain": "acme.my.salesforce.com", "org_id": "00D5e000000AbCd"}
	entity, err := Expand(sf.EntityID, vars)
	if err != nil || entity != "https://acme.my.salesforce.com" {
		t.Errorf("entity ID = %q, %v", entity, err)
	}
	acs, err := Expand(sf.ACSURL, vars)
	if err != nil || acs != "https://acme.my.salesforce.com?so=00D5e000000AbCd" {
		t.Errorf("ACS URL = %q, %v", acs, err)
	}
	if _, err := Expand(sf.ACSURL, map[string]string{"domain": "acme.my.salesforce.com"}); err == nil || !strings.Contains(err.Error(), "{org_id}") {
		t.Errorf("missing org_id: error %v", err)
	}
	if !sf.SignAssertion || !sf.IdPInitiated {
		t.Errorf("salesforce signing/initiation flags: %+v", sf)
	}
}

func TestSalesforceDomains(t *testing.T) {
	sf, _ := Lookup("salesforce")
	tests := []struct {
		host string
		want bool
	}{
		{"acme.my.salesforce.com", true},
		{"ACME.My.Salesforce.com.", true},
		{"acme--dev.sandbox.my.salesforce.com", true},
		{"acme.lightning.force.com", true},
		{"acme--c.vf.force.com", true},
		{"acme--c.visualforce.com", true},
		{"acme.file.force.com", true},
		{"c.na1.content.force.com", true},
		{"acme--c.documentforce.com", true},
		{"acme.my.salesforce-setup.com", true},
		{"my.salesforce.com", false},
		{"login.salesforce.com", false},
		{"help.salesforce.com", false},
		{"acme.my.site.com", false},
		{"acme.force.com", false},
		{"acme.my.salesforce.com.evil.example", false},
		{"evilmy.salesforce.com", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := sf.MatchHost(tt.host); got != tt.want {
				t.Fatalf("MatchHost(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestSalesforcePatterns(t *testing.T) {
	sf, _ := Lookup("salesforce")
	p, err := sf.Compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		uri    string
		want   string
	}{
		// Downloads.
		{"file version download", "GET", "/sfc/servlet.shepherd/version/download/0685e00000AbCdEAAV?asPdf=false&operationContext=CHATTER", ActivityDownload},
		{"file document download", "GET", "/sfc/servlet.shepherd/document/download/0695e00000XyZwQAAV?operationContext=S1", ActivityDownload},
		{"experience site file download", "GET", "/sfsites/c/sfc/servlet.shepherd/version/download/0685e00000AbCdE", ActivityDownload},
		{"classic attachment", "GET", "/servlet/servlet.FileDownload?file=00P5e00000AbCdEEAV", ActivityDownload},
		{"attachment lower case", "GET", "/servlet/servlet.filedownload?file=00P5e00000AbCdE", ActivityDownload},
		{"rest version data", "GET", "/services/data/v61.0/sobjects/ContentVersion/0685e00000AbCdEAAV/VersionData", ActivityDownload},
		{"rest attachment body", "GET", "/services/data/v59.0/sobjects/Attachment/00P5e00000AbCdE/Body", ActivityDownload},
		{"connect file content", "GET", "/services/data/v61.0/connect/files/0695e00000XyZwQAAV/content?versionNumber=2", ActivityDownload},
		// Exports.
		{"classic report csv", "GET", "/00O5e000008AbCd?export=1&enc=UTF-8&xf=csv", ActivityExport},
		{"report xls from console", "GET", "/00O5e000008AbCdEAK?isdtp=p1&export=1&enc=UTF-8&xf=xls", ActivityExport},
		{"report xlsx format first", "POST", "/00O5e000008AbCd?xf=xlsx&enc=UTF-8&export=1", ActivityExport},
		{"printable view", "GET", "/servlet/PrintableViewDownloadServlet?isdtp=p1&reportId=00O5e000008AbCd", ActivityExport},
		{"data export file", "GET", "/servlet/servlet.OrgExport?fileName=WE_00D5e0000001234_1.ZIP&id=0925e000000AbCd", ActivityExport},
		{"bulk query results", "GET", "/services/data/v61.0/jobs/query/7505e00000AbCdEAAV/results?maxRecords=50000", ActivityExport},
		// Uploads.
		{"rest content version create", "POST", "/services/data/v61.0/sobjects/ContentVersion", ActivityUpload},
		{"rest attachment create", "POST", "/services/data/v58.0/sobjects/Attachment/", ActivityUpload},
		{"chatter file upload", "POST", "/services/data/v61.0/connect/files/users/me", ActivityUpload},
		{"shepherd upload", "POST", "/sfc/servlet.shepherd/version/upload?operationContext=S1", ActivityUpload},
		{"bulk ingest", "PUT", "/services/data/v61.0/jobs/ingest/7505e00000AbCdEAAV/batches", ActivityUpload},
		{"classic attach", "POST", "/p/attach/NoteAttach?pid=0015e00000AbCdE&retURL=%2F0015e00000AbCdE", ActivityUpload},
		// Not classified.
		{"record page", "GET", "/lightning/r/Account/0015e00000AbCdEAAV/view", ""},
		{"report view", "GET", "/00O5e000008AbCd", ""},
		{"export options page without format", "GET", "/00O5e000008AbCd?export=1", ""},
		{"console page with isdtp", "GET", "/0015e00000AbCdE?isdtp=p1", ""},
		{"export=10 is not export=1", "GET", "/00O5e000008AbCd?export=10&xf=csv", ""},
		{"xf=pdf", "GET", "/00O5e000008AbCd?export=1&xf=pdf", ""},
		{"preview rendition", "GET", "/sfc/servlet.shepherd/version/renditionDownload?rendition=THUMB720BY480&versionId=0685e00000AbCdE", ""},
		{"external redirect", "GET", "/servlet/servlet.ExternalRedirect?url=https%3A%2F%2Fexample.com", ""},
		{"download path only in retURL", "GET", "/home/home.jsp?retURL=/sfc/servlet.shepherd/version/download/0685e00000AbCdE", ""},
		{"servlet name in query", "GET", "/apex/Page?next=/servlet/servlet.FileDownload", ""},
		{"content version read by GET is not upload", "GET", "/services/data/v61.0/sobjects/ContentVersion", ""},
		{"content version describe", "GET", "/services/data/v61.0/sobjects/ContentVersion/describe", ""},
		{"chatter file upload by GET", "GET", "/services/data/v61.0/connect/files/users/me", ""},
		{"aura", "POST", "/aura?r=12&ui-force-components-controllers-recordGlobalValueProvider.RecordGvp.getRecord=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Classify(tt.method, tt.uri); got != tt.want {
				t.Fatalf("Classify(%s %s) = %q, want %q", tt.method, tt.uri, got, tt.want)
			}
		})
	}
}

func TestMatchDomain(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", ".example.com", false},
		{"app.example.com", "app.example.com", true},
		{"app.example.com", "APP.example.com.", true},
		{"app.example.com", "x.app.example.com", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := MatchDomain(tt.pattern, tt.host); got != tt.want {
			t.Errorf("MatchDomain(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const ok = "name: x\ndisplay_name: X\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown field", ok + "colour: red\n", "colour"},
		{"bad name", "name: X Y\ndisplay_name: X\n", "name must be"},
		{"no display name", "name: x\n", "display name"},
		{"bad regex", ok + "download: ['(']\n", "download pattern 1"},
		{"empty regex", ok + "export: ['']\n", "export pattern 1"},
		{"undeclared param", ok + "acs_url: 'https://{domain}'\n", "undeclared param {domain}"},
		{"too broad domain", ok + "domains: ['*.com']\n", "too broad"},
		{"bad domain", ok + "domains: ['a b.example.com']\n", "invalid"},
		{"two documents", ok + "---\n" + ok, "more than one"},
		{"not yaml", "{", "parse template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Parse([]byte(ok)); err != nil {
		t.Fatalf("minimal template: %v", err)
	}
}

func TestLoad(t *testing.T) {
	tpl := func(name string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("name: " + name + "\ndisplay_name: " + name + "\n")}
	}
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"name differs from file", fstest.MapFS{"a.yaml": tpl("b")}, "does not match the file name"},
		{"none", fstest.MapFS{"readme.txt": {Data: []byte("x")}}, "none found"},
		{"invalid file", fstest.MapFS{"a.yaml": {Data: []byte("name: a\n")}}, "a.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.fs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	ts, err := Load(fstest.MapFS{"b.yaml": tpl("b"), "a.yaml": tpl("a")})
	if err != nil || len(ts) != 2 || ts[0].Name != "a" {
		t.Fatalf("Load = %v, %v", ts, err)
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, shape string
		vars        map[string]string
		want        string
		wantErr     bool
	}{
		{"empty shape", "", nil, "", false},
		{"no placeholders", "https://sp.example.com/acs", nil, "https://sp.example.com/acs", false},
		{"repeated", "https://{domain}/x/{domain}", map[string]string{"domain": "a.example"}, "https://a.example/x/a.example", false},
		{"missing", "https://{domain}", nil, "", true},
		{"empty value", "https://{domain}", map[string]string{"domain": ""}, "", true},
		{"brace in value", "https://{domain}", map[string]string{"domain": "{org_id}"}, "", true},
		{"newline in value", "https://{domain}", map[string]string{"domain": "a\nb"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(tt.shape, tt.vars)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("Expand = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCompilePatternsNamesTheBadOne(t *testing.T) {
	_, err := CompilePatterns([]string{"^/ok"}, nil, []string{"^/fine", "[z-a]"})
	if err == nil || !strings.Contains(err.Error(), "upload pattern 2") {
		t.Fatalf("error = %v, want it to name upload pattern 2", err)
	}
	if err := ValidatePattern(strings.Repeat("a", MaxPatternLen+1)); err == nil {
		t.Error("over-long pattern accepted")
	}
	var nilP *Patterns
	if nilP.Classify("GET", "/x") != "" {
		t.Error("nil Patterns classified a request")
	}
}
