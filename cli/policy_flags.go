package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cas-proxy/cas/policy"
)

// filterFlag is a policy filter as a pair of flags: --NAME adds values to the
// filter's include list, --not-NAME to its exclude list.
type filterFlag struct {
	name  string // flag name, e.g. "ip-tag"
	usage string
	// split says whether values are comma-separated; flags whose values
	// may contain commas (certificate DNs, user-agent substrings) are not.
	split  bool
	values []string // for completion
	get    func(*policy.Filters) *policy.StringFilter
}

// filterFlags are every string filter of policy.Filters, in document order.
var filterFlags = []filterFlag{
	{name: "app", usage: "app `NAME`", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.Apps }},
	{name: "user", usage: "`USER` id or email, exact or glob", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.Users }},
	{name: "group", usage: "`GROUP` from the IdP, exact or glob", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.Groups }},
	{name: "domain", usage: "email `DOMAIN`, exact or glob", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.Domains }},
	{name: "ip", usage: "network in `CIDR` notation, IPv4 or IPv6", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.IPs }},
	{name: "ip-tag", usage: "IP `TAG` name (see 'cas iptag')", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.IPTags }},
	{name: "country", usage: "ISO 3166 `COUNTRY` code, or unknown", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.Countries }},
	{name: "device", usage: "device `STATE`: managed or unmanaged", split: true, values: []string{"managed", "unmanaged"}, get: func(f *policy.Filters) *policy.StringFilter { return &f.Device }},
	{name: "device-cert-subject", usage: "glob on the device certificate's subject `DN` (not comma-split)", get: func(f *policy.Filters) *policy.StringFilter { return &f.DeviceCert.Subject }},
	{name: "device-cert-issuer", usage: "glob on the device certificate's issuer `DN` (not comma-split)", get: func(f *policy.Filters) *policy.StringFilter { return &f.DeviceCert.Issuer }},
	{name: "client-app", usage: "client `APP`: browser or native", split: true, values: []string{policy.ClientBrowser, policy.ClientNative}, get: func(f *policy.Filters) *policy.StringFilter { return &f.ClientApp }},
	{name: "ua-tag", usage: "user-agent `TAG`: native-client, outdated-browser or outdated-os", split: true, values: []string{policy.TagNativeClient, policy.TagOutdatedBrowser, policy.TagOutdatedOS}, get: func(f *policy.Filters) *policy.StringFilter { return &f.UATags }},
	{name: "ua-contains", usage: "`TEXT` in the user agent, case-insensitive (not comma-split)", get: func(f *policy.Filters) *policy.StringFilter { return &f.UAContains }},
	{name: "device-type", usage: "device `TYPE`: pc, mobile, tablet or other", split: true, values: []string{policy.DevicePC, policy.DeviceMobile, policy.DeviceTablet, policy.DeviceOther}, get: func(f *policy.Filters) *policy.StringFilter { return &f.DeviceType }},
	{name: "activity", usage: "`ACTIVITY`: view, download, upload, export or send (session)", split: true, values: []string{"view", "download", "upload", "export", "send"}, get: func(f *policy.Filters) *policy.StringFilter { return &f.Activities }},
	{name: "file-name", usage: "glob on the file `NAME` (session)", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.FileName }},
	{name: "file-ext", usage: "file `EXT`ension without the dot (session)", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.FileExt }},
	{name: "file-type", usage: "`MIME` type or glob such as image/* (session)", split: true, get: func(f *policy.Filters) *policy.StringFilter { return &f.MIMEType }},
}

// policyFilterValues holds the raw values of the filter flags of one command.
type policyFilterValues struct {
	include, exclude map[string]*[]string
	content          []string
	notContent       []string
	minMatches       int
	minSize, maxSize string
}

// registerFilterFlags adds every filter flag, its --not- form, and the
// content and size flags to cmd.
func registerFilterFlags(cmd *cobra.Command, f *Factory) *policyFilterValues {
	v := &policyFilterValues{include: map[string]*[]string{}, exclude: map[string]*[]string{}}
	fl := cmd.Flags()
	for _, ff := range filterFlags {
		inc, exc := new([]string), new([]string)
		v.include[ff.name], v.exclude[ff.name] = inc, exc
		suffix := " (repeatable"
		if ff.split {
			suffix += ", comma-separated"
		}
		suffix += ")"
		fl.StringArrayVar(inc, ff.name, nil, "Match "+ff.usage+suffix)
		fl.StringArrayVar(exc, "not-"+ff.name, nil, "Exclude "+ff.usage+suffix)
		if ff.values != nil {
			_ = cmd.RegisterFlagCompletionFunc(ff.name, fixedValues(ff.values...))
			_ = cmd.RegisterFlagCompletionFunc("not-"+ff.name, fixedValues(ff.values...))
		}
	}
	for _, n := range []string{"app", "not-app"} {
		_ = cmd.RegisterFlagCompletionFunc(n, completeFlagNames(f, appNames))
	}
	for _, n := range []string{"ip-tag", "not-ip-tag"} {
		_ = cmd.RegisterFlagCompletionFunc(n, completeFlagNames(f, iptagNames))
	}
	fl.StringArrayVar(&v.content, "content", nil, "Match content `DETECTORS`: cc, ssn, iban, email (each optionally :N for a minimum count), regex:EXPR, keyword:WORD (session; comma-separated, but regex: and keyword: take the rest of the value)")
	fl.StringArrayVar(&v.notContent, "not-content", nil, "Exclude content matching these `DETECTORS` (syntax of --content)")
	fl.IntVar(&v.minMatches, "min-matches", 0, "Minimum number of matches (`N`) for --content detectors without their own count")
	fl.StringVar(&v.minSize, "min-size", "", "Minimum file `SIZE`, e.g. 500KB, 10MiB (session)")
	fl.StringVar(&v.maxSize, "max-size", "", "Maximum file `SIZE`, e.g. 100MB (session)")
	return v
}

