package session

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Mode selects how an app host is turned into a proxy host.
type Mode string

const (
	// ModeSuffix appends the suffix: acme.my.salesforce.com becomes
	// acme.my.salesforce.com.<suffix>. Every proxy host needs its own
	// certificate (from the internal CA).
	ModeSuffix Mode = "suffix"
	// ModeFlat folds the whole app host into one label under the suffix:
	// acme.my.salesforce.com becomes acme--my--salesforce--com.<suffix>, so
	// that one wildcard certificate for *.<suffix> serves every app.
	//
	// The encoding: every "-" of the app host is written "-0" first, then
	// every "." is written "--". Decoding reads the label left to right, where
	// each "-" starts a pair: "--" is a dot and "-0" a hyphen; anything else
	// is not a flat host. So xn--bcher-kva.example.com becomes
	// xn-0-0bcher-0kva--example--com and round-trips. The folded label must
	// fit DNS's 63 bytes; longer hosts cannot be flat-mapped.
	ModeFlat Mode = "flat"
)

// maxLabel is the longest DNS label, which bounds a flat-mapped host.
const maxLabel = 63

// maxHost is the longest DNS name in its textual form.
const maxHost = 253

// App names an app and the domain patterns its hosts must match.
//
// A pattern is either an exact host ("acme.my.salesforce.com") or a wildcard
// "*.my.salesforce.com", which matches every host strictly below
// my.salesforce.com, at any depth, but not my.salesforce.com itself.
type App struct {
	Name    string
	Domains []string
}

// pattern is one compiled domain pattern.
type pattern struct {
	app      string
	base     string // lower case, no "*." and no trailing dot
	wildcard bool
}

// matches reports whether the lower-case host h matches p.
func (p *pattern) matches(h string) bool {
	if !p.wildcard {
		return h == p.base
	}
	return len(h) > len(p.base)+1 && strings.HasSuffix(h, p.base) && h[len(h)-len(p.base)-1] == '.'
}

// Mapper maps app hosts to proxy hosts and back. It is immutable after
// NewMapper and safe for concurrent use.
type Mapper struct {
	suffix   string // lower case, no leading or trailing dot
	mode     Mode
	patterns []pattern
}

// NewMapper returns a Mapper for the proxy suffix (such as
// "cas.example.com"), the mapping mode and the apps whose hosts may be
// mapped. It fails on an empty or malformed suffix, an unknown mode, a
// malformed pattern, or a pattern under the suffix itself.
func NewMapper(suffix string, mode Mode, apps []App) (*Mapper, error) {
	suffix = strings.Trim(strings.ToLower(suffix), ".")
	if !validHost(suffix) {
		return nil, fmt.Errorf("session: new mapper: invalid suffix %q", suffix)
	}
	switch mode {
	case "":
		mode = ModeSuffix
	case ModeSuffix, ModeFlat:
	default:
		return nil, fmt.Errorf("session: new mapper: unknown host mapping %q", mode)
	}
	m := &Mapper{suffix: suffix, mode: mode}
	for _, a := range apps {
		if a.Name == "" {
			return nil, errors.New("session: new mapper: app without a name")
		}
		for _, d := range a.Domains {
			d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
			p := pattern{app: a.Name, base: d}
			if rest, ok := strings.CutPrefix(d, "*."); ok {
				p.base, p.wildcard = rest, true
			}
			if !validHost(p.base) || !strings.Contains(p.base, ".") {
				return nil, fmt.Errorf("session: new mapper: app %s: invalid domain pattern %q", a.Name, d)
			}
			if p.base == suffix || strings.HasSuffix(p.base, "."+suffix) {
				return nil, fmt.Errorf("session: new mapper: app %s: domain %q is under the proxy suffix", a.Name, d)
			}
			m.patterns = append(m.patterns, p)
		}
	}
	return m, nil
}

// Suffix returns the proxy suffix, lower case, without dots around it.
func (m *Mapper) Suffix() string { return m.suffix }

