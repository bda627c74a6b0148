package policy

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

func TestValidateEnv(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		env  Env
		want string
	}{
		{"ok", Policy{Name: "p", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Apps: inc("box"), IPTags: inc("office")}}, testEnv(), ""},
		{"unknown app", Policy{Name: "p", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Apps: exc("jira")}}, testEnv(),
			`policy "p": filters.apps: unknown app "jira"`},
		{"apps not checked", Policy{Name: "p", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Apps: inc("jira")}}, Env{}, ""},
		{"unknown ip tag", Policy{Name: "p", Kind: KindAccess, Action: ActionBlock, Filters: Filters{IPTags: inc("vpn")}}, testEnv(),
			`policy "p": filters.ip_tags: unknown ip tag "vpn"`},
		{"ip tags not checked", Policy{Name: "p", Kind: KindAccess, Action: ActionBlock, Filters: Filters{IPTags: inc("vpn")}}, Env{}, ""},
		{"invalid cidr", Policy{Name: "x", Kind: KindAccess, Action: ActionBlock, Filters: Filters{IPs: inc("10.0.0.0/33")}}, testEnv(),
			`policy "x": filters.ips: invalid CIDR "10.0.0.0/33"`},
		{"zone not allowed", Policy{Name: "x", Kind: KindAccess, Action: ActionBlock, Filters: Filters{IPs: inc("fe80::1%eth0")}}, testEnv(),
			`policy "x": filters.ips: invalid CIDR "fe80::1%eth0"`},
		{"empty value", Policy{Name: "x", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Users: inc(" ")}}, testEnv(),
			`policy "x": filters.users: empty value`},
		{"activity on access", Policy{Name: "x", Kind: KindAccess, Action: ActionBlock, Filters: Filters{Activities: inc("download")}}, testEnv(),
			`policy "x": filters.activities: only session policies take this filter`},
		{"bad kind", Policy{Name: "x", Kind: "login", Action: ActionBlock}, testEnv(), `policy "x": kind: invalid kind "login" (want access or session)`},
		{"missing kind", Policy{Name: "x", Action: ActionBlock}, testEnv(), `policy "x": kind: missing (want access or session)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(tt.env)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate = %q, want %q", got, tt.want)
			}
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Policy != tt.p.Name || fe.Field == "" {
					t.Errorf("error is not a *FieldError naming the field: %#v", err)
				}
			}
		})
	}
}

func TestAgeRecipients(t *testing.T) {
	for s, want := range map[string]bool{
		testRecipient:                          true,
		"age1yubikey1q2w3e4r5t6y7u8i9o0p":      false, // 'b', 'i', 'o' outside bech32 data
		"age1yubikey1qqqqqqqqqqqqqqqqqqqqqqqq": true,
		"AGE1QL3Z7HJY54PW3HYWW5AYYFG7ZQGVC7W3J2ELW8ZMRJ2KG5SFN9AQMCAC8P": false,
		"age1short":             false,
		"ssh-ed25519 AAAAC3Nza": false,
		"":                      false,
	} {
		if got := validAgeRecipient(s); got != want {
			t.Errorf("validAgeRecipient(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	p := Policy{Name: "geo", Kind: KindSession, Action: ActionBlock, Fallback: ActionAllow, ProtectRecipients: []string{testRecipient},
		Filters: Filters{Countries: inc("US")}}
	got := p.Warnings(Env{})
	want := []Warning{
		{Policy: "geo", Field: "filters.countries", Message: `no GeoIP database is configured (geoip.database): every country is "unknown"`},
		{Policy: "geo", Field: "protect_recipients", Message: "unused: the policy never protects"},
		{Policy: "geo", Field: "fallback", Message: "unused: the policy has no content filter"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Warnings =\n%+v\nwant\n%+v", got, want)
	}
	if w := got[0].String(); w != `policy "geo": filters.countries: no GeoIP database is configured (geoip.database): every country is "unknown"` {
		t.Errorf("String() = %q", w)
	}
	if ws := p.Warnings(Env{HasGeoIP: true}); len(ws) != 2 {
		t.Errorf("with GeoIP: %d warnings, want 2", len(ws))
	}
	s, err := Compile([]Policy{p}, Env{}, Defaults{})
	if err != nil || len(s.Warnings()) != 3 {
		t.Errorf("Compile warnings = %v, %v", s, err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		ps       []Policy
		env      Env
		defaults Defaults
		want     string
	}{
		{"duplicate", []Policy{{Name: "a", Kind: KindAccess, Action: ActionAllow}, {Name: "a", Kind: KindAccess, Action: ActionBlock}}, testEnv(), Defaults{},
			`policy "a": name: duplicate name`},
		{"bad default", nil, testEnv(), Defaults{Access: ActionProtect, Session: ActionMonitor},
			"default access action \"protect\" is not one of allow, block, monitor\ndefault session action \"monitor\" is not one of allow, block"},
		{"tag missing at compile", []Policy{{Name: "a", Kind: KindAccess, Action: ActionAllow, Filters: Filters{IPTags: inc("vpn")}}}, Env{}, Defaults{},
			`policy "a": filters.ip_tags: unknown ip tag "vpn"`},
		{"errors of several policies", []Policy{{Name: "a", Kind: KindAccess}, {Name: "b", Kind: KindSession, Action: ActionMonitor}}, testEnv(), Defaults{},
			"policy \"a\": action: missing (want allow, block, monitor)\npolicy \"b\": action: \"monitor\" is not an action of session policies (want allow, block, protect)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.ps, tt.env, tt.defaults)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Compile error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	p := Policy{Name: "n", Kind: KindSession, Action: ActionBlock, Fallback: ActionBlock,
		ProtectRecipients: []string{testRecipient, testRecipient},
		Filters: Filters{
			Users:      inc("Bob@X.com", "alice@x.com", "bob@x.com"),
			IPs:        exc("10.1.2.3/8", "::1"),
			Countries:  inc("fr", "Unknown"),
			FileExt:    inc(".PDF"),
			UAContains: inc("Chrome/"),
			Content:    ContentFilter{Include: []ContentRule{{Type: DetectKeyword, Pattern: "Secret", MinCount: 1}, {Type: DetectCC, MinCount: 2}}},
		}}
	got := p.Normalize()
	want := Policy{Name: "n", Kind: KindSession, Action: ActionBlock, Enabled: enabled(true),
		ProtectRecipients: []string{testRecipient},
		Filters: Filters{
			Users:      inc("alice@x.com", "bob@x.com"),
			IPs:        exc("10.0.0.0/8", "::1/128"),
			Countries:  inc("FR", "unknown"),
			FileExt:    inc("pdf"),
			UAContains: inc("Chrome/"),
			Content:    ContentFilter{Include: []ContentRule{{Type: DetectCC, MinCount: 2}, {Type: DetectKeyword, Pattern: "secret"}}},
		}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize =\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(got.Normalize(), got) {
		t.Error("Normalize is not idempotent")
	}
	if p.Filters.Users.Include[0] != "Bob@X.com" {
		t.Error("Normalize modified its receiver's slices")
	}
}

func TestPolicyHelpers(t *testing.T) {
	p := Policy{Filters: Filters{Apps: StringFilter{Include: []string{"box", "salesforce"}, Exclude: []string{"box"}}, IPTags: exc("tor", "office")}}
	if got := p.AppNames(); !reflect.DeepEqual(got, []string{"box", "salesforce"}) {
		t.Errorf("AppNames = %v", got)
	}
	if got := p.IPTagNames(); !reflect.DeepEqual(got, []string{"office", "tor"}) {
		t.Errorf("IPTagNames = %v", got)
	}
	if !p.IsEnabled() || p.EffectiveFallback() != ActionBlock {
		t.Error("defaults: want enabled and fallback block")
	}
	if (Filters{}).IsZero() != true || p.Filters.IsZero() {
		t.Error("Filters.IsZero wrong")
	}
}

// TestTagsAgree keeps the JSON and YAML names of every field identical.
func TestTagsAgree(t *testing.T) {
	for _, v := range []any{Policy{}, Filters{}, StringFilter{}, DeviceCertFilter{}, SizeRange{}, ContentFilter{}, ContentRule{}, Document{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			j, y := tagName(f.Tag.Get("json")), tagName(f.Tag.Get("yaml"))
			if j == "" || j != y {
				t.Errorf("%s.%s: json %q, yaml %q", typ.Name(), f.Name, j, y)
			}
		}
	}
}

func tagName(tag string) string {
	for i := range len(tag) {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	return tag
}

func TestJSONRoundTrip(t *testing.T) {
	in, err := os.ReadFile("testdata/apply/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParseDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Policy
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, p) {
			t.Errorf("JSON round trip of %s:\n%+v\n%+v", p.Name, back, p)
		}
	}
	b, _ := json.Marshal(Policy{Name: "m", Kind: KindAccess, Action: ActionAllow})
	if want := `{"name":"m","kind":"access","priority":0,"action":"allow"}`; string(b) != want {
		t.Errorf("minimal JSON = %s, want %s", b, want)
	}
}
