package policy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gobwas/glob"
)

// field identifies a filter; the order of the constants is the evaluation
// order (cheapest and most selective first).
type field uint8

const (
	fApps field = iota
	fDevice
	fClientApp
	fDeviceType
	fUATags
	fActivities
	fCountries
	fIPs
	fIPTags
	fUsers
	fGroups
	fDomains
	fUAContains
	fCertSubject
	fCertIssuer
	fFileExt
	fFileName
	fFileSize
	fMIMEType
	fContent
)

// fieldNames are the filters' paths, for explanations.
var fieldNames = [...]string{
	fApps: "filters.apps", fDevice: "filters.device", fClientApp: "filters.client_app",
	fDeviceType: "filters.device_type", fUATags: "filters.ua_tags", fActivities: "filters.activities",
	fCountries: "filters.countries", fIPs: "filters.ips", fIPTags: "filters.ip_tags",
	fUsers: "filters.users", fGroups: "filters.groups", fDomains: "filters.domains",
	fUAContains: "filters.ua_contains", fCertSubject: "filters.device_cert.subject",
	fCertIssuer: "filters.device_cert.issuer", fFileExt: "filters.file_ext",
	fFileName: "filters.file_name", fFileSize: "filters.file_size", fMIMEType: "filters.mime_type",
	fContent: "filters.content",
}

// patKind says how a pattern matches. Globs whose only wildcards are '*'
// at the ends or in the middle ("*@acme.com", "cn=laptop-*", "*acme*",
// "a*b") are matched with prefix, suffix and substring tests; other globs
// go to gobwas/glob.
type patKind uint8

const (
	patExact patKind = iota
	patPrefix
	patSuffix
	patContains
	patPrefixSuffix
	patGlob
)

// pattern is one compiled value of a string filter.
type pattern struct {
	raw      string
	kind     patKind
	pre, suf string // patPrefix, patSuffix, patContains (pre), patPrefixSuffix
	g        *glob.Pattern
}

// compilePattern compiles one value; globs says whether glob syntax applies.
func compilePattern(v string, globs bool) (pattern, error) {
	p := pattern{raw: v}
	if !globs || !isGlob(v) {
		return p, nil
	}
	g, err := glob.Compile(v)
	if err != nil {
		return p, fmt.Errorf("invalid pattern %q: %w", v, err)
	}
	p.kind, p.g = patGlob, g
	if strings.ContainsAny(v, "?[{\\") {
		return p, nil
	}
	parts := strings.Split(v, "*")
	switch {
	case len(parts) == 2 && parts[0] == "":
		p.kind, p.suf = patSuffix, parts[1]
	case len(parts) == 2 && parts[1] == "":
		p.kind, p.pre = patPrefix, parts[0]
	case len(parts) == 2:
		p.kind, p.pre, p.suf = patPrefixSuffix, parts[0], parts[1]
	case len(parts) == 3 && parts[0] == "" && parts[2] == "":
		p.kind, p.pre = patContains, parts[1]
	}
	return p, nil
}

// match reports whether s matches the pattern.
func (p *pattern) match(s string) bool {
	switch p.kind {
	case patExact:
		return p.raw == s
	case patPrefix:
		return strings.HasPrefix(s, p.pre)
	case patSuffix:
		return strings.HasSuffix(s, p.suf)
	case patContains:
		return strings.Contains(s, p.pre)
	case patPrefixSuffix:
		return len(s) >= len(p.pre)+len(p.suf) && strings.HasPrefix(s, p.pre) && strings.HasSuffix(s, p.suf)
	}
	return p.g.Match(s)
}

// strMatcher matches a string against exact values and globs.
type strMatcher struct {
	pats  []pattern
	exact map[string]struct{} // exact values, when there are many
	globs []pattern           // the other patterns, when exact is set
}

// exactMapMin is the number of exact values from which a map beats a scan.
const exactMapMin = 8

