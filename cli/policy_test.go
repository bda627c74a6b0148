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
	"github.com/cas-proxy/cas/policy"
)

// parsePolicyAdd runs `policy add` flag parsing with args and returns the
// policy it would send.
func parsePolicyAdd(t *testing.T, args ...string) (policy.Policy, error) {
	t.Helper()
	f, _ := testFactory("")
	var got *PolicyAddOptions
	err := execCmd(newCmdPolicyAdd(f, func(o *PolicyAddOptions) error { got = o; return nil }), args...)
	if err != nil {
		return policy.Policy{}, err
	}
	return got.Policy, nil
}

func TestPolicyAddNotFlagsAreExcludes(t *testing.T) {
	p, err := parsePolicyAdd(t, "office-only", "--kind", "access", "--action", "block", "--not-ip", "10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	want := policy.StringFilter{Exclude: []string{"10.0.0.0/8"}}
	if !reflect.DeepEqual(p.Filters.IPs, want) {
		t.Errorf("filters.ips = %+v, want %+v", p.Filters.IPs, want)
	}
	p.Filters.IPs = policy.StringFilter{}
	if !p.Filters.IsZero() {
		t.Errorf("other filters set: %+v", p.Filters)
	}
}

func TestPolicyAddAllFlags(t *testing.T) {
	p, err := parsePolicyAdd(t, "dlp",
		"--kind", "session", "--action", "protect", "--log-only", "--message", "Encrypted", "--priority", "5", "--disabled",
		"--description", "card numbers", "--protect-recipient", "age1aaaaaaaaaa,age1bbbbbbbbbb", "--protect-recipient", "age1cccccccccc",
		"--fallback", "block",
		"--app", "sf,box", "--not-app", "wiki", "--user", "*@example.com", "--not-user", "ceo@example.com",
		"--group", "sales", "--group", "support", "--not-group", "admins", "--domain", "example.com", "--not-domain", "*.partner.com",
		"--ip", "203.0.113.0/24,2001:db8::/32", "--not-ip", "203.0.113.7", "--ip-tag", "corporate", "--not-ip-tag", "risky",
		"--country", "FR,DE", "--not-country", "unknown", "--device", "unmanaged", "--not-device", "managed",
		"--device-cert-subject", "CN=laptop-*,O=Acme", "--not-device-cert-subject", "CN=kiosk,O=Acme",
		"--device-cert-issuer", "CN=Acme Root,O=Acme", "--not-device-cert-issuer", "CN=Old,O=Acme",
		"--client-app", "browser", "--not-client-app", "native", "--ua-tag", "outdated-browser", "--not-ua-tag", "native-client",
		"--ua-contains", "Mozilla/5.0 (X11, Linux)", "--not-ua-contains", "curl", "--device-type", "pc,mobile", "--not-device-type", "tablet",
		"--activity", "download,export", "--not-activity", "view", "--file-name", "*.xlsx", "--not-file-name", "public-*",
		"--file-ext", "xlsx,csv", "--not-file-ext", "txt", "--file-type", "text/*", "--not-file-type", "image/*",
		"--min-size", "1KiB", "--max-size", "10MB",
		"--content", "cc,ssn:2,regex:[0-9]{3,5},x", "--content", "keyword:secret", "--not-content", "email", "--min-matches", "3",
	)
	if err != nil {
		t.Fatal(err)
	}
	sf := func(inc, exc []string) policy.StringFilter { return policy.StringFilter{Include: inc, Exclude: exc} }
	want := policy.Policy{
		Name: "dlp", Kind: policy.KindSession, Enabled: new(bool), Priority: 5, LogOnly: true, Action: policy.ActionProtect,
		Message: "Encrypted", Description: "card numbers", Fallback: policy.ActionBlock,
		ProtectRecipients: []string{"age1aaaaaaaaaa", "age1bbbbbbbbbb", "age1cccccccccc"},
		Filters: policy.Filters{
			Apps:       sf([]string{"sf", "box"}, []string{"wiki"}),
			Users:      sf([]string{"*@example.com"}, []string{"ceo@example.com"}),
			Groups:     sf([]string{"sales", "support"}, []string{"admins"}),
			Domains:    sf([]string{"example.com"}, []string{"*.partner.com"}),
			IPs:        sf([]string{"203.0.113.0/24", "2001:db8::/32"}, []string{"203.0.113.7"}),
			IPTags:     sf([]string{"corporate"}, []string{"risky"}),
			Countries:  sf([]string{"FR", "DE"}, []string{"unknown"}),
			Device:     sf([]string{"unmanaged"}, []string{"managed"}),
			DeviceCert: policy.DeviceCertFilter{Subject: sf([]string{"CN=laptop-*,O=Acme"}, []string{"CN=kiosk,O=Acme"}), Issuer: sf([]string{"CN=Acme Root,O=Acme"}, []string{"CN=Old,O=Acme"})},
			ClientApp:  sf([]string{"browser"}, []string{"native"}),
			UATags:     sf([]string{"outdated-browser"}, []string{"native-client"}),
			UAContains: sf([]string{"Mozilla/5.0 (X11, Linux)"}, []string{"curl"}),
			DeviceType: sf([]string{"pc", "mobile"}, []string{"tablet"}),
			Activities: sf([]string{"download", "export"}, []string{"view"}),
			FileName:   sf([]string{"*.xlsx"}, []string{"public-*"}),
			FileExt:    sf([]string{"xlsx", "csv"}, []string{"txt"}),
			MIMEType:   sf([]string{"text/*"}, []string{"image/*"}),
			FileSize:   policy.SizeRange{Min: 1024, Max: 10_000_000},
			Content: policy.ContentFilter{
				Include: []policy.ContentRule{
					{Type: policy.DetectCC, MinCount: 3},
					{Type: policy.DetectSSN, MinCount: 2},
					{Type: policy.DetectRegex, Pattern: "[0-9]{3,5},x", MinCount: 3},
					{Type: policy.DetectKeyword, Pattern: "secret", MinCount: 3},
				},
				Exclude: []policy.ContentRule{{Type: policy.DetectEmail, MinCount: 3}},
			},
		},
	}
	if !reflect.DeepEqual(p, want) {
		gj, _ := json.MarshalIndent(p, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("policy:\n%s", diff(string(gj), string(wj)))
	}
}

func TestPolicyAddFlagErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no kind", []string{"p", "--action", "block"}, "--kind is required"},
		{"bad kind", []string{"p", "--kind", "login", "--action", "block"}, `--kind: "login" is not access or session`},
		{"no action", []string{"p", "--kind", "access"}, "--action is required: allow, block or monitor"},
		{"protect on access", []string{"p", "--kind", "access", "--action", "protect"}, `--action: "protect" is not an action of access policies`},
		{"monitor on session", []string{"p", "--kind", "session", "--action", "monitor"}, `--action: "monitor" is not an action of session policies`},
		{"bad content", []string{"p", "--kind", "session", "--action", "block", "--content", "cc,visa"}, `--content: content rule "visa": unknown detector`},
		{"bad regex", []string{"p", "--kind", "session", "--action", "block", "--content", "regex:("}, `--content: content rule "regex:(": invalid regex`},
		{"min matches alone", []string{"p", "--kind", "session", "--action", "block", "--min-matches", "2"}, "--min-matches needs --content"},
		{"bad size", []string{"p", "--kind", "session", "--action", "block", "--min-size", "big"}, `--min-size: "big" is not a size`},
		{"inverted sizes", []string{"p", "--kind", "session", "--action", "block", "--min-size", "2MB", "--max-size", "1MB"}, "--max-size must not be less than --min-size"},
		{"negative priority", []string{"p", "--kind", "access", "--action", "block", "--priority", "-1"}, "--priority must not be negative"},
		{"unknown filter flag", []string{"p", "--kind", "access", "--action", "block", "--not-colour", "red"}, "unknown flag: --not-colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePolicyAdd(t, tt.args...)
			if !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "10B": 10, "2KB": 2000, "2kib": 2048, "3 MiB": 3 << 20, "1GB": 1e9, "1GiB": 1 << 30} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MB", "MB", "1TB", "99999999999999999999"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

var testPolicy = api.PolicyInfo{
	Policy: policy.Policy{
		Name: "block-unmanaged", Kind: policy.KindAccess, Priority: 10, Action: policy.ActionBlock, Message: "Use a company laptop",
		Filters: policy.Filters{
			Apps:   policy.StringFilter{Include: []string{"sf"}},
			Device: policy.StringFilter{Include: []string{"unmanaged"}},
			IPs:    policy.StringFilter{Exclude: []string{"10.0.0.0/8"}},
		},
	},
	CreatedAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
	UpdatedAt: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
}

func TestPolicyAddSendsPolicy(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/policies", http.StatusCreated, api.PolicyWrite{Policy: testPolicy, Warnings: []string{"country filter: no GeoIP database is configured"}})
	r := run(t, fake.socket, "policy", "add", "block-unmanaged", "--kind", "access", "--app", "sf", "--device", "unmanaged",
		"--not-ip", "10.0.0.0/8", "--action", "block", "--priority", "10", "--message", "Use a company laptop")
	wantCode(t, r, ExitOK)
	if want := "Added access policy block-unmanaged (block)\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	if want := "cas: warning: country filter: no GeoIP database is configured\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
	var sent policy.Policy
	fake.only("POST", "/v0/policies").Decode(t, &sent)
	if !reflect.DeepEqual(sent, testPolicy.Policy) {
		t.Errorf("sent %+v, want %+v", sent, testPolicy.Policy)
	}
}

func TestPolicyAddInvalid(t *testing.T) {
	fake := newFakeCasd(t)
	fake.fail("POST /v0/policies", http.StatusBadRequest, api.CodeInvalid, `policy "p": filters.ip_tags: unknown ip tag "nope"`)
	r := run(t, fake.socket, "policy", "add", "p", "--kind", "access", "--ip-tag", "nope", "--action", "block")
	wantCode(t, r, ExitError)
	if want := "cas: policy \"p\": filters.ip_tags: unknown ip tag \"nope\"\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
}

func TestPolicyListAndShow(t *testing.T) {
	fake := newFakeCasd(t)
	audit := api.PolicyInfo{Policy: policy.Policy{Name: "identify-managed", Kind: policy.KindAccess, Priority: 100, Action: policy.ActionAllow, LogOnly: true,
		Filters: policy.Filters{Device: policy.StringFilter{Include: []string{"managed"}}}}}
	fake.reply("GET /v0/policies", http.StatusOK, []api.PolicyInfo{testPolicy, audit})
	fake.reply("GET /v0/policies/block-unmanaged", http.StatusOK, testPolicy)

	r := run(t, fake.socket, "policy", "list")
	wantCode(t, r, ExitOK)
	want := `NAME              KIND    PRIORITY  ACTION  STATE     FILTERS
block-unmanaged   access  10        block   enabled   app=sf ip!=10.0.0.0/8 device=unmanaged
identify-managed  access  100       allow   log-only  device=managed
`
	if r.Stdout != want {
		t.Errorf("list:\n%s", diff(r.Stdout, want))
	}

	r = run(t, fake.socket, "policy", "show", "block-unmanaged")
	wantCode(t, r, ExitOK)
	want = `Name:                block-unmanaged
Kind:                access
Enabled:             yes
Log only:            no
Priority:            10
Action:              block
Message:             Use a company laptop
Description:         -
Protect recipients:  -
Filters:             --app sf
                     --not-ip 10.0.0.0/8
                     --device unmanaged
Created:             2026-11-20T08:00:00Z
Updated:             2026-11-21T08:00:00Z
`
	if r.Stdout != want {
		t.Errorf("show:\n%s", diff(r.Stdout, want))
	}

	r = run(t, fake.socket, "policy", "show", "block-unmanaged", "--json")
	wantCode(t, r, ExitOK)
	var got api.PolicyInfo
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, testPolicy) {
		t.Errorf("--json = %+v", got)
	}
}

func TestPolicyEnableDisable(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/policies/{name}/enable", http.StatusOK, api.PolicyWrite{Policy: testPolicy})
	fake.reply("POST /v0/policies/{name}/disable", http.StatusOK, api.PolicyWrite{Policy: testPolicy})
	if r := run(t, fake.socket, "policy", "disable", "block-unmanaged"); r.Code != 0 || r.Stdout != "Disabled policy block-unmanaged\n" {
		t.Errorf("disable: %+v", r)
	}
	if r := run(t, fake.socket, "policy", "enable", "block-unmanaged"); r.Code != 0 || r.Stdout != "Enabled policy block-unmanaged\n" {
		t.Errorf("enable: %+v", r)
	}
	fake.only("POST", "/v0/policies/block-unmanaged/disable")
	fake.only("POST", "/v0/policies/block-unmanaged/enable")
}

func TestPolicyApply(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(doc, []byte("apiVersion: cas/v1\nkind: PolicyList\npolicies: []\n"), 0o644)
	added := testPolicy.Policy
	removed := policy.Policy{Name: "old", Kind: policy.KindSession, Action: policy.ActionBlock}
	plan := policy.Plan{
		Add:       []policy.Policy{added},
		Change:    []policy.Change{{Name: "audit", Diff: "  name: audit\n- priority: 1\n+ priority: 2\n"}},
		Remove:    []policy.Policy{removed},
		Unchanged: []string{"keep"},
	}
	tests := []struct {
		name   string
		args   []string
		result api.ApplyResult
		want   string
	}{
		{"dry run", []string{"--dry-run", "--prune"}, api.ApplyResult{Plan: plan}, `Would add access policy block-unmanaged (block)
Would change policy audit:
      name: audit
    - priority: 1
    + priority: 2
Would remove session policy old
1 to add, 1 to change, 1 to remove, 1 unchanged (dry run: nothing was changed)
`},
		{"applied", []string{"--prune"}, api.ApplyResult{Plan: plan, Applied: true}, `Added access policy block-unmanaged (block)
Changed policy audit:
      name: audit
    - priority: 1
    + priority: 2
Removed session policy old
1 to add, 1 to change, 1 to remove, 1 unchanged
`},
		{"nothing to do", nil, api.ApplyResult{Plan: policy.Plan{Unchanged: []string{"a", "b"}}, Applied: true},
			"No changes: 2 policies already match the document.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeCasd(t)
			fake.reply("POST /v0/policies:apply", http.StatusOK, tt.result)
			r := run(t, fake.socket, append([]string{"policy", "apply", "-f", doc}, tt.args...)...)
			wantCode(t, r, ExitOK)
			if r.Stdout != tt.want {
				t.Errorf("stdout:\n%s", diff(r.Stdout, tt.want))
			}
			var req api.ApplyRequest
			fake.only("POST", "/v0/policies:apply").Decode(t, &req)
			wantReq := api.ApplyRequest{Document: "apiVersion: cas/v1\nkind: PolicyList\npolicies: []\n",
				Prune: strings.Contains(strings.Join(tt.args, " "), "--prune"), DryRun: strings.Contains(strings.Join(tt.args, " "), "--dry-run")}
			if req != wantReq {
				t.Errorf("request = %+v, want %+v", req, wantReq)
			}
		})
	}
}

