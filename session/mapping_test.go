package session

import (
	"strings"
	"testing"
	"testing/quick"
)

func testApps() []App {
	return []App{
		{Name: "salesforce", Domains: []string{"*.my.salesforce.com", "*.force.com", "login.salesforce.com", "*.sfdc-static.com"}},
		{Name: "box", Domains: []string{"app.box.com", "*.boxcdn.net"}},
	}
}

func mustMapper(t testing.TB, mode Mode) *Mapper {
	t.Helper()
	m, err := NewMapper("cas.example.net", mode, testApps())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapperToProxy(t *testing.T) {
	tests := []struct {
		name, mode, in, want string
		ok                   bool
	}{
		{"suffix wildcard", "suffix", "acme.my.salesforce.com", "acme.my.salesforce.com.cas.example.net", true},
		{"suffix deep", "suffix", "a.b.my.salesforce.com", "a.b.my.salesforce.com.cas.example.net", true},
		{"suffix case and port", "suffix", "ACME.My.Salesforce.com:8443", "acme.my.salesforce.com.cas.example.net:8443", true},
		{"suffix exact", "suffix", "login.salesforce.com", "login.salesforce.com.cas.example.net", true},
		{"base of wildcard is not a host", "suffix", "my.salesforce.com", "", false},
		{"label boundary", "suffix", "evilmy.salesforce.com", "", false},
		{"not an app", "suffix", "www.example.com", "", false},
		{"already proxied", "suffix", "acme.my.salesforce.com.cas.example.net", "", false},
		{"trailing dot", "suffix", "app.box.com.", "app.box.com.cas.example.net", true},
		{"flat", "flat", "acme.my.salesforce.com", "acme--my--salesforce--com.cas.example.net", true},
		{"flat hyphens", "flat", "acme--c.vf.force.com", "acme-0-0c--vf--force--com.cas.example.net", true},
		{"flat hyphen in domain", "flat", "x.sfdc-static.com", "x--sfdc-0static--com.cas.example.net", true},
		{"flat too long", "flat", strings.Repeat("a", 60) + ".my.salesforce.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMapper(t, Mode(tt.mode))
			got, ok := m.ToProxy(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ToProxy(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestMapperToUpstream(t *testing.T) {
	tests := []struct {
		name, mode, in, want, app string
		ok                        bool
	}{
		{"suffix", "suffix", "acme.my.salesforce.com.cas.example.net", "acme.my.salesforce.com", "salesforce", true},
		{"suffix case port", "suffix", "App.Box.Com.CAS.example.net:443", "app.box.com:443", "box", true},
		{"suffix no app", "suffix", "www.example.com.cas.example.net", "", "", false},
		{"suffix itself", "suffix", "cas.example.net", "", "", false},
		{"other suffix", "suffix", "acme.my.salesforce.com.evil.net", "", "", false},
		{"double suffix", "suffix", "acme.my.salesforce.com.cas.example.net.cas.example.net", "", "", false},
		{"portal", "suffix", "portal.cas.example.net", "", "", false},
		{"flat", "flat", "acme--my--salesforce--com.cas.example.net", "acme.my.salesforce.com", "salesforce", true},
		{"flat hyphens", "flat", "acme-0-0c--vf--force--com.cas.example.net", "acme--c.vf.force.com", "salesforce", true},
		{"flat bad escape", "flat", "acme-x--force--com.cas.example.net", "", "", false},
		{"flat trailing hyphen", "flat", "acme--force--com-.cas.example.net", "", "", false},
		{"flat dotted", "flat", "acme.my--salesforce--com.cas.example.net", "", "", false},
		{"flat no app", "flat", "www--example--com.cas.example.net", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMapper(t, Mode(tt.mode))
			got, app, ok := m.ToUpstream(tt.in)
			if got != tt.want || app != tt.app || ok != tt.ok {
				t.Errorf("ToUpstream(%q) = %q, %q, %v; want %q, %q, %v", tt.in, got, app, ok, tt.want, tt.app, tt.ok)
			}
		})
	}
}

func TestNewMapperErrors(t *testing.T) {
	tests := []struct {
		name   string
		suffix string
		mode   Mode
		apps   []App
	}{
		{"empty suffix", "", ModeSuffix, nil},
		{"bad mode", "cas.example.net", "weird", nil},
		{"bad pattern", "cas.example.net", ModeSuffix, []App{{Name: "a", Domains: []string{"*.*.x.com"}}}},
		{"tld pattern", "cas.example.net", ModeSuffix, []App{{Name: "a", Domains: []string{"*.com"}}}},
		{"under suffix", "cas.example.net", ModeSuffix, []App{{Name: "a", Domains: []string{"*.cas.example.net"}}}},
		{"no name", "cas.example.net", ModeSuffix, []App{{Domains: []string{"a.com"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMapper(tt.suffix, tt.mode, tt.apps); err == nil {
				t.Error("NewMapper succeeded; want an error")
			}
		})
	}
}

// TestFlatRoundTrip checks the flat encoding both ways on arbitrary strings
// over the alphabet that matters: decode(encode(h)) == h, and a label that
// decodes re-encodes to itself, so the mapping is a bijection.
func TestFlatRoundTrip(t *testing.T) {
	alphabet := "ab0-."
	gen := func(b []byte) string {
		s := make([]byte, len(b))
		for i, c := range b {
			s[i] = alphabet[int(c)%len(alphabet)]
		}
		return string(s)
	}
	enc := func(b []byte) bool {
		h := gen(b)
		got, ok := DecodeFlat(EncodeFlat(h))
		return (h == "" && !ok) || (ok && got == h)
	}
	if err := quick.Check(enc, &quick.Config{MaxCount: 20000}); err != nil {
		t.Error(err)
	}
	dec := func(b []byte) bool {
		l := gen(b)
		h, ok := DecodeFlat(l)
		return !ok || EncodeFlat(h) == l
	}
	if err := quick.Check(dec, &quick.Config{MaxCount: 20000}); err != nil {
		t.Error(err)
	}
}

func TestMapperRoundTrip(t *testing.T) {
	hosts := []string{"acme.my.salesforce.com", "acme--c.vf.force.com", "x-y.z-.force.com", "app.box.com", "a.sfdc-static.com"}
	for _, mode := range []Mode{ModeSuffix, ModeFlat} {
		m := mustMapper(t, mode)
		for _, h := range hosts {
			p, ok := m.ToProxy(h)
			if !ok {
				t.Fatalf("%s: ToProxy(%q) not ok", mode, h)
			}
			up, _, ok := m.ToUpstream(p)
			if !ok || up != h {
				t.Errorf("%s: ToUpstream(ToProxy(%q)) = %q, %v", mode, h, up, ok)
			}
		}
	}
}