func newStrMatcher(vals []string, globs bool) (strMatcher, error) {
	var m strMatcher
	nExact := 0
	for _, v := range vals {
		p, err := compilePattern(v, globs)
		if err != nil {
			return m, err
		}
		if p.kind == patExact {
			nExact++
		}
		m.pats = append(m.pats, p)
	}
	if nExact >= exactMapMin {
		m.exact = make(map[string]struct{}, nExact)
		for _, p := range m.pats {
			if p.kind == patExact {
				m.exact[p.raw] = struct{}{}
			} else {
				m.globs = append(m.globs, p)
			}
		}
	}
	return m, nil
}

func (m *strMatcher) empty() bool { return len(m.pats) == 0 }

// match reports whether s matches a value.
func (m *strMatcher) match(s string) bool {
	if m.exact != nil {
		if _, ok := m.exact[s]; ok {
			return true
		}
		for i := range m.globs {
			if m.globs[i].match(s) {
				return true
			}
		}
		return false
	}
	for i := range m.pats {
		if m.pats[i].match(s) {
			return true
		}
	}
	return false
}

// which returns the first value s matches, for explanations.
func (m *strMatcher) which(s string) (string, bool) {
	for i := range m.pats {
		if m.pats[i].match(s) {
			return m.pats[i].raw, true
		}
	}
	return "", false
}

// list renders the values for explanations.
func (m *strMatcher) list() string {
	raw := make([]string, len(m.pats))
	for i, p := range m.pats {
		raw[i] = p.raw
	}
	return "[" + strings.Join(raw, ", ") + "]"
}

// check is one compiled filter. It is a concrete type (no interface) so
// that matching does not make the evaluation context escape.
type check struct {
	id       uint32 // equal checks share an id (see Set.share)
	f        field
	incMask  UATags
	excMask  UATags
	inc, exc strMatcher
	*checkExt
}

// checkExt holds what only some filters need, out of line so that checks
// stay small and the matching loop touches little memory.
type checkExt struct {
	incP     []netip.Prefix
	excP     []netip.Prefix
	incTags  []string // ip tag names, for explanations
	excTags  []string
	size     SizeRange
	incRules []compiledRule
	excRules []compiledRule
}

// compiledRule is a content rule with its detector key.
type compiledRule struct {
	key  string
	min  int
	rule ContentRule
}

// values returns the context's values for a string filter: up to two
// (user id and email for users); multi-valued groups are handled apart.
func (c *check) values(e *evalCtx) (a, b string, n int) {
	switch c.f {
	case fApps:
		return e.c.App, "", 1
	case fDevice:
		return e.device, "", 1
	case fClientApp:
		return e.ua.ClientApp, "", 1
	case fDeviceType:
		return e.ua.DeviceType, "", 1
	case fActivities:
		return strings.ToLower(e.c.Activity), "", 1
	case fCountries:
		return e.country, "", 1
	case fUsers:
		if e.email != "" && e.email != e.user {
			return e.user, e.email, 2
		}
		return e.user, "", 1
	case fDomains:
		if e.domain == "" {
			return "", "", 0
		}
		return e.domain, "", 1
	case fCertSubject:
		if !e.hasCert {
			return "", "", 0
		}
		return e.subject, "", 1
	case fCertIssuer:
		if !e.hasCert {
			return "", "", 0
		}
		return e.issuer, "", 1
	case fFileExt:
		if !e.hasFile || e.fileExt == "" {
			return "", "", 0
		}
		return e.fileExt, "", 1
	case fFileName:
		if !e.hasFile {
			return "", "", 0
		}
		return e.fileName, "", 1
	case fMIMEType:
		if !e.hasFile || e.mime == "" {
			return "", "", 0
		}
		return e.mime, "", 1
	}
	return "", "", 0
}

// anyMatch reports whether one of the context's values matches m.
func (c *check) anyMatch(m *strMatcher, e *evalCtx) bool {
	switch c.f {
	case fGroups:
		for _, g := range e.groups {
			if m.match(g) {
				return true
			}
		}
		return false
	case fUAContains:
		for _, p := range m.pats {
			if e.ua.lower != "" {
				if strings.Contains(e.ua.lower, p.raw) {
					return true
				}
			} else if containsFold(e.c.UserAgent, p.raw) {
				return true
			}
		}
		return false
	}
	a, b, n := c.values(e)
	return (n >= 1 && m.match(a)) || (n == 2 && m.match(b))
}

