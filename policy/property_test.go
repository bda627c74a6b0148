package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
)

// randomWorld generates random policies and contexts from a fixed seed,
// drawing filter values from small pools so that policies often match.
type randomWorld struct {
	r *rand.Rand
}

var (
	poolApps      = []string{"salesforce", "box", "slack"}
	poolUsers     = []string{"alice@acme.com", "bob@acme.com", "*@acme.com", "carol@other.org", "b*"}
	poolGroups    = []string{"sales", "emea", "eng", "admins"}
	poolDomains   = []string{"acme.com", "other.org", "*.acme.com"}
	poolIPs       = []string{"10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "2001:db8::/32", "203.0.113.7"}
	poolTags      = []string{"office", "tor"}
	poolCountries = []string{"FR", "US", "DE", "unknown"}
	poolUA        = []string{uaChromeWin, uaOldFirefox, uaIPhoneSafari, "curl/8.5.0", "okhttp/4.12.0"}
	poolUAContain = []string{"chrome", "iphone", "curl"}
	poolExts      = []string{"pdf", "csv", "xlsx"}
	poolMIMEs     = []string{"application/pdf", "text/*", "application/*"}
)

func (w *randomWorld) pick(pool []string) string { return pool[w.r.IntN(len(pool))] }

func (w *randomWorld) filter(pool []string) StringFilter {
	n := 1 + w.r.IntN(2)
	vals := make([]string, n)
	for i := range vals {
		vals[i] = w.pick(pool)
	}
	if w.r.IntN(3) == 0 {
		return StringFilter{Exclude: vals}
	}
	return StringFilter{Include: vals}
}

func (w *randomWorld) policy(i int) Policy {
	kind := KindAccess
	actions := []Action{ActionAllow, ActionBlock, ActionMonitor}
	if w.r.IntN(3) == 0 {
		kind = KindSession
		actions = []Action{ActionAllow, ActionBlock, ActionProtect}
	}
	p := Policy{
		Name: fmt.Sprintf("p%04d", i), Kind: kind, Priority: w.r.IntN(20),
		Action: actions[w.r.IntN(len(actions))], ProtectRecipients: []string{testRecipient},
	}
	f := &p.Filters
	maybe := func() bool { return w.r.IntN(4) == 0 }
	if w.r.IntN(2) == 0 {
		f.Apps = w.filter(poolApps)
	}
	if maybe() {
		f.Users = w.filter(poolUsers)
	}
	if maybe() {
		f.Groups = w.filter(poolGroups)
	}
	if maybe() {
		f.Domains = w.filter(poolDomains)
	}
	if maybe() {
		f.IPs = w.filter(poolIPs)
	}
	if maybe() {
		f.IPTags = w.filter(poolTags)
	}
	if maybe() {
		f.Countries = w.filter(poolCountries)
	}
	if maybe() {
		f.Device = w.filter([]string{"managed", "unmanaged"})
	}
	if maybe() {
		f.DeviceCert.Issuer = w.filter([]string{"*acme*", "cn=other*"})
	}
	if maybe() {
		f.ClientApp = w.filter(clientAppValues)
	}
	if maybe() {
		f.UATags = w.filter(uaTagValues)
	}
	if maybe() {
		f.UAContains = w.filter(poolUAContain)
	}
	if maybe() {
		f.DeviceType = w.filter(deviceTypeValues)
	}
	if kind == KindSession {
		if maybe() {
			f.Activities = w.filter(activityValues)
		}
		if maybe() {
			f.FileExt = w.filter(poolExts)
		}
		if maybe() {
			f.FileName = w.filter([]string{"*report*", "*.csv"})
		}
		if maybe() {
			f.MIMEType = w.filter(poolMIMEs)
		}
		if maybe() {
			f.FileSize = SizeRange{Min: int64(w.r.IntN(2 << 20))}
		}
		if maybe() {
			f.Content.Include = []ContentRule{{Type: []DetectorType{DetectCC, DetectSSN, DetectIBAN, DetectEmail}[w.r.IntN(4)], MinCount: w.r.IntN(3)}}
		}
		if w.r.IntN(5) == 0 {
			p.Fallback = []Action{ActionAllow, ActionBlock, ActionProtect}[w.r.IntN(3)]
		}
	}
	return p
}

func (w *randomWorld) context() *Context {
	c := &Context{
		Kind: KindAccess, App: w.pick(append(poolApps, "other")), User: w.pick([]string{"alice@acme.com", "bob@acme.com", "carol@other.org"}),
		Groups: []string{w.pick(poolGroups)}, Country: w.pick([]string{"FR", "US", ""}),
		IP:        w.pick2([]netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("198.51.100.9")}),
		UserAgent: w.pick(poolUA), Device: []DeviceState{DeviceManaged, DeviceUnmanaged, ""}[w.r.IntN(3)],
	}
	c.Email = c.User
	c.UA = ParseUA(c.UserAgent, UAConfig{})
	if w.r.IntN(2) == 0 {
		c.Cert = &CertInfo{Subject: "CN=x", Issuer: w.pick([]string{"CN=Acme CA", "CN=Other CA"})}
	}
	if w.r.IntN(2) == 0 {
		c.Kind = KindSession
		c.Activity = w.pick(activityValues)
		c.File = &FileInfo{Name: w.pick([]string{"report.pdf", "data.csv", "x.xlsx"}), Size: int64(w.r.IntN(4 << 20)), MIME: w.pick([]string{"application/pdf", "text/csv"})}
		switch w.r.IntN(3) {
		case 0:
			c.Content = &ContentHits{Counts: map[string]int{"cc": w.r.IntN(3), "ssn": w.r.IntN(2), "email": w.r.IntN(5)}}
		case 1:
			c.Content = &ContentHits{TooLarge: true}
		}
	}
	return c
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }

