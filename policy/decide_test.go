package policy

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

const (
	uaChromeWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaOldFirefox   = "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:78.0) Gecko/20100101 Firefox/78.0"
	uaIPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	testRecipient  = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
)

func testEnv() Env {
	return Env{
		IPTags: map[string][]netip.Prefix{
			"office": {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
			"tor":    {netip.MustParsePrefix("198.51.100.0/24")},
		},
		Apps:     map[string]bool{"salesforce": true, "box": true, "slack": true},
		HasGeoIP: true,
	}
}

func baseContext() *Context {
	c := &Context{
		Kind: KindAccess, App: "salesforce", User: "alice@acme.com", Email: "alice@acme.com",
		Groups: []string{"sales", "emea"}, IP: netip.MustParseAddr("10.1.2.3"), Country: "FR",
		UserAgent: uaChromeWin, Device: DeviceManaged,
		Cert: &CertInfo{Subject: "CN=laptop-42,O=Acme", Issuer: "CN=Acme Device CA,O=Acme"},
	}
	c.UA = ParseUA(c.UserAgent, UAConfig{})
	return c
}

func sessionContext() *Context {
	c := baseContext()
	c.Kind = KindSession
	c.Activity = "download"
	c.File = &FileInfo{Name: "Q3 Report.PDF", Size: 2 << 20, MIME: "application/pdf; charset=binary"}
	c.Content = &ContentHits{Counts: map[string]int{"cc": 3, "keyword:secret": 1}}
	return c
}

func enabled(b bool) *bool { return &b }

func mustCompile(t testing.TB, ps []Policy, d Defaults) *Set {
	t.Helper()
	s, err := Compile(ps, testEnv(), d)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func inc(v ...string) StringFilter { return StringFilter{Include: v} }
func exc(v ...string) StringFilter { return StringFilter{Exclude: v} }

// TestFilters checks every filter, included and excluded, against one
// matching and one non-matching context.
func TestFilters(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		filters Filters
		mod     func(*Context)
		want    bool
	}{
		{"no filters", KindAccess, Filters{}, nil, true},
		{"apps include", KindAccess, Filters{Apps: inc("salesforce")}, nil, true},
		{"apps include other", KindAccess, Filters{Apps: inc("box")}, nil, false},
		{"apps exclude", KindAccess, Filters{Apps: exc("salesforce")}, nil, false},
		{"apps exclude other", KindAccess, Filters{Apps: exc("box")}, nil, true},
		{"users exact", KindAccess, Filters{Users: inc("alice@acme.com")}, nil, true},
		{"users case-insensitive", KindAccess, Filters{Users: inc("ALICE@ACME.COM")}, nil, true},
		{"users context upper-case", KindAccess, Filters{Users: inc("alice@acme.com")}, func(c *Context) { c.User, c.Email = "Alice@Acme.com", "" }, true},
		{"users glob", KindAccess, Filters{Users: inc("*@acme.com")}, nil, true},
		{"users glob miss", KindAccess, Filters{Users: inc("*@other.com")}, nil, false},
		{"users id or email", KindAccess, Filters{Users: inc("alice@acme.com")}, func(c *Context) { c.User = "00u123" }, true},
		{"users exclude", KindAccess, Filters{Users: exc("alice@*")}, nil, false},
		{"users exclude other", KindAccess, Filters{Users: exc("bob@acme.com")}, nil, true},
		{"groups", KindAccess, Filters{Groups: inc("EMEA")}, nil, true},
		{"groups miss", KindAccess, Filters{Groups: inc("eng")}, nil, false},
		{"groups glob", KindAccess, Filters{Groups: inc("sal*")}, nil, true},
		{"groups exclude", KindAccess, Filters{Groups: exc("sales")}, nil, false},
		{"groups none in context", KindAccess, Filters{Groups: inc("sales")}, func(c *Context) { c.Groups = nil }, false},
		{"groups many values", KindAccess, Filters{Groups: inc("a", "b", "c", "d", "e", "f", "g", "h", "emea")}, nil, true},
		{"domains", KindAccess, Filters{Domains: inc("acme.com")}, nil, true},
		{"domains glob", KindAccess, Filters{Domains: inc("*.acme.com")}, func(c *Context) { c.Email = "a@eu.acme.com" }, true},
		{"domains from user", KindAccess, Filters{Domains: inc("acme.com")}, func(c *Context) { c.Email = "" }, true},
		{"domains exclude", KindAccess, Filters{Domains: exc("acme.com")}, nil, false},
		{"domains no email", KindAccess, Filters{Domains: inc("acme.com")}, func(c *Context) { c.Email, c.User = "", "alice" }, false},
		{"ips v4", KindAccess, Filters{IPs: inc("10.0.0.0/8")}, nil, true},
		{"ips bare address", KindAccess, Filters{IPs: inc("10.1.2.3")}, nil, true},
		{"ips miss", KindAccess, Filters{IPs: inc("192.168.0.0/16")}, nil, false},
		{"ips exclude", KindAccess, Filters{IPs: exc("10.1.0.0/16")}, nil, false},
		{"ips v6", KindAccess, Filters{IPs: inc("2001:db8::/32")}, func(c *Context) { c.IP = netip.MustParseAddr("2001:db8::1") }, true},
		{"ips v4-mapped", KindAccess, Filters{IPs: inc("10.0.0.0/8")}, func(c *Context) { c.IP = netip.MustParseAddr("::ffff:10.1.2.3") }, true},
		{"ips no address", KindAccess, Filters{IPs: inc("10.0.0.0/8")}, func(c *Context) { c.IP = netip.Addr{} }, false},
		{"ip_tags", KindAccess, Filters{IPTags: inc("office")}, nil, true},
		{"ip_tags miss", KindAccess, Filters{IPTags: inc("tor")}, nil, false},
		{"ip_tags exclude", KindAccess, Filters{IPTags: exc("office")}, nil, false},
		{"countries", KindAccess, Filters{Countries: inc("fr", "DE")}, nil, true},
		{"countries miss", KindAccess, Filters{Countries: inc("US")}, nil, false},
		{"countries exclude", KindAccess, Filters{Countries: exc("FR")}, nil, false},
		{"countries context lower-case", KindAccess, Filters{Countries: inc("FR")}, func(c *Context) { c.Country = "fr" }, true},
		{"countries unknown", KindAccess, Filters{Countries: inc("unknown")}, func(c *Context) { c.Country = "" }, true},
		{"device managed", KindAccess, Filters{Device: inc("managed")}, nil, true},
		{"device unmanaged", KindAccess, Filters{Device: inc("unmanaged")}, nil, false},
		{"device empty is unmanaged", KindAccess, Filters{Device: inc("unmanaged")}, func(c *Context) { c.Device = "" }, true},
		{"device exclude", KindAccess, Filters{Device: exc("managed")}, nil, false},
		{"device_cert subject", KindAccess, Filters{DeviceCert: DeviceCertFilter{Subject: inc("cn=laptop-*")}}, nil, true},
		{"device_cert issuer", KindAccess, Filters{DeviceCert: DeviceCertFilter{Issuer: inc("*O=Acme")}}, nil, true},
		{"device_cert issuer miss", KindAccess, Filters{DeviceCert: DeviceCertFilter{Issuer: inc("CN=Other*")}}, nil, false},
		{"device_cert no cert", KindAccess, Filters{DeviceCert: DeviceCertFilter{Subject: inc("*")}}, func(c *Context) { c.Cert = nil }, false},
		{"device_cert exclude", KindAccess, Filters{DeviceCert: DeviceCertFilter{Subject: exc("*laptop-42*")}}, nil, false},
		{"device_cert exclude no cert", KindAccess, Filters{DeviceCert: DeviceCertFilter{Subject: exc("*laptop-42*")}}, func(c *Context) { c.Cert = nil }, true},
		{"client_app browser", KindAccess, Filters{ClientApp: inc("browser")}, nil, true},
		{"client_app native", KindAccess, Filters{ClientApp: inc("native")}, nil, false},
		{"client_app native curl", KindAccess, Filters{ClientApp: inc("native")}, func(c *Context) { c.UserAgent, c.UA = "curl/8.5.0", UAInfo{} }, true},
		{"ua_tags outdated", KindAccess, Filters{UATags: inc("outdated-browser")}, func(c *Context) { c.UserAgent, c.UA = uaOldFirefox, UAInfo{} }, true},
		{"ua_tags outdated miss", KindAccess, Filters{UATags: inc("outdated-browser", "outdated-os")}, nil, false},
		{"ua_tags exclude", KindAccess, Filters{UATags: exc("native-client")}, func(c *Context) { c.UserAgent, c.UA = "okhttp/4.12.0", UAInfo{} }, false},
		{"ua_contains", KindAccess, Filters{UAContains: inc("WIN64")}, nil, true},
		{"ua_contains without ParseUA", KindAccess, Filters{UAContains: inc("WIN64")}, func(c *Context) { c.UA = UAInfo{ClientApp: "browser"} }, true},
		{"ua_contains miss", KindAccess, Filters{UAContains: inc("iphone")}, nil, false},
		{"ua_contains exclude", KindAccess, Filters{UAContains: exc("chrome/")}, nil, false},
		{"device_type pc", KindAccess, Filters{DeviceType: inc("pc")}, nil, true},
		{"device_type mobile", KindAccess, Filters{DeviceType: inc("mobile", "tablet")}, func(c *Context) { c.UserAgent, c.UA = uaIPhoneSafari, UAInfo{} }, true},
		{"device_type exclude", KindAccess, Filters{DeviceType: exc("pc")}, nil, false},
		{"activities", KindSession, Filters{Activities: inc("download", "export")}, nil, true},
		{"activities miss", KindSession, Filters{Activities: inc("upload")}, nil, false},
		{"activities exclude", KindSession, Filters{Activities: exc("download")}, nil, false},
		{"file_name glob", KindSession, Filters{FileName: inc("q3*.pdf")}, nil, true},
		{"file_name miss", KindSession, Filters{FileName: inc("*.xlsx")}, nil, false},
		{"file_name no file", KindSession, Filters{FileName: inc("*")}, func(c *Context) { c.File = nil }, false},
		{"file_ext from name", KindSession, Filters{FileExt: inc(".pdf")}, nil, true},
		{"file_ext explicit", KindSession, Filters{FileExt: inc("csv")}, func(c *Context) { c.File.Ext = "CSV" }, true},
		{"file_ext exclude", KindSession, Filters{FileExt: exc("pdf")}, nil, false},
		{"file_size in range", KindSession, Filters{FileSize: SizeRange{Min: 1 << 20, Max: 10 << 20}}, nil, true},
		{"file_size open max", KindSession, Filters{FileSize: SizeRange{Min: 1 << 20}}, nil, true},
		{"file_size too small", KindSession, Filters{FileSize: SizeRange{Min: 3 << 20}}, nil, false},
		{"file_size too big", KindSession, Filters{FileSize: SizeRange{Max: 1 << 20}}, nil, false},
		{"file_size unknown", KindSession, Filters{FileSize: SizeRange{Max: 1 << 30}}, func(c *Context) { c.File.Size = -1 }, false},
		{"mime_type", KindSession, Filters{MIMEType: inc("application/pdf")}, nil, true},
		{"mime_type glob", KindSession, Filters{MIMEType: inc("application/*")}, nil, true},
		{"mime_type exclude", KindSession, Filters{MIMEType: exc("application/*")}, nil, false},
		{"content cc", KindSession, Filters{Content: ContentFilter{Include: []ContentRule{{Type: DetectCC, MinCount: 3}}}}, nil, true},
		{"content cc below min", KindSession, Filters{Content: ContentFilter{Include: []ContentRule{{Type: DetectCC, MinCount: 4}}}}, nil, false},
		{"content any rule", KindSession, Filters{Content: ContentFilter{Include: []ContentRule{{Type: DetectSSN}, {Type: DetectKeyword, Pattern: "SECRET"}}}}, nil, true},
		{"content exclude", KindSession, Filters{Content: ContentFilter{Exclude: []ContentRule{{Type: DetectCC}}}}, nil, false},
		{"content not scanned", KindSession, Filters{Content: ContentFilter{Include: []ContentRule{{Type: DetectCC}}}}, func(c *Context) { c.Content = nil }, false},
		{"content exclude not scanned", KindSession, Filters{Content: ContentFilter{Exclude: []ContentRule{{Type: DetectCC}}}}, func(c *Context) { c.Content = nil }, true},
		{"filters AND", KindAccess, Filters{Apps: inc("salesforce"), Users: inc("bob@acme.com")}, nil, false},
		{"session filters on session", KindSession, Filters{Users: inc("*@acme.com"), Device: inc("managed")}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Name: "p", Kind: tt.kind, Action: ActionBlock, Filters: tt.filters}
			s := mustCompile(t, []Policy{p}, Defaults{})
			ctx := baseContext()
			if tt.kind == KindSession {
				ctx = sessionContext()
			}
			if tt.mod != nil {
				tt.mod(ctx)
			}
			d := s.Decide(ctx)
			if got := d.Action == ActionBlock; got != tt.want {
				t.Errorf("matched = %v, want %v (decision %+v)", got, tt.want, d)
			}
			x := s.Explain(ctx)
			if len(x.Policies) != 1 || x.Policies[0].Matched != tt.want {
				t.Fatalf("Explain = %+v, want matched %v", x.Policies, tt.want)
			}
			if !tt.want && (x.Policies[0].Filter == "" || x.Policies[0].Why == "" || x.Policies[0].Why == "filter does not match") {
				t.Errorf("Explain gives no reason: %+v", x.Policies[0])
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	pol := func(name string, prio int, a Action, logOnly bool) Policy {
		return Policy{Name: name, Kind: KindAccess, Priority: prio, Action: a, LogOnly: logOnly}
	}
	tests := []struct {
		name       string
		policies   []Policy
		defaults   Defaults
		wantAction Action
		wantPolicy string
		wantMatch  []string
	}{
		{"default allow", nil, Defaults{}, ActionAllow, "", nil},
		{"default block", nil, Defaults{Access: ActionBlock}, ActionBlock, "", nil},
		{"block beats allow", []Policy{pol("a", 1, ActionAllow, false), pol("b", 100, ActionBlock, false)}, Defaults{}, ActionBlock, "b", []string{"a", "b"}},
		{"block beats monitor", []Policy{pol("m", 1, ActionMonitor, false), pol("b", 5, ActionBlock, false)}, Defaults{}, ActionBlock, "b", []string{"m", "b"}},
		{"monitor beats allow", []Policy{pol("a", 1, ActionAllow, false), pol("m", 5, ActionMonitor, false)}, Defaults{Access: ActionBlock}, ActionMonitor, "m", []string{"a", "m"}},
		{"allow beats default block", []Policy{pol("a", 1, ActionAllow, false)}, Defaults{Access: ActionBlock}, ActionAllow, "a", []string{"a"}},
		{"tie by priority", []Policy{pol("z", 1, ActionBlock, false), pol("a", 2, ActionBlock, false)}, Defaults{}, ActionBlock, "z", []string{"z", "a"}},
		{"tie by name", []Policy{pol("y", 1, ActionBlock, false), pol("x", 1, ActionBlock, false)}, Defaults{}, ActionBlock, "x", []string{"x", "y"}},
		{"log-only ignored", []Policy{pol("l", 0, ActionBlock, true)}, Defaults{}, ActionAllow, "", []string{"l"}},
		{"log-only beside enforcing", []Policy{pol("l", 0, ActionBlock, true), pol("m", 1, ActionMonitor, false)}, Defaults{}, ActionMonitor, "m", []string{"l", "m"}},
		{"disabled ignored", []Policy{{Name: "d", Kind: KindAccess, Action: ActionBlock, Enabled: enabled(false)}}, Defaults{}, ActionAllow, "", nil},
		{"session policy not for access", []Policy{{Name: "s", Kind: KindSession, Action: ActionBlock}}, Defaults{}, ActionAllow, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustCompile(t, tt.policies, tt.defaults)
			d := s.Decide(baseContext())
			if d.Action != tt.wantAction || d.Policy != tt.wantPolicy || d.Default != (tt.wantPolicy == "") {
				t.Errorf("Decide = %s by %q (default %v), want %s by %q", d.Action, d.Policy, d.Default, tt.wantAction, tt.wantPolicy)
			}
			var names []string
			for _, m := range d.Matches {
				names = append(names, m.Policy)
				if m.LogOnly != (m.WouldAction != "") {
					t.Errorf("match %s: LogOnly %v but WouldAction %q", m.Policy, m.LogOnly, m.WouldAction)
				}
			}
			if !reflect.DeepEqual(names, tt.wantMatch) {
				t.Errorf("Matches = %v, want %v", names, tt.wantMatch)
			}
			if d.Reason == "" {
				t.Error("empty reason")
			}
		})
	}
}

func TestLogOnlyWouldAction(t *testing.T) {
	s := mustCompile(t, []Policy{{Name: "audit", Kind: KindAccess, Action: ActionBlock, LogOnly: true, Priority: 7}}, Defaults{})
	d := s.Decide(baseContext())
	want := []Match{{Policy: "audit", Action: ActionBlock, LogOnly: true, Priority: 7, WouldAction: "would_block"}}
	if !reflect.DeepEqual(d.Matches, want) || d.Action != ActionAllow || !d.Default {
		t.Errorf("Decide = %+v, want allow by default with %+v", d, want)
	}
}

func TestSessionProtectAndFallback(t *testing.T) {
	ps := []Policy{
		{Name: "protect-cc", Kind: KindSession, Action: ActionProtect, Message: "encrypted", ProtectRecipients: []string{testRecipient},
			Filters: Filters{Activities: inc("download"), Content: ContentFilter{Include: []ContentRule{{Type: DetectCC}}}}},
		{Name: "allow-all", Kind: KindSession, Action: ActionAllow},
	}
	s := mustCompile(t, ps, Defaults{})
	ctx := sessionContext()
	if !s.NeedsContent(ctx) {
		t.Error("NeedsContent = false, want true")
	}
	d := s.Decide(ctx)
	if d.Action != ActionProtect || d.Policy != "protect-cc" || !reflect.DeepEqual(d.Recipients, []string{testRecipient}) || d.Message != "encrypted" {
		t.Errorf("Decide = %+v, want protect by protect-cc", d)
	}
	ctx.Content = &ContentHits{TooLarge: true}
	d = s.Decide(ctx)
	if d.Action != ActionBlock || !d.Fallback || !strings.Contains(d.Reason, "fallback") {
		t.Errorf("too large: Decide = %+v, want block by fallback", d)
	}
	ctx.Content = &ContentHits{}
	if d = s.Decide(ctx); d.Action != ActionAllow || d.Policy != "allow-all" {
		t.Errorf("clean: Decide = %+v, want allow by allow-all", d)
	}
	ctx.Activity = "view"
	if s.NeedsContent(ctx) {
		t.Error("NeedsContent for a view = true, want false")
	}
	if s.NeedsContent(baseContext()) {
		t.Error("NeedsContent for access = true, want false")
	}
}

func TestNeedsDevice(t *testing.T) {
	ps := []Policy{
		{Name: "dev-sf", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Apps: inc("salesforce"), Device: inc("unmanaged")}},
		{Name: "cert-log", Kind: KindSession, Action: ActionBlock, LogOnly: true, Filters: Filters{Apps: inc("box"), DeviceCert: DeviceCertFilter{Issuer: inc("*")}}},
		{Name: "off", Kind: KindAccess, Action: ActionBlock, Enabled: enabled(false), Filters: Filters{Apps: inc("slack"), Device: inc("managed")}},
		{Name: "plain", Kind: KindAccess, Action: ActionAllow},
	}
	s := mustCompile(t, ps, Defaults{})
	for app, want := range map[string]bool{"salesforce": true, "box": true, "slack": false, "other": false} {
		if got := s.NeedsDevice(app); got != want {
			t.Errorf("NeedsDevice(%q) = %v, want %v", app, got, want)
		}
	}
	ps = append(ps, Policy{Name: "wild", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Apps: exc("slack"), Device: inc("unmanaged")}})
	s = mustCompile(t, ps, Defaults{})
	for app, want := range map[string]bool{"salesforce": true, "slack": false, "other": true} {
		if got := s.NeedsDevice(app); got != want {
			t.Errorf("with wildcard: NeedsDevice(%q) = %v, want %v", app, got, want)
		}
	}
}