func TestPolicyApplyNeedsFile(t *testing.T) {
	wantCode(t, run(t, "/nonexistent.sock", "policy", "apply"), ExitUsage)
	r := run(t, "/nonexistent.sock", "policy", "apply", "-f", "/nonexistent/p.yaml")
	wantCode(t, r, ExitError)
	if !strings.Contains(r.Stderr, "/nonexistent/p.yaml") {
		t.Errorf("stderr does not name the file: %q", r.Stderr)
	}
}

func TestPolicyExport(t *testing.T) {
	fake := newFakeCasd(t)
	yaml := "apiVersion: cas/v1\nkind: PolicyList\npolicies: []\n"
	fake.replyText("GET /v0/policies:export", yaml)
	r := run(t, fake.socket, "policy", "export")
	wantCode(t, r, ExitOK)
	if r.Stdout != yaml {
		t.Errorf("stdout:\n%s", diff(r.Stdout, yaml))
	}
}

func TestPolicyTestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    api.PolicyTestRequest
		wantErr string
	}{
		{name: "access", args: []string{"--app", "sf", "--user", "a@x", "--group", "g1,g2", "--ip", "10.1.2.3", "--device", "managed", "--ua", "Mozilla/5.0"},
			want: api.PolicyTestRequest{Kind: "access", App: "sf", User: "a@x", Groups: []string{"g1", "g2"}, IP: "10.1.2.3", Device: "managed", UserAgent: "Mozilla/5.0"}},
		{name: "activity implies session", args: []string{"--app", "sf", "--user", "a@x", "--ip", "::1", "--activity", "download", "--file-name", "f.csv", "--file-size", "2KB"},
			want: api.PolicyTestRequest{Kind: "session", App: "sf", User: "a@x", IP: "::1", Activity: "download", FileName: "f.csv", FileSize: 2000}},
		{name: "no ip", args: []string{"--app", "sf", "--user", "u"}, wantErr: "--ip is required"},
		{name: "bad ip", args: []string{"--app", "sf", "--user", "u", "--ip", "10.0.0.0/8"}, wantErr: `--ip: "10.0.0.0/8" is not an IP address`},
		{name: "bad device", args: []string{"--app", "sf", "--user", "u", "--ip", "10.0.0.1", "--device", "laptop"}, wantErr: "--device"},
		{name: "access with activity", args: []string{"--kind", "access", "--app", "sf", "--user", "u", "--ip", "10.0.0.1", "--activity", "view"}, wantErr: "use --kind session"},
		{name: "session without activity", args: []string{"--kind", "session", "--app", "sf", "--user", "u", "--ip", "10.0.0.1"}, wantErr: "--kind session needs --activity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := testFactory("")
			var got *PolicyTestOptions
			err := execCmd(newCmdPolicyTest(f, func(o *PolicyTestOptions) error { got = o; return nil }), tt.args...)
			if tt.wantErr != "" {
				if !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Request, tt.want) {
				t.Errorf("request = %+v, want %+v", got.Request, tt.want)
			}
		})
	}
}

