package policy

import (
	"fmt"
	"strings"
)

// Decision is the outcome of evaluating a Context.
type Decision struct {
	// Action is the effective action.
	Action Action `json:"action"`
	// Policy is the deciding policy; empty when the default applied.
	Policy string `json:"policy,omitempty"`
	// Reason says why, for events and `cas policy test`.
	Reason string `json:"reason"`
	// Default is set when no enforcing policy matched.
	Default bool `json:"default,omitempty"`
	// Fallback is set when the deciding policy took its fallback action
	// because the content could not be inspected.
	Fallback bool `json:"fallback,omitempty"`
	// Message is the deciding policy's message for the user.
	Message string `json:"message,omitempty"`
	// Recipients are the deciding policy's age recipients when Action is
	// protect. Shared with the Set: do not modify.
	Recipients []string `json:"recipients,omitempty"`
	// Matches lists every matching policy, enforcing and log-only, by
	// priority then name.
	Matches []Match `json:"matches,omitempty"`
}

// Match is one policy that matched.
type Match struct {
	Policy   string `json:"policy"`             // the policy's name
	Action   Action `json:"action"`             // its action (or fallback)
	LogOnly  bool   `json:"log_only,omitempty"` // it only records
	Priority int    `json:"priority"`           // lower is higher
	// WouldAction is "would_<action>" for a log-only policy, else empty.
	WouldAction string `json:"would_action,omitempty"`
	// Fallback is set when Action is the policy's fallback action.
	Fallback bool `json:"fallback,omitempty"`
}

// maxStackHits is how many matches Decide collects without allocating; a
// hit is the candidate's index, with hitFallback set when it matched
// through the content fallback.
const (
	maxStackHits = 256
	hitFallback  = 1 << 31
)

// matches reports whether the policy matches, and whether only through the
// content fallback.
func (c *compiled) matches(e *evalCtx, skipContent bool, cache *checkCache) (ok bool, fb int) {
	if e.bits&c.enumExc != 0 {
		return false, 0
	}
	for i := range c.nEnum {
		if e.bits&c.enumInc[i] == 0 {
			return false, 0
		}
	}
	for i := range c.fast {
		ch := &c.fast[i]
		if skipContent && ch.f == fContent {
			continue
		}
		m, f := ch.eval(e, cache)
		if !m {
			return false, 0
		}
		if f {
			fb = 1
		}
	}
	return true, fb
}

// Decide evaluates ctx against the enabled policies of ctx.Kind. The
// matching loop does not allocate; the result allocates its Matches slice
// once (not at all when nothing matched; more than once only past 32
// matches). Preparing the context allocates only for non-lower-case strings
// (see Context.Normalize) or an unparsed user agent. A context of an
// unknown kind is blocked.
func (s *Set) Decide(ctx *Context) Decision {
	var d Decision
	s.DecideInto(ctx, &d)
	return d
}

// DecideInto is Decide writing into d and reusing the capacity of
// d.Matches, so that a caller recycling Decisions (a sync.Pool) decides
// without allocating.
func (s *Set) DecideInto(ctx *Context, d *Decision) {
	matches := d.Matches[:0]
	*d = Decision{}
	if ctx.Kind != KindAccess && ctx.Kind != KindSession {
		d.Action, d.Reason = ActionBlock, "invalid context kind "+strconvQuote(string(ctx.Kind))
		return
	}
	var e evalCtx
	e.prepare(ctx, &s.ua)
	slot := kindSlot(ctx.Kind)
	var buf [maxStackHits]uint32
	hits := buf[:0]
	var cache checkCache
	best, bestRank := -1, 0
	cands := s.kinds[slot].candidates(ctx.App)
	for i, c := range cands {
		ok, fb := c.matches(&e, false, &cache)
		if !ok {
			continue
		}
		h := uint32(i)
		a := c.action
		if fb == 1 {
			h |= hitFallback
			a = c.fallback
		}
		hits = append(hits, h)
		if c.logOnly {
			continue
		}
		// Candidates come by priority then name, so the first of the
		// most restrictive rank wins ties.
		if r := a.rank(); r > bestRank {
			best, bestRank = len(hits)-1, r
		}
	}
	d.Action, d.Reason, d.Default = s.defaults[slot], s.defReason[slot], true
	if best >= 0 {
		c, fb := cands[hits[best]&^hitFallback], hits[best]&hitFallback != 0
		d.Action, d.Policy, d.Reason, d.Default = c.action, c.name, c.reason[0], false
		if fb {
			d.Action, d.Fallback, d.Reason = c.fallback, true, c.reason[1]
		}
		d.Message = c.message
		if d.Action == ActionProtect {
			d.Recipients = c.recipients
		}
	}
	if len(hits) == 0 {
		return
	}
	if cap(matches) < len(hits) {
		matches = make([]Match, 0, len(hits))
	}
	for _, h := range hits {
		c, fb := cands[h&^hitFallback], h&hitFallback != 0
		m := Match{Policy: c.name, Action: c.action, LogOnly: c.logOnly, Priority: c.priority}
		if fb {
			m.Action, m.Fallback = c.fallback, true
		}
		if c.logOnly {
			m.WouldAction = c.would[boolInt(fb)]
		}
		matches = append(matches, m)
	}
	d.Matches = matches
}

