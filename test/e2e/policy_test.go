package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/test/testkit"
)

const policyDoc = `apiVersion: cas/v1
kind: PolicyList
policies:
  - name: block-risky
    kind: access
    priority: 10
    action: block
    message: Sign in from the office or VPN.
    filters:
      apps: {include: [app]}
      ip_tags: {include: [risky]}
  - name: monitor-contractors
    kind: access
    priority: 20
    action: monitor
    filters:
      groups: {include: [contractors]}
  - name: no-csv-for-contractors
    kind: session
    priority: 30
    action: block
    filters:
      groups: {include: [contractors]}
      activities: {include: [export]}
`

func policyNames(t *testing.T, c *testkit.Casd) []string {
	t.Helper()
	var ps []api.PolicyInfo
	c.JSON(&ps, "policy", "list")
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return names
}

func TestPolicyLifecycleThroughCasd(t *testing.T) {
	r := newLoginRig(t)
	c := r.c
	c.OK("iptag", "set", "risky", "203.0.113.0/24")
	c.OK("policy", "add", "block-bob", "--kind", "access", "--app", "app", "--user", "bob@*", "--not-ip", "10.0.0.0/8", "--action", "block", "--message", "No.")
	var p api.PolicyInfo
	c.JSON(&p, "policy", "show", "block-bob")
	if p.Action != "block" || len(p.Filters.Users.Include) != 1 || len(p.Filters.IPs.Exclude) != 1 || p.Message != "No." {
		t.Fatalf("policy show = %+v", p)
	}

	// Bad input: a clear message naming the field, nothing stored.
	before := policyNames(t, c)
	bad := []struct {
		args []string
		want string
	}{
		// (An invalid regex is also caught by cas itself: a usage error.)
		{[]string{"policy", "add", "x", "--kind", "access", "--ip", "10.0.0.0/33", "--action", "block"}, "10.0.0.0/33"},
		{[]string{"policy", "add", "x", "--kind", "access", "--ip-tag", "nosuchtag", "--action", "block"}, "nosuchtag"},
		{[]string{"policy", "add", "x", "--kind", "access", "--app", "nosuchapp", "--action", "block"}, "nosuchapp"},
		{[]string{"policy", "add", "x", "--kind", "access", "--activity", "download", "--action", "block"}, "activit"},
		{[]string{"policy", "add", "block-bob", "--kind", "access", "--action", "block"}, "already exists"},
	}
	for _, tc := range bad {
		c.Fails(1, tc.want, tc.args...)
	}
	c.Fails(2, "regex", "policy", "add", "x", "--kind", "session", "--content", "regex:([", "--action", "block")
	c.Fails(2, "protect", "policy", "add", "x", "--kind", "access", "--action", "protect")
	// casd checks for itself what the CLI already refuses.
	client := api.NewClient(c.Socket)
	for _, raw := range []string{
		`{"name":"x","kind":"access","action":"protect"}`,
		`{"name":"x","kind":"session","action":"block","filters":{"content":{"include":[{"type":"regex","pattern":"(["}]}}}`,
		`{"name":"x","kind":"access","action":"block","filters":{"ips":{"include":["300.1.1.1/8"]}}}`,
	} {
		var pol json.RawMessage = []byte(raw)
		_, err := client.AddPolicy(context.Background(), pol)
		if !api.IsInvalid(err) || strings.Contains(err.Error(), "unknown field") {
			t.Errorf("casd: %s: %v (want a refusal naming the field)", raw, err)
		}
	}
	if got := policyNames(t, c); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("bad input changed the policies: %v → %v", before, got)
	}
	// An IP tag in use cannot be removed.
	c.OK("policy", "add", "risky-ips", "--kind", "access", "--ip-tag", "risky", "--action", "block")
	c.Fails(1, "risky-ips", "iptag", "rm", "risky")
	c.OK("policy", "rm", "risky-ips")

	// Disable and enable.
	c.OK("policy", "disable", "block-bob")
	c.JSON(&p, "policy", "show", "block-bob")
	if p.IsEnabled() {
		t.Fatal("disable did not take")
	}
	c.OK("policy", "enable", "block-bob")

	// policy test explains the decision against the live set.
	var res api.PolicyTestResult
	c.JSON(&res, "policy", "test", "--app", "app", "--user", "bob@example.com", "--ip", "192.0.2.7")
	if res.Decision.Action != "block" || res.Decision.Policy != "block-bob" {
		t.Fatalf("policy test = %+v", res.Decision)
	}
	c.JSON(&res, "policy", "test", "--app", "app", "--user", "bob@example.com", "--ip", "10.1.2.3")
	if res.Decision.Action != "allow" || !res.Decision.Default {
		t.Fatalf("excluded IP: %+v", res.Decision)
	}
	if out := c.OK("policy", "test", "--app", "app", "--user", "bob@example.com", "--ip", "10.1.2.3"); !strings.Contains(out, "block-bob") {
		t.Errorf("explanation does not say why block-bob did not match:\n%s", out)
	}

	// Every change is an admin event.
	out := c.OK("events", "tail", "-n", "100", "--kind", "admin", "--json")
	for _, action := range []string{"policy.add", "policy.disable", "policy.enable", "policy.rm", "iptag.set"} {
		if !strings.Contains(out, `"action":"`+action+`"`) {
			t.Errorf("no admin event for %s", action)
		}
	}
}

