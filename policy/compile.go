package policy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Defaults are the actions taken when no enforcing policy matches; empty
// means allow.
type Defaults struct {
	Access  Action `json:"access,omitempty"`  // allow, block or monitor
	Session Action `json:"session,omitempty"` // allow or block
}

// Set is a compiled, immutable set of policies, safe for concurrent use.
// The daemon builds a new Set on every change and swaps it in with an
// atomic.Pointer[Set]; evaluation never waits on anything.
type Set struct {
	all       []Policy    // every policy, normalized, by priority then name
	compiled  []*compiled // the enabled ones, same order
	kinds     [2]kindIndex
	defaults  [2]Action
	defReason [2]string
	detectors []Detector
	warnings  []Warning
	ua        UAConfig
	device    map[string]bool // app -> some device policy applies
	deviceAny bool            // a device policy applies to apps not in device
}

// kindIndex finds the candidate policies of one kind for an app.
type kindIndex struct {
	byApp    map[string][]*compiled // policies including the app, plus wildcard
	wildcard []*compiled            // policies without an app include list
}

// candidates returns the policies that may match app, by priority then
// name.
func (k *kindIndex) candidates(app string) []*compiled {
	if l, ok := k.byApp[app]; ok {
		return l
	}
	return k.wildcard
}

// compiled is one enabled policy ready for matching.
type compiled struct {
	name       string
	kind       Kind
	priority   int
	logOnly    bool
	action     Action
	fallback   Action
	message    string
	recipients []string
	checks     []check // in evaluation order
	apps       []string
	hasDevice  bool
	fast       []check   // checks but the enumerated ones
	enumInc    [5]uint32 // per enumerated filter with an include list
	nEnum      int
	enumExc    uint32 // excluded enumerated values
	hasContent bool
	reason     [2]string // by fallback
	would      [2]string
}

func kindSlot(k Kind) int {
	if k == KindSession {
		return 1
	}
	return 0
}