// strconvQuote quotes s for a reason (kept out of the hot path).
func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// NeedsContent reports whether some enabled session policy whose other
// filters match ctx has a content filter, so that the daemon should spool
// and scan the file (with ScanReader and s.Detectors()) before deciding.
func (s *Set) NeedsContent(ctx *Context) bool {
	if ctx.Kind != KindSession {
		return false
	}
	var e evalCtx
	e.prepare(ctx, &s.ua)
	var cache checkCache
	for _, c := range s.kinds[1].candidates(ctx.App) {
		if !c.hasContent {
			continue
		}
		if ok, _ := c.matches(&e, true, &cache); ok {
			return true
		}
	}
	return false
}

// Explanation says, for every policy of the context's kind, whether it
// matched and, if not, which filter excluded it.
type Explanation struct {
	Kind     Kind           `json:"kind"`     // the context's kind
	Decision Decision       `json:"decision"` // what Decide says
	Policies []PolicyResult `json:"policies"` // by priority then name
}

// PolicyResult is one policy's part in an Explanation.
type PolicyResult struct {
	Policy   string `json:"policy"`
	Priority int    `json:"priority"`
	Action   Action `json:"action"`
	Enabled  bool   `json:"enabled"`
	LogOnly  bool   `json:"log_only,omitempty"`
	Matched  bool   `json:"matched"`
	Fallback bool   `json:"fallback,omitempty"`
	// Filter is the first filter that excluded the policy
	// ("filters.users"); empty when it matched or is disabled.
	Filter string `json:"filter,omitempty"`
	// Why explains the result in words.
	Why string `json:"why"`
}