// build turns the flag values into filters; errors are usage errors.
func (v *policyFilterValues) build(fs *pflag.FlagSet) (policy.Filters, error) {
	var out policy.Filters
	for _, ff := range filterFlags {
		sf := ff.get(&out)
		sf.Include = flagValues(*v.include[ff.name], ff.split)
		sf.Exclude = flagValues(*v.exclude[ff.name], ff.split)
	}
	var err error
	if out.Content.Include, err = parseContentFlags(v.content, v.minMatches); err != nil {
		return out, flagErrorf("--content: %v", err)
	}
	if out.Content.Exclude, err = parseContentFlags(v.notContent, v.minMatches); err != nil {
		return out, flagErrorf("--not-content: %v", err)
	}
	if fs.Changed("min-matches") && v.minMatches < 1 {
		return out, flagErrorf("--min-matches must be at least 1")
	}
	if fs.Changed("min-matches") && len(v.content)+len(v.notContent) == 0 {
		return out, flagErrorf("--min-matches needs --content")
	}
	if v.minSize != "" {
		if out.FileSize.Min, err = parseSize(v.minSize); err != nil {
			return out, flagErrorf("--min-size: %v", err)
		}
	}
	if v.maxSize != "" {
		if out.FileSize.Max, err = parseSize(v.maxSize); err != nil {
			return out, flagErrorf("--max-size: %v", err)
		}
		if out.FileSize.Max == 0 {
			return out, flagErrorf("--max-size must be more than 0")
		}
	}
	if out.FileSize.Max > 0 && out.FileSize.Max < out.FileSize.Min {
		return out, flagErrorf("--max-size must not be less than --min-size")
	}
	return out, nil
}

func flagValues(vs []string, split bool) []string {
	if split {
		return splitValues(vs)
	}
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseContentFlags parses --content values: comma-separated detectors,
// where regex:… and keyword:… run to the end of the value so that their
// patterns may contain commas.
func parseContentFlags(vs []string, minMatches int) ([]policy.ContentRule, error) {
	var out []policy.ContentRule
	for _, v := range vs {
		for rest := v; rest != ""; {
			item := rest
			if strings.HasPrefix(rest, "regex:") || strings.HasPrefix(rest, "keyword:") {
				rest = ""
			} else if i := strings.IndexByte(rest, ','); i >= 0 {
				item, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			r, err := policy.ParseContentRule(item)
			if err != nil {
				return nil, err
			}
			if r.MinCount == 0 && minMatches > 0 {
				r.MinCount = minMatches
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// sizeUnits are the units parseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"b", 1},
}

// parseSize reads a byte count: a number with an optional unit (B, KB, MB,
// GB in powers of 1000; KiB, MiB, GiB in powers of 1024).
func parseSize(s string) (int64, error) {
	low := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(low, u.suffix); ok {
			low, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(low, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (a number of bytes, optionally with B, KB, MB, GB, KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}

// filterSummary lists the filters of a policy compactly: "ips=10.0.0.0/8",
// "device!=managed", one item per filter side.
func filterSummary(f policy.Filters) []string {
	var out []string
	add := func(name string, inc, exc []string) {
		if len(inc) > 0 {
			out = append(out, name+"="+strings.Join(inc, ","))
		}
		if len(exc) > 0 {
			out = append(out, name+"!="+strings.Join(exc, ","))
		}
	}
	for _, ff := range filterFlags {
		sf := ff.get(&f)
		add(ff.name, sf.Include, sf.Exclude)
	}
	if r := f.FileSize; !r.IsZero() {
		switch {
		case r.Max == 0:
			out = append(out, fmt.Sprintf("size>=%d", r.Min))
		default:
			out = append(out, fmt.Sprintf("size=%d..%d", r.Min, r.Max))
		}
	}
	rules := func(rs []policy.ContentRule) []string {
		s := make([]string, len(rs))
		for i, r := range rs {
			s[i] = contentRuleString(r)
		}
		return s
	}
	add("content", rules(f.Content.Include), rules(f.Content.Exclude))
	return out
}

// contentRuleString renders a rule as --content takes it, with the minimum
// count of regex and keyword rules, which the --content syntax cannot carry.
func contentRuleString(r policy.ContentRule) string {
	s := r.String()
	if (r.Type == policy.DetectRegex || r.Type == policy.DetectKeyword) && r.MinCount > 1 {
		s += fmt.Sprintf(" (at least %d)", r.MinCount)
	}
	return s
}
