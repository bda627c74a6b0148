package policy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
)

// benchPolicies returns n policies mixing every filter kind, spread over
// 50 apps, a fifth without an app filter.
func benchPolicies(n int) []Policy {
	w := &randomWorld{r: rand.New(rand.NewPCG(42, 42))}
	ps := make([]Policy, n)
	for i := range ps {
		p := w.policy(i)
		if i%5 != 0 {
			p.Filters.Apps = inc(fmt.Sprintf("app%02d", i%50))
		} else {
			p.Filters.Apps = StringFilter{}
		}
		p.LogOnly = i%7 == 0
		ps[i] = p
	}
	return ps
}

func benchEnv() Env {
	env := testEnv()
	env.Apps = nil
	return env
}

func BenchmarkDecideAccess1000(b *testing.B) {
	s, err := Compile(benchPolicies(1000), benchEnv(), Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := baseContext()
	ctx.App = "app07"
	ctx.Normalize()
	d := s.Decide(ctx)
	b.Logf("candidates %d, matches %d, action %s", len(s.kinds[0].candidates(ctx.App)), len(d.Matches), d.Action)
	b.ReportAllocs()
	for b.Loop() {
		s.Decide(ctx)
	}
}

// BenchmarkDecideAccessAllCandidates1000 is the worst case: every policy
// applies to every app, so all 1,000 are evaluated.
func BenchmarkDecideAccessAllCandidates1000(b *testing.B) {
	ps := benchPolicies(1000)
	for i := range ps {
		ps[i].Filters.Apps = StringFilter{}
	}
	s, err := Compile(ps, benchEnv(), Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := baseContext()
	ctx.Normalize()
	d := s.Decide(ctx)
	b.Logf("candidates %d, matches %d, action %s", len(s.kinds[0].candidates(ctx.App)), len(d.Matches), d.Action)
	b.Run("Decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Decide(ctx)
		}
	})
	b.Run("DecideInto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.DecideInto(ctx, &d)
		}
	})
}

func BenchmarkDecideSession1000(b *testing.B) {
	s, err := Compile(benchPolicies(1000), benchEnv(), Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := sessionContext()
	ctx.App = "app07"
	ctx.Normalize()
	b.ReportAllocs()
	for b.Loop() {
		s.Decide(ctx)
	}
}

// TestDecideAllocations pins the allocation budget: none when nothing
// matches, one (the Matches slice) otherwise.
func TestDecideAllocations(t *testing.T) {
	s, err := Compile(benchPolicies(1000), benchEnv(), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := baseContext()
	ctx.App = "app07"
	ctx.Normalize()
	if d := s.Decide(ctx); len(d.Matches) == 0 {
		t.Fatal("benchmark context matches nothing")
	}
	if n := testing.AllocsPerRun(100, func() { s.Decide(ctx) }); n > 1 {
		t.Errorf("Decide allocates %v times, want at most 1", n)
	}
	empty := mustCompile(t, nil, Defaults{})
	if n := testing.AllocsPerRun(100, func() { empty.Decide(ctx) }); n != 0 {
		t.Errorf("Decide with no match allocates %v times, want 0", n)
	}
}

func BenchmarkDecideIntoAccess1000(b *testing.B) {
	s, err := Compile(benchPolicies(1000), benchEnv(), Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := baseContext()
	ctx.App = "app07"
	ctx.Normalize()
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		s.DecideInto(ctx, &d)
	}
}

func TestDecideIntoReuses(t *testing.T) {
	s, err := Compile(benchPolicies(1000), benchEnv(), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := baseContext()
	ctx.App = "app07"
	ctx.Normalize()
	var d Decision
	s.DecideInto(ctx, &d)
	if !reflect.DeepEqual(d, s.Decide(ctx)) {
		t.Fatal("DecideInto and Decide differ")
	}
	if n := testing.AllocsPerRun(100, func() { s.DecideInto(ctx, &d) }); n != 0 {
		t.Errorf("DecideInto allocates %v times, want 0", n)
	}
	other := baseContext()
	other.App = "app08"
	other.User = "zed@nowhere.example"
	s.DecideInto(other, &d)
	if !reflect.DeepEqual(d, s.Decide(other)) {
		t.Error("reused Decision kept stale fields")
	}
}

// BenchmarkDecideAccessUnique1000 gives every policy its own filter values,
// so that no check is shared between policies and the per-decision check
// cache never helps: 1,000 policies for one app, each with a user, an IP
// and a group filter of its own (and an enumerated filter or two).
func BenchmarkDecideAccessUnique1000(b *testing.B) {
	ps := make([]Policy, 1000)
	for i := range ps {
		ps[i] = Policy{Name: fmt.Sprintf("u%04d", i), Kind: KindAccess, Priority: i % 10, Action: []Action{ActionAllow, ActionBlock, ActionMonitor}[i%3],
			Filters: Filters{
				Users:  StringFilter{Exclude: []string{fmt.Sprintf("user%d@acme.com", i)}},
				IPs:    StringFilter{Include: []string{fmt.Sprintf("10.%d.0.0/16", i%250), fmt.Sprintf("172.16.%d.0/24", i%250)}},
				Groups: StringFilter{Include: []string{fmt.Sprintf("group-%d", i), "emea"}},
				Device: StringFilter{Include: []string{[]string{"unmanaged", "managed"}[i%2]}},
			}}
	}
	s, err := Compile(ps, benchEnv(), Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := baseContext()
	ctx.IP = netip.MustParseAddr("10.1.2.3")
	ctx.Normalize()
	d := s.Decide(ctx)
	b.Logf("candidates %d, matches %d, action %s", len(s.kinds[0].candidates(ctx.App)), len(d.Matches), d.Action)
	b.ReportAllocs()
	for b.Loop() {
		s.DecideInto(ctx, &d)
	}
}