func TestPolicyTestExplains(t *testing.T) {
	fake := newFakeCasd(t)
	dec := policy.Decision{Action: policy.ActionBlock, Policy: "block-unmanaged", Reason: "policy block-unmanaged: block", Message: "Use a company laptop",
		Matches: []policy.Match{
			{Policy: "block-unmanaged", Action: policy.ActionBlock, Priority: 10},
			{Policy: "identify-managed", Action: policy.ActionAllow, Priority: 100, LogOnly: true, WouldAction: "would_allow"},
		}}
	fake.reply("POST /v0/policies:test", http.StatusOK, api.PolicyTestResult{
		Decision: dec,
		Explanation: policy.Explanation{Kind: policy.KindAccess, Decision: dec, Policies: []policy.PolicyResult{
			{Policy: "allow-office", Priority: 1, Action: policy.ActionAllow, Enabled: true, Filter: "filters.ips", Why: "IP 203.0.113.9 is in none of [10.0.0.0/8]"},
			{Policy: "block-unmanaged", Priority: 10, Action: policy.ActionBlock, Enabled: true, Matched: true, Why: "all filters match"},
			{Policy: "identify-managed", Priority: 100, Action: policy.ActionAllow, Enabled: true, LogOnly: true, Matched: true, Why: "all filters match; log-only: would_allow"},
			{Policy: "old", Priority: 100, Action: policy.ActionBlock, Why: "disabled"},
		}},
		Country: "unknown",
	})
	content := filepath.Join(t.TempDir(), "q3.csv")
	os.WriteFile(content, []byte("4111 1111 1111 1111\n"), 0o644)

	r := run(t, fake.socket, "policy", "test", "--app", "sf", "--user", "alice@example.com", "--ip", "203.0.113.9")
	wantCode(t, r, ExitOK)
	want := `Decision:  block (by policy block-unmanaged)
Reason:    policy block-unmanaged: block
Message:   Use a company laptop
Log-only:  identify-managed: would_allow
Country:   unknown
IP tags:   -

POLICY            PRIORITY  ACTION  RESULT            WHY
allow-office      1         allow   no match          ips: IP 203.0.113.9 is in none of [10.0.0.0/8]
block-unmanaged   10        block   decided           all filters match
identify-managed  100       allow   match (log-only)  all filters match; log-only: would_allow
old               100       block   disabled          disabled
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}

	r = run(t, fake.socket, "policy", "test", "--app", "sf", "--user", "a", "--ip", "10.0.0.1", "--activity", "download", "--content-file", content, "--json")
	wantCode(t, r, ExitOK)
	var res api.PolicyTestResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || res.Decision.Policy != "block-unmanaged" {
		t.Errorf("--json: %v %+v", err, res)
	}
	reqs := fake.requests("POST", "/v0/policies:test")
	var req api.PolicyTestRequest
	reqs[len(reqs)-1].Decode(t, &req)
	if string(req.Content) != "4111 1111 1111 1111\n" || req.FileName != "q3.csv" || req.FileSize != 20 || req.Kind != "session" {
		t.Errorf("request = %+v", req)
	}
}