func (w *randomWorld) pick2(pool []netip.Addr) netip.Addr { return pool[w.r.IntN(len(pool))] }

// outcome is the part of a decision that log-only policies must not touch.
func outcome(d Decision) string {
	return fmt.Sprintf("%s|%s|%v|%v|%s", d.Action, d.Policy, d.Default, d.Fallback, d.Reason)
}

func enforcingMatches(d Decision) []Match {
	var out []Match
	for _, m := range d.Matches {
		if !m.LogOnly {
			out = append(out, m)
		}
	}
	return out
}

func TestPropertyLogOnlyNeverChangesOutcome(t *testing.T) {
	w := &randomWorld{r: rand.New(rand.NewPCG(1, 2))}
	for round := range 200 {
		var ps []Policy
		for i := range 1 + w.r.IntN(30) {
			ps = append(ps, w.policy(i))
		}
		before := mustCompile(t, ps, Defaults{})
		extra := w.policy(9999)
		extra.LogOnly = true
		after := mustCompile(t, append(ps, extra), Defaults{})
		for range 20 {
			ctx := w.context()
			d1, d2 := before.Decide(ctx), after.Decide(ctx)
			if outcome(d1) != outcome(d2) || !reflect.DeepEqual(enforcingMatches(d1), enforcingMatches(d2)) {
				t.Fatalf("round %d: adding log-only %+v changed %+v into %+v", round, extra, d1, d2)
			}
		}
	}
}

func TestPropertyDisablingEqualsRemoving(t *testing.T) {
	w := &randomWorld{r: rand.New(rand.NewPCG(3, 4))}
	for round := range 200 {
		var ps []Policy
		for i := range 2 + w.r.IntN(30) {
			ps = append(ps, w.policy(i))
		}
		k := w.r.IntN(len(ps))
		disabled := append([]Policy(nil), ps...)
		disabled[k].Enabled = enabled(false)
		removed := append(append([]Policy(nil), ps[:k]...), ps[k+1:]...)
		s1, s2 := mustCompile(t, disabled, Defaults{}), mustCompile(t, removed, Defaults{})
		for range 20 {
			ctx := w.context()
			if d1, d2 := s1.Decide(ctx), s2.Decide(ctx); !reflect.DeepEqual(d1, d2) {
				t.Fatalf("round %d: disabled %+v\nremoved %+v", round, d1, d2)
			}
			if s1.NeedsContent(ctx) != s2.NeedsContent(ctx) || s1.NeedsDevice(ctx.App) != s2.NeedsDevice(ctx.App) {
				t.Fatalf("round %d: NeedsContent/NeedsDevice differ", round)
			}
		}
	}
}

func TestPropertyInsertionOrder(t *testing.T) {
	w := &randomWorld{r: rand.New(rand.NewPCG(5, 6))}
	for round := range 100 {
		var ps []Policy
		for i := range 1 + w.r.IntN(40) {
			ps = append(ps, w.policy(i))
		}
		shuffled := append([]Policy(nil), ps...)
		w.r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		s1, s2 := mustCompile(t, ps, Defaults{}), mustCompile(t, shuffled, Defaults{})
		for range 20 {
			ctx := w.context()
			if d1, d2 := s1.Decide(ctx), s2.Decide(ctx); !reflect.DeepEqual(d1, d2) {
				t.Fatalf("round %d: order changed the decision:\n%+v\n%+v", round, d1, d2)
			}
			if x1, x2 := s1.Explain(ctx), s2.Explain(ctx); !reflect.DeepEqual(x1, x2) {
				t.Fatalf("round %d: order changed the explanation", round)
			}
		}
	}
}

// TestPropertyDecideAgreesWithExplain checks the indexed fast path against
// the per-policy explanation, which looks at every policy.
func TestPropertyDecideAgreesWithExplain(t *testing.T) {
	w := &randomWorld{r: rand.New(rand.NewPCG(7, 8))}
	decided, total := 0, 0
	for round := range 100 {
		var ps []Policy
		for i := range 1 + w.r.IntN(40) {
			ps = append(ps, w.policy(i))
		}
		s := mustCompile(t, ps, Defaults{})
		for range 20 {
			ctx := w.context()
			x := s.Explain(ctx)
			var want []string
			for _, r := range x.Policies {
				if r.Matched {
					want = append(want, r.Policy)
				}
			}
			var got []string
			for _, m := range x.Decision.Matches {
				got = append(got, m.Policy)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: Decide matched %v, Explain %v", round, got, want)
			}
			total++
			if !x.Decision.Default {
				decided++
			}
		}
	}
	// The generator must exercise both outcomes for the properties to mean
	// anything.
	if decided < total/10 || decided > total*9/10 {
		t.Errorf("%d of %d random decisions were made by a policy; want between 10%% and 90%%", decided, total)
	}
	t.Logf("%d of %d random decisions made by a policy", decided, total)
}

// TestConcurrentDecide shares one Set between goroutines (run with -race).
func TestConcurrentDecide(t *testing.T) {
	w := &randomWorld{r: newRand(13)}
	var ps []Policy
	for i := range 50 {
		ps = append(ps, w.policy(i))
	}
	s := mustCompile(t, ps, Defaults{})
	ctxs := make([]*Context, 50)
	want := make([]Decision, len(ctxs))
	for i := range ctxs {
		ctxs[i] = w.context()
		want[i] = s.Decide(ctxs[i])
	}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for round := range 20 {
				for i, c := range ctxs {
					if d := s.Decide(c); !reflect.DeepEqual(d, want[i]) {
						done <- fmt.Errorf("round %d context %d: decision changed", round, i)
						return
					}
					s.Explain(c)
					s.NeedsContent(c)
					s.NeedsDevice(c.App)
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