// Mode returns the mapping mode.
func (m *Mapper) Mode() Mode { return m.mode }

// App returns the app whose domain patterns match host (case-insensitive, a
// port ignored), and whether one does.
func (m *Mapper) App(host string) (string, bool) {
	h, _ := splitPort(host)
	return m.app(strings.ToLower(h))
}

func (m *Mapper) app(h string) (string, bool) {
	for i := range m.patterns {
		if m.patterns[i].matches(h) {
			return m.patterns[i].app, true
		}
	}
	return "", false
}

// ToProxy returns the proxy host for the app host, and whether host belongs
// to an app. Matching is case-insensitive and the result is lower case; a
// port ("host:8443") is kept as it is on the result.
func (m *Mapper) ToProxy(host string) (string, bool) {
	h, port := splitPort(host)
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if _, ok := m.app(h); !ok {
		return "", false
	}
	p, ok := m.proxyName(h)
	if !ok {
		return "", false
	}
	return joinPort(p, port), true
}

// proxyName maps a lower-case app host that is known to match a pattern.
func (m *Mapper) proxyName(h string) (string, bool) {
	if m.mode == ModeSuffix {
		if len(h)+1+len(m.suffix) > maxHost {
			return "", false
		}
		return h + "." + m.suffix, true
	}
	label := EncodeFlat(h)
	if len(label) > maxLabel {
		return "", false
	}
	return label + "." + m.suffix, true
}

// ToUpstream returns the app host behind a proxy host and the app it
// belongs to. It is not ok when proxyHost is not under the suffix, is not a
// valid encoding in flat mode, or maps to a host no app pattern matches.
// Matching is case-insensitive; a port is kept on upstream as it is.
func (m *Mapper) ToUpstream(proxyHost string) (upstream, app string, ok bool) {
	h, port := splitPort(proxyHost)
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	up, ok := m.upstreamName(h)
	if !ok {
		return "", "", false
	}
	app, ok = m.app(up)
	if !ok {
		return "", "", false
	}
	return joinPort(up, port), app, true
}

// upstreamName undoes proxyName on a lower-case host, without checking
// the app patterns.
func (m *Mapper) upstreamName(h string) (string, bool) {
	rest, ok := strings.CutSuffix(h, "."+m.suffix)
	if !ok || rest == "" {
		return "", false
	}
	if m.mode == ModeSuffix {
		return rest, true
	}
	if strings.Contains(rest, ".") {
		return "", false
	}
	return DecodeFlat(rest)
}

// EncodeFlat folds a host name into one label as ModeFlat describes:
// "-" becomes "-0", then "." becomes "--".
func EncodeFlat(host string) string {
	var b strings.Builder
	b.Grow(len(host) + 8)
	for i := 0; i < len(host); i++ {
		switch c := host[i]; c {
		case '-':
			b.WriteString("-0")
		case '.':
			b.WriteString("--")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DecodeFlat undoes EncodeFlat. It reports false for a label that
// EncodeFlat cannot have produced, so every proxy host has exactly one
// upstream host.
func DecodeFlat(label string) (string, bool) {
	if label == "" {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(label))
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c == '.' {
			return "", false
		}
		if c != '-' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(label) {
			return "", false
		}
		i++
		switch label[i] {
		case '-':
			b.WriteByte('.')
		case '0':
			b.WriteByte('-')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// splitPort splits "host:port" and "[v6]:port"; a host without a port is
// returned whole with an empty port.
func splitPort(hostport string) (host, port string) {
	if strings.IndexByte(hostport, ':') < 0 {
		return hostport, "" // as net.SplitHostPort fails: missing port
	}
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return hostport, ""
}

func joinPort(host, port string) string {
	if port == "" {
		return host
	}
	return host + ":" + port
}

// validHost reports whether h is a plausible lower-case DNS name: labels of
// letters, digits and hyphens, separated by single dots.
func validHost(h string) bool {
	if h == "" || len(h) > maxHost {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > maxLabel {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
