package policy_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cas-proxy/cas/policy"
)

// The daemon's side of an access decision: compile once, decide per login.
func Example() {
	doc := `
apiVersion: cas/v1
kind: PolicyList
policies:
  - name: block-unmanaged
    kind: access
    priority: 10
    action: block
    message: Use a company laptop.
    filters:
      apps: [salesforce]
      device: unmanaged
      users: {exclude: ["svc-*"]}
  - name: audit-outdated
    kind: access
    priority: 20
    log_only: true
    action: block
    filters:
      ua_tags: [outdated-browser]
`
	ps, err := policy.ParseDocument([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := policy.Env{Apps: map[string]bool{"salesforce": true}}
	set, err := policy.Compile(ps, env, policy.Defaults{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ua := "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:78.0) Gecko/20100101 Firefox/78.0"
	ctx := &policy.Context{
		Kind: policy.KindAccess, App: "salesforce", User: "alice@acme.com",
		IP: netip.MustParseAddr("192.0.2.10"), UserAgent: ua, UA: set.ParseUA(ua),
	}
	if set.NeedsDevice(ctx.App) {
		ctx.Device = policy.DeviceUnmanaged // from the client-certificate check
	}
	d := set.Decide(ctx)
	fmt.Println(d.Action, d.Policy, d.Message)
	for _, m := range d.Matches {
		fmt.Println(strings.TrimSpace(" matched " + m.Policy + " " + m.WouldAction))
	}
	// Output:
	// block block-unmanaged Use a company laptop.
	// matched block-unmanaged
	// matched audit-outdated would_block
}

// The session side: scan a file only when a policy needs its content.
func ExampleScanReader() {
	p := policy.Policy{
		Name: "no-card-downloads", Kind: policy.KindSession, Action: policy.ActionBlock,
		Filters: policy.Filters{
			Activities: policy.StringFilter{Include: []string{"download"}},
			Content:    policy.ContentFilter{Include: []policy.ContentRule{{Type: policy.DetectCC}}},
		},
	}
	set, err := policy.Compile([]policy.Policy{p}, policy.Env{}, policy.Defaults{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := &policy.Context{Kind: policy.KindSession, App: "box", Activity: "download",
		File: &policy.FileInfo{Name: "cards.csv", Size: 40}}
	if set.NeedsContent(ctx) {
		hits, err := policy.ScanReader(strings.NewReader("name,card\nalice,4111 1111 1111 1111\n"), set.Detectors())
		if err != nil {
			fmt.Println(err)
			return
		}
		ctx.Content = &hits
	}
	d := set.Decide(ctx)
	fmt.Println(d.Action, d.Policy, ctx.Content.Counts)
	// Output:
	// block no-card-downloads map[cc:1]
}