func TestDecideInvalidKind(t *testing.T) {
	s := mustCompile(t, nil, Defaults{})
	if d := s.Decide(&Context{Kind: "bogus"}); d.Action != ActionBlock {
		t.Errorf("Decide(bogus kind) = %s, want block", d.Action)
	}
}

func TestExplainDisabledAndOrder(t *testing.T) {
	ps := []Policy{
		{Name: "b", Kind: KindAccess, Priority: 2, Action: ActionBlock, Filters: Filters{Users: exc("alice@*")}},
		{Name: "a", Kind: KindAccess, Priority: 2, Action: ActionBlock, Enabled: enabled(false)},
		{Name: "c", Kind: KindAccess, Priority: 1, Action: ActionAllow},
	}
	x := mustCompile(t, ps, Defaults{}).Explain(baseContext())
	var got []string
	for _, r := range x.Policies {
		got = append(got, r.Policy+":"+r.Filter+":"+r.Why)
	}
	want := []string{
		"c::no filters: matches everything",
		"a::disabled",
		`b:filters.users:users "alice@acme.com" matches excluded "alice@*"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Explain =\n%q\nwant\n%q", got, want)
	}
	if x.Decision.Policy != "c" {
		t.Errorf("Explain decision by %q, want c", x.Decision.Policy)
	}
}