// Compile validates and compiles policies against env. Disabled policies
// are validated and kept for Explain but never match. Every problem of
// every policy is reported (see FieldError); names must be unique.
func Compile(policies []Policy, env Env, defaults Defaults) (*Set, error) {
	s := &Set{ua: env.UA, device: map[string]bool{}}
	var errs []error
	for i, d := range []Action{defaults.Access, defaults.Session} {
		k := []Kind{KindAccess, KindSession}[i]
		if d == "" {
			d = ActionAllow
		}
		if !d.ValidFor(k) || d == ActionProtect {
			errs = append(errs, fmt.Errorf("default %s action %q is not one of allow, block%s", k, d, map[Kind]string{KindAccess: ", monitor"}[k]))
		}
		s.defaults[i] = d
		s.defReason[i] = fmt.Sprintf("no enforcing %s policy matched: default action %s", k, d)
	}
	seen := map[string]bool{}
	for _, p := range policies {
		if seen[p.Name] {
			errs = append(errs, &FieldError{Policy: p.Name, Field: "name", Msg: "duplicate name"})
			continue
		}
		seen[p.Name] = true
		if err := p.Validate(env); err != nil {
			errs = append(errs, err)
			continue
		}
		s.warnings = append(s.warnings, p.Warnings(env)...)
		s.all = append(s.all, p.Normalize())
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(s.all, func(a, b Policy) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), strings.Compare(a.Name, b.Name))
	})
	detectors := map[string]Detector{}
	for i := range s.all {
		p := &s.all[i]
		if !p.IsEnabled() {
			continue
		}
		c, err := compilePolicy(p, env, detectors)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.compiled = append(s.compiled, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, d := range detectors {
		s.detectors = append(s.detectors, d)
	}
	slices.SortFunc(s.detectors, func(a, b Detector) int { return strings.Compare(a.key, b.key) })
	s.share()
	s.index()
	return s, nil
}

// share gives equal checks of different policies the same id, so that a
// decision evaluates each distinct check once.
func (s *Set) share() {
	ids := map[string]uint32{}
	for _, c := range s.compiled {
		for i := range c.fast {
			sig := c.fast[i].signature()
			id, ok := ids[sig]
			if !ok {
				id = uint32(len(ids))
				ids[sig] = id
			}
			c.fast[i].id = id
		}
	}
}

// index builds the per-kind app indexes and the device-needs table.
func (s *Set) index() {
	apps := map[string]bool{}
	for _, c := range s.compiled {
		for _, a := range c.apps {
			apps[a] = true
		}
		for _, ch := range c.checks {
			if ch.f == fApps {
				for _, p := range ch.exc.pats {
					apps[p.raw] = true
				}
			}
		}
	}
	for slot := range s.kinds {
		k := &s.kinds[slot]
		k.byApp = map[string][]*compiled{}
		for _, c := range s.compiled {
			if kindSlot(c.kind) != slot {
				continue
			}
			if len(c.apps) == 0 {
				k.wildcard = append(k.wildcard, c)
			}
		}
		for a := range apps {
			var l []*compiled
			for _, c := range s.compiled {
				if kindSlot(c.kind) == slot && (len(c.apps) == 0 || slices.Contains(c.apps, a)) {
					l = append(l, c)
				}
			}
			k.byApp[a] = l
		}
	}
	for _, c := range s.compiled {
		if !c.hasDevice {
			continue
		}
		if len(c.apps) == 0 {
			s.deviceAny = true
		}
		for a := range apps {
			e := evalCtx{c: &Context{App: a}}
			if c.appsMatch(&e) {
				s.device[a] = true
			}
		}
	}
	if s.deviceAny {
		for a := range apps {
			if !s.device[a] {
				s.device[a] = false
			}
		}
	}
}

// appsMatch reports whether the policy's app filter passes.
func (c *compiled) appsMatch(e *evalCtx) bool {
	for i := range c.checks {
		if c.checks[i].f == fApps {
			ok, _ := c.checks[i].match(e)
			return ok
		}
	}
	return true
}

// compilePolicy compiles one valid, normalized policy.
func compilePolicy(p *Policy, env Env, detectors map[string]Detector) (*compiled, error) {
	c := &compiled{
		name: p.Name, kind: p.Kind, priority: p.Priority, logOnly: p.LogOnly,
		action: p.Action, fallback: p.EffectiveFallback(), message: p.Message,
		recipients: p.ProtectRecipients, apps: p.Filters.Apps.Include,
	}
	ferr := func(f field, err error) error {
		return &FieldError{Policy: p.Name, Field: fieldNames[f], Msg: err.Error()}
	}
	f := &p.Filters
	strs := []struct {
		f     field
		sf    StringFilter
		globs bool
	}{
		{fApps, f.Apps, false}, {fDevice, f.Device, false}, {fClientApp, f.ClientApp, false},
		{fDeviceType, f.DeviceType, false}, {fActivities, f.Activities, false},
		{fCountries, f.Countries, false}, {fUsers, f.Users, true}, {fGroups, f.Groups, true},
		{fDomains, f.Domains, true}, {fUAContains, f.UAContains, false},
		{fCertSubject, f.DeviceCert.Subject, true}, {fCertIssuer, f.DeviceCert.Issuer, true},
		{fFileExt, f.FileExt, false}, {fFileName, f.FileName, true}, {fMIMEType, f.MIMEType, true},
	}
	for _, x := range strs {
		if x.sf.IsZero() {
			continue
		}
		ch := check{f: x.f}
		var err error
		inc, exc := x.sf.Include, x.sf.Exclude
		if x.f != fApps && x.f != fCountries {
			inc, exc = lowerAll(inc), lowerAll(exc)
		}
		if ch.inc, err = newStrMatcher(inc, x.globs); err != nil {
			return nil, ferr(x.f, err)
		}
		if ch.exc, err = newStrMatcher(exc, x.globs); err != nil {
			return nil, ferr(x.f, err)
		}
		c.checks = append(c.checks, ch)
	}
	if !f.IPs.IsZero() {
		ch := check{f: fIPs, checkExt: &checkExt{}}
		for _, v := range f.IPs.Include {
			pr, _ := parsePrefix(v)
			ch.incP = append(ch.incP, pr)
		}
		for _, v := range f.IPs.Exclude {
			pr, _ := parsePrefix(v)
			ch.excP = append(ch.excP, pr)
		}
		c.checks = append(c.checks, ch)
	}
	if !f.IPTags.IsZero() {
		ch := check{f: fIPTags, checkExt: &checkExt{incTags: f.IPTags.Include, excTags: f.IPTags.Exclude}}
		for _, t := range f.IPTags.Include {
			ps, ok := env.IPTags[t]
			if !ok {
				return nil, ferr(fIPTags, fmt.Errorf("unknown ip tag %q", t))
			}
			ch.incP = append(ch.incP, ps...)
		}
		for _, t := range f.IPTags.Exclude {
			ps, ok := env.IPTags[t]
			if !ok {
				return nil, ferr(fIPTags, fmt.Errorf("unknown ip tag %q", t))
			}
			ch.excP = append(ch.excP, ps...)
		}
		c.checks = append(c.checks, ch)
	}
	if !f.UATags.IsZero() {
		ch := check{f: fUATags}
		for _, t := range f.UATags.Include {
			ch.incMask |= uaTagBit(t)
		}
		for _, t := range f.UATags.Exclude {
			ch.excMask |= uaTagBit(t)
		}
		c.checks = append(c.checks, ch)
	}
	if !f.FileSize.IsZero() {
		c.checks = append(c.checks, check{f: fFileSize, checkExt: &checkExt{size: f.FileSize}})
	}
	if !f.Content.IsZero() {
		ch := check{f: fContent, checkExt: &checkExt{}}
		for _, list := range []struct {
			rules []ContentRule
			dst   *[]compiledRule
		}{{f.Content.Include, &ch.incRules}, {f.Content.Exclude, &ch.excRules}} {
			for _, r := range list.rules {
				key := detectorKey(r.Type, r.Pattern)
				if _, ok := detectors[key]; !ok {
					d, err := NewDetector(r.Type, r.Pattern)
					if err != nil {
						return nil, ferr(fContent, err)
					}
					detectors[key] = d
				}
				*list.dst = append(*list.dst, compiledRule{key: key, min: r.minCount(), rule: r})
			}
		}
		c.checks = append(c.checks, ch)
		c.hasContent = true
	}
	slices.SortStableFunc(c.checks, func(a, b check) int { return cmp.Compare(a.f, b.f) })
	c.splitEnum(f)
	c.hasDevice = !f.Device.IsZero() || !f.DeviceCert.IsZero()
	for i, a := range []Action{c.action, c.fallback} {
		c.reason[i] = fmt.Sprintf("policy %q (priority %d) matched: %s", c.name, c.priority, a)
		if i == 1 {
			c.reason[i] += " (content not inspected: fallback)"
		}
		c.would[i] = "would_" + string(a)
	}
	return c, nil
}

// Policies returns the set's policies, normalized, by priority then name.
// The caller must not modify them.
func (s *Set) Policies() []Policy { return s.all }

// Warnings returns the non-fatal problems found when compiling.
func (s *Set) Warnings() []Warning { return s.warnings }

// Detectors returns the content detectors the enabled session policies
// use, sorted by key; scan with ScanReader(r, s.Detectors()).
func (s *Set) Detectors() []Detector { return s.detectors }

// ParseUA parses a user agent with the set's UA thresholds.
func (s *Set) ParseUA(ua string) UAInfo { return ParseUA(ua, s.ua) }

// NeedsDevice reports whether some enabled policy (enforcing or log-only)
// for app looks at the device (device or device_cert filter), so that the
// daemon must find out whether the device is managed.
func (s *Set) NeedsDevice(app string) bool {
	if v, ok := s.device[app]; ok {
		return v
	}
	return s.deviceAny
}

// lowerAll returns the values lower-cased.
func lowerAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ToLower(v)
	}
	return out
}