// Explain evaluates ctx like Decide and explains every policy of its kind,
// by priority then name, disabled ones included. It is meant for `cas
// policy test` and allocates freely.
func (s *Set) Explain(ctx *Context) Explanation {
	x := Explanation{Kind: ctx.Kind, Decision: s.Decide(ctx)}
	var e evalCtx
	e.prepare(ctx, &s.ua)
	byName := map[string]*compiled{}
	for _, c := range s.compiled {
		byName[c.name] = c
	}
	for i := range s.all {
		p := &s.all[i]
		if p.Kind != ctx.Kind {
			continue
		}
		r := PolicyResult{Policy: p.Name, Priority: p.Priority, Action: p.Action, Enabled: p.IsEnabled(), LogOnly: p.LogOnly}
		c := byName[p.Name]
		if c == nil {
			r.Why = "disabled"
			x.Policies = append(x.Policies, r)
			continue
		}
		r.Matched, r.Why = true, "all filters match"
		if len(c.checks) == 0 {
			r.Why = "no filters: matches everything"
		}
		for i := range c.checks {
			ch := &c.checks[i]
			ok, fb := ch.match(&e)
			if !ok {
				r.Matched, r.Filter, r.Why = false, fieldNames[ch.f], ch.explain(&e)
				break
			}
			if fb {
				r.Fallback, r.Action = true, c.fallback
				r.Why = "content too large to inspect: fallback " + string(c.fallback)
			}
		}
		if r.Matched && r.LogOnly {
			r.Why += "; log-only: " + c.would[boolInt(r.Fallback)]
		}
		x.Policies = append(x.Policies, r)
	}
	return x
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// explain says why the context fails the filter.
func (c *check) explain(e *evalCtx) string {
	label := strings.TrimPrefix(fieldNames[c.f], "filters.")
	switch c.f {
	case fIPs, fIPTags:
		ip := e.c.IP
		if !ip.IsValid() {
			return "no client IP"
		}
		if (len(c.incP) > 0 || len(c.incTags) > 0) && !prefixesContain(c.incP, ip) {
			if c.f == fIPTags {
				return fmt.Sprintf("IP %s is in none of the ip tags %v", ip, c.incTags)
			}
			return fmt.Sprintf("IP %s is in none of %v", ip, c.incP)
		}
		for _, p := range c.excP {
			if p.Contains(ip.Unmap()) {
				if c.f == fIPTags {
					return fmt.Sprintf("IP %s is in %s, of the excluded ip tags %v", ip, p, c.excTags)
				}
				return fmt.Sprintf("IP %s is in excluded %s", ip, p)
			}
		}
	case fUATags:
		have := strings.Join(e.ua.Tags.Strings(), ", ")
		if c.incMask != 0 && e.ua.Tags&c.incMask == 0 {
			return fmt.Sprintf("user agent tags [%s] include none of %v", have, c.incMask.Strings())
		}
		return fmt.Sprintf("user agent tags [%s] include excluded %v", have, (e.ua.Tags & c.excMask).Strings())
	case fFileSize:
		if !e.hasFile {
			return "no file"
		}
		if e.size < 0 {
			return "file size unknown"
		}
		return fmt.Sprintf("file size %d is outside [%d, %s]", e.size, c.size.Min, maxString(c.size.Max))
	case fContent:
		h := e.c.Content
		if h == nil {
			return "content not scanned"
		}
		if len(c.incRules) > 0 {
			hit := false
			for _, r := range c.incRules {
				hit = hit || h.Counts[r.key] >= r.min
			}
			if !hit {
				parts := make([]string, len(c.incRules))
				for i, r := range c.incRules {
					parts[i] = fmt.Sprintf("%s %d/%d", r.key, h.Counts[r.key], r.min)
				}
				return "no content rule reached its minimum count: " + strings.Join(parts, ", ")
			}
		}
		for _, r := range c.excRules {
			if n := h.Counts[r.key]; n >= r.min {
				return fmt.Sprintf("excluded content %s found %d times (min %d)", r.key, n, r.min)
			}
		}
	case fGroups:
		if !c.inc.empty() && !c.anyMatch(&c.inc, e) {
			return fmt.Sprintf("groups %q include none of %s", e.groups, c.inc.list())
		}
		for _, g := range e.groups {
			if p, ok := c.exc.which(g); ok {
				return fmt.Sprintf("group %q matches excluded %q", g, p)
			}
		}
	case fUAContains:
		if !c.inc.empty() && !c.anyMatch(&c.inc, e) {
			return fmt.Sprintf("user agent contains none of %s", c.inc.list())
		}
		for _, p := range c.exc.pats {
			if containsFold(e.c.UserAgent, p.raw) {
				return fmt.Sprintf("user agent contains excluded %q", p.raw)
			}
		}
	default:
		a, b, n := c.values(e)
		if n == 0 {
			return fmt.Sprintf("no %s in the context", label)
		}
		vals := fmt.Sprintf("%q", a)
		if n == 2 {
			vals = fmt.Sprintf("%q / %q", a, b)
		}
		if !c.inc.empty() && !c.anyMatch(&c.inc, e) {
			return fmt.Sprintf("%s %s is not one of %s", label, vals, c.inc.list())
		}
		for _, v := range []string{a, b}[:n] {
			if p, ok := c.exc.which(v); ok {
				return fmt.Sprintf("%s %q matches excluded %q", label, v, p)
			}
		}
	}
	return "filter does not match"
}

func maxString(m int64) string {
	if m <= 0 {
		return "∞"
	}
	return fmt.Sprint(m)
}
