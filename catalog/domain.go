package catalog

import (
	"fmt"
	"strings"
)

// MatchDomain reports whether host matches pattern, ignoring case and a
// trailing dot. A pattern "*.example.com" matches any host with one or more
// labels before ".example.com" (a.example.com, a.b.example.com) but not
// example.com itself; any other pattern matches only itself.
func MatchDomain(pattern, host string) bool {
	pattern = normHost(pattern)
	host = normHost(host)
	if pattern == "" || host == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+rest) && len(host) > len(rest)+1
	}
	return host == pattern
}

// ValidateDomainPattern reports whether pattern is a host name, optionally
// with a leading "*." label, with at least two labels after it.
func ValidateDomainPattern(pattern string) error {
	p := normHost(pattern)
	rest, wild := strings.CutPrefix(p, "*.")
	labels := strings.Split(rest, ".")
	if rest == "" || (wild && len(labels) < 2) {
		return fmt.Errorf("domain pattern %q: too broad or empty", pattern)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("domain pattern %q: invalid label %q", pattern, l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("domain pattern %q: invalid character %q", pattern, r)
			}
		}
	}
	return nil
}

func normHost(h string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
}