func TestPolicyApplyExportRoundTrip(t *testing.T) {
	r := newLoginRig(t)
	c := r.c
	c.OK("iptag", "set", "risky", "203.0.113.0/24")
	c.OK("policy", "add", "old-one", "--kind", "access", "--user", "eve@example.com", "--action", "block")
	doc := testkit.WriteTemp(t, "policies.yaml", policyDoc)

	// Dry run: says what would happen, changes nothing.
	var res api.ApplyResult
	c.JSON(&res, "policy", "apply", "-f", doc, "--prune", "--dry-run")
	if res.Applied || len(res.Plan.Add) != 3 || len(res.Plan.Remove) != 1 {
		t.Fatalf("dry run plan = %+v", res)
	}
	if got := policyNames(t, c); len(got) != 1 {
		t.Fatalf("dry run changed the policies: %v", got)
	}
	out := c.OK("policy", "apply", "-f", doc, "--prune")
	for _, want := range []string{"block-risky", "monitor-contractors", "no-csv-for-contractors", "old-one"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output does not name %s:\n%s", want, out)
		}
	}
	if got := policyNames(t, c); len(got) != 3 {
		t.Fatalf("after apply: %v", got)
	}
	// Applying again changes nothing.
	res = api.ApplyResult{}
	c.JSON(&res, "policy", "apply", "-f", doc, "--prune")
	if res.Applied || len(res.Plan.Add)+len(res.Plan.Change)+len(res.Plan.Remove) != 0 {
		t.Fatalf("second apply = %+v", res)
	}
	// Export, then apply the export: nothing to do.
	exported := c.OK("policy", "export")
	res = api.ApplyResult{}
	c.JSON(&res, "policy", "apply", "-f", testkit.WriteTemp(t, "exported.yaml", exported), "--prune")
	if len(res.Plan.Add)+len(res.Plan.Change)+len(res.Plan.Remove) != 0 {
		t.Fatalf("export → apply plan = %+v\n%s", res.Plan, exported)
	}
	// An invalid document changes nothing and names the problem.
	broken := strings.Replace(policyDoc, "ip_tags: {include: [risky]}", "ip_tags: {include: [unknown-tag]}", 1)
	c.Fails(1, "unknown-tag", "policy", "apply", "-f", testkit.WriteTemp(t, "broken.yaml", broken))
	unknownField := strings.Replace(policyDoc, "priority: 10", "priorty: 10", 1)
	c.Fails(1, "priorty", "policy", "apply", "-f", testkit.WriteTemp(t, "typo.yaml", unknownField))
	var again []api.PolicyInfo
	c.JSON(&again, "policy", "list")
	b, _ := json.Marshal(again)
	if len(again) != 3 || strings.Contains(string(b), "unknown-tag") {
		t.Fatalf("invalid document changed the policies: %s", b)
	}
}