// containsFold reports whether s contains the lower-case substr, ignoring
// ASCII case.
func containsFold(s, substr string) bool {
	n := len(substr)
	if n == 0 {
		return true
	}
	first := substr[0]
	for i := 0; i+n <= len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != first {
			continue
		}
		j := 1
		for ; j < n; j++ {
			d := s[i+j]
			if 'A' <= d && d <= 'Z' {
				d += 'a' - 'A'
			}
			if d != substr[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

func prefixesContain(ps []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// match reports whether the context passes the filter. fallback is set
// when a content filter passes only because the content was too large to
// inspect.
func (c *check) match(e *evalCtx) (ok, fallback bool) {
	switch c.f {
	case fIPs, fIPTags:
		if len(c.incP) > 0 || len(c.incTags) > 0 {
			if !prefixesContain(c.incP, e.c.IP) {
				return false, false
			}
		}
		return !prefixesContain(c.excP, e.c.IP), false
	case fUATags:
		if c.incMask != 0 && e.ua.Tags&c.incMask == 0 {
			return false, false
		}
		return e.ua.Tags&c.excMask == 0, false
	case fFileSize:
		if !e.hasFile || e.size < 0 || e.size < c.size.Min || (c.size.Max > 0 && e.size > c.size.Max) {
			return false, false
		}
		return true, false
	case fContent:
		return c.matchContent(e)
	}
	if !c.inc.empty() && !c.anyMatch(&c.inc, e) {
		return false, false
	}
	if !c.exc.empty() && c.anyMatch(&c.exc, e) {
		return false, false
	}
	return true, false
}

func (c *check) matchContent(e *evalCtx) (ok, fallback bool) {
	h := e.c.Content
	if h == nil {
		return len(c.incRules) == 0, false
	}
	if h.TooLarge {
		return true, true
	}
	if len(c.incRules) > 0 {
		hit := false
		for _, r := range c.incRules {
			if h.Counts[r.key] >= r.min {
				hit = true
				break
			}
		}
		if !hit {
			return false, false
		}
	}
	for _, r := range c.excRules {
		if h.Counts[r.key] >= r.min {
			return false, false
		}
	}
	return true, false
}

// signature identifies what a check tests, so that equal checks of
// different policies are evaluated once per decision.
func (c *check) signature() string {
	var b strings.Builder
	b.WriteByte(byte(c.f))
	// Every string is quoted, so that no value can forge a separator.
	for _, m := range []*strMatcher{&c.inc, &c.exc} {
		b.WriteString("|")
		for _, p := range m.pats {
			fmt.Fprintf(&b, "%q,", p.raw)
		}
	}
	fmt.Fprintf(&b, "|%d|%d", c.incMask, c.excMask)
	if x := c.checkExt; x != nil {
		fmt.Fprintf(&b, "|%v|%v|%q|%q|%d|%d", x.incP, x.excP, x.incTags, x.excTags, x.size.Min, x.size.Max)
		for _, r := range x.incRules {
			fmt.Fprintf(&b, "|+%q/%d", r.key, r.min)
		}
		for _, r := range x.excRules {
			fmt.Fprintf(&b, "|-%q/%d", r.key, r.min)
		}
	}
	return b.String()
}

// maxCachedChecks is how many distinct checks a decision remembers the
// result of (on its stack); checks past it are evaluated every time.
const maxCachedChecks = 2048

// checkCache holds a decision's check results by check id: 0 not yet
// evaluated, 1 failed, 2 passed, 3 passed through the content fallback.
type checkCache [maxCachedChecks]uint8

// eval returns the check's result, from the cache when it is there.
func (c *check) eval(e *evalCtx, cache *checkCache) (ok, fallback bool) {
	if c.id >= maxCachedChecks {
		return c.match(e)
	}
	r := cache[c.id]
	if r == 0 {
		ok, fallback = c.match(e)
		r = 1
		if ok {
			r = 2
			if fallback {
				r = 3
			}
		}
		cache[c.id] = r
		return ok, fallback
	}
	return r >= 2, r == 3
}
