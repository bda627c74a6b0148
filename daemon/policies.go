package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/store"
)

// policySet is the compiled policy set with what it was compiled against.
type policySet struct {
	set      *policy.Set
	policies []policy.Policy
	env      policy.Env
}

// policyEnv gathers what validation and compilation check references
// against: IP tags, apps, whether a GeoIP database is configured.
func (d *Daemon) policyEnv(ctx context.Context) (policy.Env, error) {
	env := policy.Env{IPTags: map[string][]netip.Prefix{}, Apps: map[string]bool{}, HasGeoIP: d.geo.configured()}
	env.UA, _ = d.config().UA.policyConfig() // checked when the configuration loaded
	tags, err := d.db.IPTags(ctx)
	if err != nil {
		return env, err
	}
	for _, t := range tags {
		for _, c := range t.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return env, fmt.Errorf("ip tag %s: stored CIDR %q: %w", t.Name, c, err)
			}
			env.IPTags[t.Name] = append(env.IPTags[t.Name], p)
		}
	}
	apps, err := d.db.Apps(ctx)
	if err != nil {
		return env, err
	}
	for _, a := range apps {
		env.Apps[a.Name] = true
	}
	return env, nil
}

func (d *Daemon) policyDefaults() policy.Defaults {
	cfg := d.config()
	return policy.Defaults{Access: policy.Action(cfg.Policy.DefaultAccess), Session: policy.Action(cfg.Policy.DefaultSession)}
}

// loadPolicies reads every stored policy.
func (d *Daemon) loadPolicies(ctx context.Context) ([]policy.Policy, error) {
	recs, err := d.db.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]policy.Policy, 0, len(recs))
	for _, r := range recs {
		p, err := decodePolicy(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func decodePolicy(r *store.Policy) (policy.Policy, error) {
	var p policy.Policy
	if err := json.Unmarshal(r.Doc, &p); err != nil {
		return p, fmt.Errorf("stored policy %s: %w", r.Name, err)
	}
	return p, nil
}

func encodePolicy(p policy.Policy) (*store.Policy, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return &store.Policy{
		Name: p.Name, Kind: string(p.Kind), Action: string(p.Action),
		Enabled: p.IsEnabled(), LogOnly: p.LogOnly, Priority: p.Priority, Doc: doc,
	}, nil
}

// recompile rebuilds the policy set from the store and swaps it in. Callers
// that change what policies refer to (policies, IP tags, apps) call it after
// the change is stored.
func (d *Daemon) recompile(ctx context.Context) error {
	if err := d.geo.open(d.config().GeoIP.Database); err != nil {
		return err
	}
	ps, err := d.loadPolicies(ctx)
	if err != nil {
		return err
	}
	env, err := d.policyEnv(ctx)
	if err != nil {
		return err
	}
	set, err := policy.Compile(ps, env, d.policyDefaults())
	if err != nil {
		return fmt.Errorf("compile policies: %w", err)
	}
	d.policies.Store(&policySet{set: set, policies: ps, env: env})
	return nil
}

// compileWith checks that the stored policies with the given changes still
// compile, without swapping anything in.
func (d *Daemon) compileWith(ctx context.Context, upserts []policy.Policy, deletes []string) error {
	cur, err := d.loadPolicies(ctx)
	if err != nil {
		return err
	}
	byName := map[string]policy.Policy{}
	for _, p := range cur {
		byName[p.Name] = p
	}
	for _, n := range deletes {
		delete(byName, n)
	}
	for _, p := range upserts {
		byName[p.Name] = p
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	all := make([]policy.Policy, 0, len(names))
	for _, n := range names {
		all = append(all, byName[n])
	}
	env, err := d.policyEnv(ctx)
	if err != nil {
		return err
	}
	_, err = policy.Compile(all, env, d.policyDefaults())
	return err
}

// policiesUsingIPTag lists the policies that refer to an IP tag.
func (d *Daemon) policiesUsingIPTag(ctx context.Context, tag string) []string {
	ps := d.policies.Load()
	if ps == nil {
		return nil
	}
	var out []string
	for _, p := range ps.policies {
		if slices.Contains(p.IPTagNames(), tag) {
			out = append(out, p.Name)
		}
	}
	return out
}

// policiesUsingApp lists the policies that refer to an app.
func (d *Daemon) policiesUsingApp(app string) []string {
	ps := d.policies.Load()
	if ps == nil {
		return nil
	}
	var out []string
	for _, p := range ps.policies {
		if slices.Contains(p.AppNames(), app) {
			out = append(out, p.Name)
		}
	}
	return out
}
