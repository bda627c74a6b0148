package policy

import (
	"slices"
	"strings"
)

// Kind says what a policy decides: a login (access) or an activity inside a
// monitored session (session).
type Kind string

// Policy kinds.
const (
	KindAccess  Kind = "access"
	KindSession Kind = "session"
)

// Action is what a policy does when it matches.
type Action string

// Actions. Access policies take allow, block or monitor; session policies
// take allow, block or protect.
const (
	ActionAllow   Action = "allow"
	ActionBlock   Action = "block"
	ActionMonitor Action = "monitor"
	ActionProtect Action = "protect"
)

// rank orders actions from least to most restrictive; 0 is invalid.
func (a Action) rank() int {
	switch a {
	case ActionAllow:
		return 1
	case ActionMonitor:
		return 2
	case ActionProtect:
		return 3
	case ActionBlock:
		return 4
	}
	return 0
}

// ValidFor reports whether a is an action policies of kind k may take.
func (a Action) ValidFor(k Kind) bool {
	switch k {
	case KindAccess:
		return a == ActionAllow || a == ActionBlock || a == ActionMonitor
	case KindSession:
		return a == ActionAllow || a == ActionBlock || a == ActionProtect
	}
	return false
}

// Policy is one access or session policy as stored and exchanged. The JSON
// and YAML field names are identical and stable.
type Policy struct {
	// Name is unique among all policies: letters, digits, '.', '_', '-'.
	Name string `json:"name" yaml:"name"`
	// Kind is access or session.
	Kind Kind `json:"kind" yaml:"kind"`
	// Enabled is true when nil; use IsEnabled.
	Enabled *bool `json:"enabled,omitempty" yaml:"enabled,omitempty"`
	// Priority breaks ties between equally restrictive actions: a lower
	// number is a higher priority.
	Priority int `json:"priority" yaml:"priority"`
	// LogOnly makes the policy record what it would have done without
	// changing the outcome.
	LogOnly bool `json:"log_only,omitempty" yaml:"log_only,omitempty"`
	// Action is taken when the policy matches.
	Action Action `json:"action" yaml:"action"`
	// Message is shown to the user on a block page or notice.
	Message string `json:"message,omitempty" yaml:"message,omitempty"`
	// Description is for administrators.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Filters select the logins or activities the policy applies to.
	Filters Filters `json:"filters,omitzero" yaml:"filters,omitempty"`
	// ProtectRecipients are the age recipients ("age1…") files are
	// encrypted to; required when Action or Fallback is protect.
	ProtectRecipients []string `json:"protect_recipients,omitempty" yaml:"protect_recipients,omitempty"`
	// Fallback is the action of a session policy with a content filter
	// when the content could not be inspected (too large); block when
	// empty. Only session policies take it.
	Fallback Action `json:"fallback,omitempty" yaml:"fallback,omitempty"`
}

// IsEnabled reports whether the policy is enabled (nil Enabled means yes).
func (p *Policy) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// EffectiveFallback returns the action used when content could not be
// inspected: Fallback, or block when unset.
func (p *Policy) EffectiveFallback() Action {
	if p.Fallback == "" {
		return ActionBlock
	}
	return p.Fallback
}

// IPTagNames returns the IP tags the policy refers to (included or
// excluded), sorted and without duplicates.
func (p *Policy) IPTagNames() []string { return p.Filters.IPTags.values() }

// AppNames returns the apps the policy refers to (included or excluded),
// sorted and without duplicates.
func (p *Policy) AppNames() []string { return p.Filters.Apps.values() }

// Filters select what a policy applies to. Every filter is optional;
// different filters AND together. Filters from Activities on are for session
// policies only.
type Filters struct {
	// Apps are app names, exact.
	Apps StringFilter `json:"apps,omitzero" yaml:"apps,omitempty"`
	// Users are exact values or globs ('*', '?', '[…]') matched
	// case-insensitively against the user id and the email address.
	Users StringFilter `json:"users,omitzero" yaml:"users,omitempty"`
	// Groups are exact values or globs, case-insensitive.
	Groups StringFilter `json:"groups,omitzero" yaml:"groups,omitempty"`
	// Domains are email domains, exact or glob ("*.example.com"),
	// case-insensitive.
	Domains StringFilter `json:"domains,omitzero" yaml:"domains,omitempty"`
	// IPs are CIDR prefixes (IPv4 or IPv6); a bare address means /32 or /128.
	IPs StringFilter `json:"ips,omitzero" yaml:"ips,omitempty"`
	// IPTags are names of IP tags, resolved to prefixes when compiled.
	IPTags StringFilter `json:"ip_tags,omitzero" yaml:"ip_tags,omitempty"`
	// Countries are ISO 3166-1 alpha-2 codes, or "unknown".
	Countries StringFilter `json:"countries,omitzero" yaml:"countries,omitempty"`
	// Device is managed or unmanaged.
	Device StringFilter `json:"device,omitzero" yaml:"device,omitempty"`
	// DeviceCert matches the client certificate's subject and issuer.
	DeviceCert DeviceCertFilter `json:"device_cert,omitzero" yaml:"device_cert,omitempty"`
	// ClientApp is browser or native.
	ClientApp StringFilter `json:"client_app,omitzero" yaml:"client_app,omitempty"`
	// UATags are native-client, outdated-browser, outdated-os.
	UATags StringFilter `json:"ua_tags,omitzero" yaml:"ua_tags,omitempty"`
	// UAContains are substrings of the raw user agent, case-insensitive.
	UAContains StringFilter `json:"ua_contains,omitzero" yaml:"ua_contains,omitempty"`
	// DeviceType is pc, mobile, tablet or other.
	DeviceType StringFilter `json:"device_type,omitzero" yaml:"device_type,omitempty"`

	// Activities are view, download, upload, export, send.
	Activities StringFilter `json:"activities,omitzero" yaml:"activities,omitempty"`
	// FileName are globs on the file name, case-insensitive.
	FileName StringFilter `json:"file_name,omitzero" yaml:"file_name,omitempty"`
	// FileExt are extensions without the dot ("pdf"), case-insensitive.
	FileExt StringFilter `json:"file_ext,omitzero" yaml:"file_ext,omitempty"`
	// FileSize is a size range in bytes.
	FileSize SizeRange `json:"file_size,omitzero" yaml:"file_size,omitempty"`
	// MIMEType are MIME types or globs ("image/*"), parameters ignored.
	MIMEType StringFilter `json:"mime_type,omitzero" yaml:"mime_type,omitempty"`
	// Content inspects the file's content with detectors.
	Content ContentFilter `json:"content,omitzero" yaml:"content,omitempty"`
}

