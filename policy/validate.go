package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gobwas/glob"
)

// Env is what policies are validated and compiled against.
type Env struct {
	// IPTags maps IP tag names to their prefixes. Nil means "do not check"
	// for Validate; Compile needs every referenced tag.
	IPTags map[string][]netip.Prefix
	// Apps holds the known app names; nil means "do not check".
	Apps map[string]bool
	// HasGeoIP reports whether a GeoIP database is configured; without one
	// every country is "unknown" and country filters draw a warning.
	HasGeoIP bool
	// UA holds the user-agent version thresholds (see UAConfig).
	UA UAConfig
}

// FieldError is one problem with one field of one policy. Validate and
// Compile return them, joined with errors.Join when there are several; use
// errors.As to get the first.
type FieldError struct {
	// Policy is the policy's name.
	Policy string
	// Field is the field's path, such as "filters.ips"; empty for the
	// policy as a whole.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error renders `policy "x": filters.ips: invalid CIDR "10.0.0.0/33"`.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("policy %q: %s", e.Policy, e.Msg)
	}
	return fmt.Sprintf("policy %q: %s: %s", e.Policy, e.Field, e.Msg)
}

// Warning is a non-fatal problem with a policy, such as a country filter
// while no GeoIP database is configured.
type Warning struct {
	Policy  string `json:"policy"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the warning like a FieldError.
func (w Warning) String() string {
	return (&FieldError{Policy: w.Policy, Field: w.Field, Msg: w.Message}).Error()
}

// Allowed filter values.
var (
	deviceValues     = []string{"managed", "unmanaged"}
	clientAppValues  = []string{ClientBrowser, ClientNative}
	uaTagValues      = []string{TagNativeClient, TagOutdatedBrowser, TagOutdatedOS}
	deviceTypeValues = []string{DevicePC, DeviceMobile, DeviceTablet, DeviceOther}
	activityValues   = []string{"view", "download", "upload", "export", "send"}
)

// sessionOnly names the filters access policies may not use.
var sessionOnly = []string{"activities", "file_name", "file_ext", "mime_type"}

const (
	maxNameLen    = 64
	maxMessageLen = 1024
	maxDescLen    = 4096
)

// validName reports whether s is a usable policy name.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || !isAlnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Validate checks the policy against env and returns every problem found,
// each a *FieldError naming the field, joined with errors.Join.
func (p *Policy) Validate(env Env) error {
	v := validator{p: p}
	v.check(env)
	return errors.Join(v.errs...)
}

type validator struct {
	p    *Policy
	errs []error
}

func (v *validator) addf(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Policy: v.p.Name, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) check(env Env) {
	p := v.p
	if !validName(p.Name) {
		v.addf("name", "invalid name %q (want 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit)", p.Name, maxNameLen)
	}
	switch p.Kind {
	case KindAccess, KindSession:
		if p.Action == "" {
			v.addf("action", "missing (want %s)", actionsOf(p.Kind))
		} else if !p.Action.ValidFor(p.Kind) {
			v.addf("action", "%q is not an action of %s policies (want %s)", p.Action, p.Kind, actionsOf(p.Kind))
		}
	case "":
		v.addf("kind", "missing (want access or session)")
	default:
		v.addf("kind", "invalid kind %q (want access or session)", p.Kind)
	}
	if len(p.Message) > maxMessageLen {
		v.addf("message", "longer than %d bytes", maxMessageLen)
	}
	if len(p.Description) > maxDescLen {
		v.addf("description", "longer than %d bytes", maxDescLen)
	}
	if p.Fallback != "" {
		if p.Kind != KindSession {
			v.addf("fallback", "only session policies take a fallback")
		} else if !p.Fallback.ValidFor(KindSession) {
			v.addf("fallback", "%q is not an action of session policies (want %s)", p.Fallback, actionsOf(KindSession))
		}
	}
	protect := p.Action == ActionProtect || (p.Kind == KindSession && p.Fallback == ActionProtect)
	if protect && len(p.ProtectRecipients) == 0 {
		v.addf("protect_recipients", "action protect needs at least one age recipient")
	}
	for _, r := range p.ProtectRecipients {
		if !validAgeRecipient(r) {
			v.addf("protect_recipients", "invalid age recipient %q (want age1…)", r)
		}
	}
	v.checkFilters(env)
}

// actionsOf lists the actions of a kind for messages.
func actionsOf(k Kind) string {
	if k == KindSession {
		return "allow, block, protect"
	}
	return "allow, block, monitor"
}

// bech32Charset is the data alphabet of bech32 (age recipients).
const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// validAgeRecipient checks the shape of an age recipient: a lower-case
// bech32 string whose human-readable part starts with "age" ("age1…" for
// X25519 keys, "age1<plugin>1…" for plugins) and whose data part uses the
// bech32 alphabet. The checksum is left to age.
func validAgeRecipient(s string) bool {
	if !strings.HasPrefix(s, "age1") || len(s) > 1024 {
		return false
	}
	sep := strings.LastIndexByte(s, '1')
	data := s[sep+1:]
	if len(data) < 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	for i := 0; i < len(data); i++ {
		if strings.IndexByte(bech32Charset, data[i]) < 0 {
			return false
		}
	}
	return true
}

// isGlob reports whether a pattern uses glob syntax.
func isGlob(s string) bool { return strings.ContainsAny(s, "*?[{\\") }

func (v *validator) checkFilters(env Env) {
	f := &v.p.Filters
	for _, nf := range f.stringFilters() {
		field := "filters." + nf.name
		if v.p.Kind == KindAccess && !nf.f.IsZero() && slices.Contains(sessionOnly, nf.name) {
			v.addf(field, "only session policies take this filter")
			continue
		}
		for _, val := range append(slices.Clone(nf.f.Include), nf.f.Exclude...) {
			if strings.TrimSpace(val) == "" {
				v.addf(field, "empty value")
				continue
			}
			v.checkValue(env, nf.name, field, val)
		}
	}
	if v.p.Kind == KindAccess && !f.FileSize.IsZero() {
		v.addf("filters.file_size", "only session policies take this filter")
	} else if r := f.FileSize; r.Min < 0 || r.Max < 0 || (r.Max > 0 && r.Max < r.Min) {
		v.addf("filters.file_size", "invalid range min %d max %d (want 0 <= min <= max; max 0 for no limit)", r.Min, r.Max)
	}
	if v.p.Kind == KindAccess && !f.Content.IsZero() {
		v.addf("filters.content", "only session policies take this filter")
		return
	}
	for _, list := range []struct {
		name  string
		rules []ContentRule
	}{{"include", f.Content.Include}, {"exclude", f.Content.Exclude}} {
		for i, r := range list.rules {
			field := fmt.Sprintf("filters.content.%s[%d]", list.name, i)
			if r.MinCount < 0 {
				v.addf(field, "negative min_count %d", r.MinCount)
			}
			if _, err := NewDetector(r.Type, r.Pattern); err != nil {
				v.addf(field, "%v", err)
			}
		}
	}
}

// checkValue checks one value of a string filter.
func (v *validator) checkValue(env Env, name, field, val string) {
	oneOf := func(allowed []string) {
		if !slices.Contains(allowed, strings.ToLower(val)) {
			v.addf(field, "invalid value %q (want %s)", val, strings.Join(allowed, ", "))
		}
	}
	globOK := func() {
		if isGlob(val) {
			if _, err := glob.Compile(strings.ToLower(val)); err != nil {
				v.addf(field, "invalid pattern %q: %v", val, err)
			}
		}
	}
	switch name {
	case "apps":
		if env.Apps != nil && !env.Apps[val] {
			v.addf(field, "unknown app %q", val)
		}
	case "users", "groups", "device_cert.subject", "device_cert.issuer", "file_name":
		globOK()
	case "domains":
		if strings.Contains(val, "@") {
			v.addf(field, "invalid domain %q (want a domain such as example.com)", val)
		}
		globOK()
	case "ips":
		if _, ok := parsePrefix(val); !ok {
			v.addf(field, "invalid CIDR %q", val)
		}
	case "ip_tags":
		if env.IPTags != nil {
			if _, ok := env.IPTags[val]; !ok {
				v.addf(field, "unknown ip tag %q", val)
			}
		}
	case "countries":
		if !validCountry(val) {
			v.addf(field, "invalid country %q (want an ISO 3166-1 alpha-2 code or unknown)", val)
		}
	case "device":
		oneOf(deviceValues)
	case "client_app":
		oneOf(clientAppValues)
	case "ua_tags":
		oneOf(uaTagValues)
	case "device_type":
		oneOf(deviceTypeValues)
	case "activities":
		oneOf(activityValues)
	case "file_ext":
		if e := strings.TrimPrefix(val, "."); e == "" || strings.ContainsAny(e, "/\\ ") {
			v.addf(field, "invalid extension %q", val)
		}
	case "mime_type":
		if !strings.Contains(val, "/") {
			v.addf(field, "invalid MIME type %q (want type/subtype, or a glob such as image/*)", val)
		}
		globOK()
	}
}

// parsePrefix parses a CIDR or a bare address (as a single-address prefix)
// and returns it masked.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// validCountry reports whether s is two ASCII letters or "unknown".
func validCountry(s string) bool {
	if strings.EqualFold(s, "unknown") {
		return true
	}
	return len(s) == 2 && isAlnum(s[0]) && isAlnum(s[1]) && !isDigit(s[0]) && !isDigit(s[1])
}

// Warnings lists the non-fatal problems of the policy under env.
func (p *Policy) Warnings(env Env) []Warning {
	var out []Warning
	if !p.Filters.Countries.IsZero() && !env.HasGeoIP {
		out = append(out, Warning{Policy: p.Name, Field: "filters.countries",
			Message: `no GeoIP database is configured (geoip.database): every country is "unknown"`})
	}
	protect := p.Action == ActionProtect || p.Fallback == ActionProtect
	if len(p.ProtectRecipients) > 0 && !protect {
		out = append(out, Warning{Policy: p.Name, Field: "protect_recipients", Message: "unused: the policy never protects"})
	}
	if p.Fallback != "" && p.Filters.Content.IsZero() {
		out = append(out, Warning{Policy: p.Name, Field: "fallback", Message: "unused: the policy has no content filter"})
	}
	return out
}

// Normalize returns the canonical form of the policy: Enabled explicit,
// case-insensitive values lower-cased (countries upper-cased; certificate
// names, user-agent substrings and file name globs kept as written), CIDRs
// masked, extensions without the dot, every list sorted without duplicates,
// a fallback of block left implicit. Policies that mean the same normalize
// to the same value; the daemon stores and exports normalized policies.
func (p Policy) Normalize() Policy {
	enabled := p.IsEnabled()
	p.Enabled = &enabled
	if p.Fallback == ActionBlock {
		p.Fallback = ""
	}
	p.ProtectRecipients = sortedUnique(p.ProtectRecipients, nil)
	f := p.Filters
	lower := strings.ToLower
	for _, nf := range f.stringFilters() {
		var fn func(string) string
		switch nf.name {
		case "apps", "ip_tags":
		case "device_cert.subject", "device_cert.issuer", "ua_contains", "file_name":
			// Matched case-insensitively, but kept as written: they are
			// easier to read that way.
		case "ips":
			fn = func(s string) string {
				if pr, ok := parsePrefix(s); ok {
					return pr.String()
				}
				return s
			}
		case "countries":
			fn = func(s string) string {
				if strings.EqualFold(s, "unknown") {
					return "unknown"
				}
				return strings.ToUpper(s)
			}
		case "file_ext":
			fn = func(s string) string { return lower(strings.TrimPrefix(s, ".")) }
		default:
			fn = lower
		}
		nf.f.Include = sortedUnique(nf.f.Include, fn)
		nf.f.Exclude = sortedUnique(nf.f.Exclude, fn)
	}
	f.Content.Include = normalizeRules(f.Content.Include)
	f.Content.Exclude = normalizeRules(f.Content.Exclude)
	p.Filters = f
	return p
}

// sortedUnique returns a sorted copy of in, mapped by fn, without
// duplicates; nil for an empty list.
func sortedUnique(in []string, fn func(string) string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		if fn != nil {
			s = fn(s)
		}
		out[i] = s
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// normalizeRules sorts content rules, lower-cases keywords and drops a
// min_count of 1.
func normalizeRules(in []ContentRule) []ContentRule {
	if len(in) == 0 {
		return nil
	}
	out := make([]ContentRule, len(in))
	for i, r := range in {
		if r.Type == DetectKeyword {
			r.Pattern = strings.ToLower(r.Pattern)
		}
		if r.MinCount == 1 {
			r.MinCount = 0
		}
		out[i] = r
	}
	slices.SortFunc(out, func(a, b ContentRule) int {
		if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Pattern, b.Pattern); c != 0 {
			return c
		}
		return a.MinCount - b.MinCount
	})
	return slices.Compact(out)
}