// IsZero reports whether no filter is set.
func (f Filters) IsZero() bool {
	for _, s := range f.stringFilters() {
		if !s.f.IsZero() {
			return false
		}
	}
	return f.DeviceCert.IsZero() && f.FileSize.IsZero() && f.Content.IsZero()
}

// namedFilter pairs a string filter with its field name.
type namedFilter struct {
	name string
	f    *StringFilter
}

// stringFilters lists the string filters with their field names, in
// document order.
func (f *Filters) stringFilters() []namedFilter {
	return []namedFilter{
		{"apps", &f.Apps}, {"users", &f.Users}, {"groups", &f.Groups}, {"domains", &f.Domains},
		{"ips", &f.IPs}, {"ip_tags", &f.IPTags}, {"countries", &f.Countries}, {"device", &f.Device},
		{"device_cert.subject", &f.DeviceCert.Subject}, {"device_cert.issuer", &f.DeviceCert.Issuer},
		{"client_app", &f.ClientApp}, {"ua_tags", &f.UATags}, {"ua_contains", &f.UAContains},
		{"device_type", &f.DeviceType}, {"activities", &f.Activities}, {"file_name", &f.FileName},
		{"file_ext", &f.FileExt}, {"mime_type", &f.MIMEType},
	}
}

// StringFilter is one filter's values. When Include is non-empty one of its
// values must match; no value of Exclude may match.
type StringFilter struct {
	Include []string `json:"include,omitempty" yaml:"include,omitempty"` // one must match
	Exclude []string `json:"exclude,omitempty" yaml:"exclude,omitempty"` // none may match
}

// IsZero reports whether the filter has no values.
func (s StringFilter) IsZero() bool { return len(s.Include) == 0 && len(s.Exclude) == 0 }

// values returns the included and excluded values, sorted and unique.
func (s StringFilter) values() []string {
	out := append(slices.Clone(s.Include), s.Exclude...)
	slices.Sort(out)
	return slices.Compact(out)
}

// DeviceCertFilter matches the client certificate presented on the device
// host. Patterns are globs, case-insensitive, on the subject and issuer
// distinguished names as the daemon renders them (e.g. "CN=laptop-42,O=Acme").
type DeviceCertFilter struct {
	Subject StringFilter `json:"subject,omitzero" yaml:"subject,omitempty"`
	Issuer  StringFilter `json:"issuer,omitzero" yaml:"issuer,omitempty"`
}

// IsZero reports whether neither subject nor issuer patterns are set.
func (d DeviceCertFilter) IsZero() bool { return d.Subject.IsZero() && d.Issuer.IsZero() }

// SizeRange matches file sizes in bytes: Min <= size, and size <= Max when
// Max is positive (0 means no upper bound). A file of unknown size never
// matches a size range.
type SizeRange struct {
	Min int64 `json:"min,omitempty" yaml:"min,omitempty"` // bytes, inclusive
	Max int64 `json:"max,omitempty" yaml:"max,omitempty"` // bytes, inclusive; 0 = none
}

// IsZero reports whether the range is unset.
func (r SizeRange) IsZero() bool { return r.Min == 0 && r.Max == 0 }

// ContentFilter inspects file content. When Include is non-empty one rule
// must be satisfied; no rule of Exclude may be.
type ContentFilter struct {
	Include []ContentRule `json:"include,omitempty" yaml:"include,omitempty"`
	Exclude []ContentRule `json:"exclude,omitempty" yaml:"exclude,omitempty"`
}

// IsZero reports whether the filter has no rules.
func (c ContentFilter) IsZero() bool { return len(c.Include) == 0 && len(c.Exclude) == 0 }

// ContentRule is satisfied when its detector matches at least MinCount
// times (1 when zero).
type ContentRule struct {
	// Type is a built-in detector (cc, ssn, iban, email) or regex or keyword.
	Type DetectorType `json:"type" yaml:"type"`
	// Pattern is the RE2 expression (regex) or the word (keyword).
	Pattern string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
	// MinCount is the minimum number of matches; 0 means 1.
	MinCount int `json:"min_count,omitempty" yaml:"min_count,omitempty"`
}

// minCount returns the effective minimum count.
func (r ContentRule) minCount() int {
	if r.MinCount <= 0 {
		return 1
	}
	return r.MinCount
}

// String renders the rule in the CLI's --content syntax (see
// ParseContentRule).
func (r ContentRule) String() string {
	var b strings.Builder
	b.WriteString(string(r.Type))
	switch r.Type {
	case DetectRegex, DetectKeyword:
		b.WriteString(":")
		b.WriteString(r.Pattern)
	default:
		if r.MinCount > 1 {
			b.WriteString(":")
			b.WriteString(itoa(r.MinCount))
		}
	}
	return b.String()
}

// itoa formats a small non-negative int without fmt.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
