package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/policy"
)

func newCmdPolicy(f *Factory) *cobra.Command {
	return newGroup("policy <command>", "Manage access and session policies",
		`Manage the policies that decide every login (access policies: allow, block,
monitor) and every activity in a monitored session (session policies: allow,
block, protect).

Filters AND together; the values of one filter OR together; --not-<filter>
excludes. When several policies match, the most restrictive action wins
(block > protect > monitor > allow), then the lower --priority number.
--log-only policies record what they would have done and never change the
outcome.`,
		newCmdPolicyAdd(f, nil),
		newCmdPolicyList(f, nil),
		newCmdPolicyShow(f, nil),
		newCmdPolicyRemove(f, nil),
		newCmdPolicyEnable(f, nil, true),
		newCmdPolicyEnable(f, nil, false),
		newCmdPolicyApply(f, nil),
		newCmdPolicyExport(f, nil),
		newCmdPolicyTest(f, nil),
	)
}

// PolicyAddOptions are the inputs of `cas policy add`.
type PolicyAddOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Policy policy.Policy
	JSON   bool
}

func newCmdPolicyAdd(f *Factory, runF func(*PolicyAddOptions) error) *cobra.Command {
	opts := &PolicyAddOptions{IO: f.IOStreams, Client: f.Client}
	var (
		kind, action, fallback string
		disabled               bool
		fv                     *policyFilterValues
	)
	cmd := &cobra.Command{
		Use:   "add NAME --kind access|session --action ACTION [filters] [flags]",
		Short: "Add an access or session policy",
		Long: `Add a policy. Each filter flag adds values to the filter (repeat it or
separate values with commas); its --not- form excludes values. Session-only
filters (activity, file, size, content) are refused on access policies.

Actions: access policies allow, block or monitor (route the session through
session control); session policies allow, block or protect (encrypt the file
to the --protect-recipient age keys).`,
		Example: `  cas policy add block-risky --kind access --ip-tag risky --action block --message "Not from this network"
  cas policy add identify-managed --kind access --device managed --action allow --log-only
  cas policy add monitor-contractors --kind access --group contractors --not-ip 10.0.0.0/8 --action monitor
  cas policy add no-card-numbers --kind session --activity download --content cc --min-matches 3 --action block
  cas policy add protect-reports --kind session --activity export --action protect --protect-recipient age1...`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			p := &opts.Policy
			p.Name = args[0]
			switch kind {
			case "":
				return flagErrorf("--kind is required: access or session")
			case string(policy.KindAccess), string(policy.KindSession):
				p.Kind = policy.Kind(kind)
			default:
				return flagErrorf("--kind: %q is not access or session", kind)
			}
			if action == "" {
				return flagErrorf("--action is required: %s", actionsFor(p.Kind))
			}
			p.Action = policy.Action(action)
			if !p.Action.ValidFor(p.Kind) {
				return flagErrorf("--action: %q is not an action of %s policies (%s)", action, p.Kind, actionsFor(p.Kind))
			}
			p.Fallback = policy.Action(fallback)
			if disabled {
				p.Enabled = new(bool)
			}
			if cmd.Flags().Changed("priority") && p.Priority < 0 {
				return flagErrorf("--priority must not be negative")
			}
			var err error
			if p.Filters, err = fv.build(cmd.Flags()); err != nil {
				return err
			}
			p.ProtectRecipients = splitValues(p.ProtectRecipients)
			if runF != nil {
				return runF(opts)
			}
			return policyAddRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "Policy kind: access (logins) or session (activities in monitored sessions)")
	fl.StringVar(&action, "action", "", "Action when the policy matches: allow, block, monitor (access) or protect (session)")
	fl.BoolVar(&opts.Policy.LogOnly, "log-only", false, "Only record what the policy would do (audit mode)")
	fl.StringVar(&opts.Policy.Message, "message", "", "Message shown to the user when the policy blocks")
	fl.IntVar(&opts.Policy.Priority, "priority", 0, "Priority among equally restrictive policies: a lower number wins")
	fl.BoolVar(&disabled, "disabled", false, "Add the policy disabled")
	fl.StringVar(&opts.Policy.Description, "description", "", "Description for administrators")
	fl.StringArrayVar(&opts.Policy.ProtectRecipients, "protect-recipient", nil, "age recipient (age1…) that protected files are encrypted to (repeatable)")
	fl.StringVar(&fallback, "fallback", "", "Session policies with --content: action when the file is too large to inspect (default block)")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedValues("access", "session"))
	_ = cmd.RegisterFlagCompletionFunc("action", fixedValues("allow", "block", "monitor", "protect"))
	_ = cmd.RegisterFlagCompletionFunc("fallback", fixedValues("allow", "block", "protect"))
	fv = registerFilterFlags(cmd, f)
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func actionsFor(k policy.Kind) string {
	if k == policy.KindSession {
		return "allow, block or protect"
	}
	return "allow, block or monitor"
}

func policyAddRun(opts *PolicyAddOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	w, err := c.AddPolicy(opts.Ctx, opts.Policy)
	if err != nil {
		return err
	}
	printWarnings(opts.IO, w.Warnings)
	if opts.JSON {
		return printJSON(opts.IO, w)
	}
	fmt.Fprintf(opts.IO.Out, "Added %s policy %s (%s)\n", w.Policy.Kind, w.Policy.Name, policyActionLabel(&w.Policy.Policy))
	return nil
}

// policyActionLabel renders a policy's action with its modifiers:
// "block", "allow, log-only", "block, disabled".
func policyActionLabel(p *policy.Policy) string {
	s := string(p.Action)
	if p.LogOnly {
		s += ", log-only"
	}
	if !p.IsEnabled() {
		s += ", disabled"
	}
	return s
}

// PolicyListOptions are the inputs of `cas policy list`.
type PolicyListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Kind string
	JSON bool
}

func newCmdPolicyList(f *Factory, runF func(*PolicyListOptions) error) *cobra.Command {
	opts := &PolicyListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list [--kind access|session]",
		Aliases: []string{"ls"},
		Short:   "List policies",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.Kind != "" && opts.Kind != "access" && opts.Kind != "session" {
				return flagErrorf("--kind: %q is not access or session", opts.Kind)
			}
			if runF != nil {
				return runF(opts)
			}
			return policyListRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kind, "kind", "", "Only policies of this kind: access or session")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedValues("access", "session"))
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func policyListRun(opts *PolicyListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ps, err := c.Policies(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.Kind != "" {
		kept := ps[:0]
		for _, p := range ps {
			if string(p.Kind) == opts.Kind {
				kept = append(kept, p)
			}
		}
		ps = kept
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(ps))
	}
	cs := opts.IO.ColorScheme()
	t := newTable(opts.IO, "NAME", "KIND", "PRIORITY", "ACTION", "STATE", "FILTERS")
	for _, p := range ps {
		state := "enabled"
		switch {
		case !p.IsEnabled():
			state = "disabled"
		case p.LogOnly:
			state = "log-only"
		}
		t.AddRow(p.Name, string(p.Kind), strconv.Itoa(p.Priority), string(p.Action), state, strings.Join(filterSummary(p.Filters), " "))
	}
	t.ColumnStyle(3, cs.Decision)
	return t.Render()
}

// PolicyShowOptions are the inputs of `cas policy show`.
type PolicyShowOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	JSON bool
}

func newCmdPolicyShow(f *Factory, runF func(*PolicyShowOptions) error) *cobra.Command {
	opts := &PolicyShowOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a policy in full",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, policyNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return policyShowRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func policyShowRun(opts *PolicyShowOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	p, err := c.Policy(opts.Ctx, opts.Name)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, p)
	}
	d := newDetail(opts.IO)
	d.Add("Name", p.Name)
	d.Add("Kind", string(p.Kind))
	d.Add("Enabled", fmtBool(p.IsEnabled()))
	d.Add("Log only", fmtBool(p.LogOnly))
	d.Add("Priority", strconv.Itoa(p.Priority))
	d.Add("Action", string(p.Action))
	if p.Kind == policy.KindSession && !p.Filters.Content.IsZero() {
		d.Add("Fallback", string(p.EffectiveFallback()))
	}
	d.Add("Message", p.Message)
	d.Add("Description", p.Description)
	d.AddList("Protect recipients", p.ProtectRecipients)
	d.AddList("Filters", filterLines(p.Filters))
	d.Add("Created", fmtTime(p.CreatedAt))
	d.Add("Updated", fmtTime(p.UpdatedAt))
	return d.Render()
}

// filterLines renders filters one per line as the flags that set them:
// "--ip 10.0.0.0/8", "--not-device managed"; "(none: matches everything)".
func filterLines(f policy.Filters) []string {
	var out []string
	for _, ff := range filterFlags {
		sf := ff.get(&f)
		for _, v := range sf.Include {
			out = append(out, "--"+ff.name+" "+v)
		}
		for _, v := range sf.Exclude {
			out = append(out, "--not-"+ff.name+" "+v)
		}
	}
	if f.FileSize.Min > 0 {
		out = append(out, fmt.Sprintf("--min-size %d", f.FileSize.Min))
	}
	if f.FileSize.Max > 0 {
		out = append(out, fmt.Sprintf("--max-size %d", f.FileSize.Max))
	}
	for _, r := range f.Content.Include {
		out = append(out, "--content "+contentRuleString(r))
	}
	for _, r := range f.Content.Exclude {
		out = append(out, "--not-content "+contentRuleString(r))
	}
	if len(out) == 0 {
		out = append(out, "(none: matches everything)")
	}
	return out
}

// PolicyRemoveOptions are the inputs of `cas policy rm`.
type PolicyRemoveOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
}

func newCmdPolicyRemove(f *Factory, runF func(*PolicyRemoveOptions) error) *cobra.Command {
	opts := &PolicyRemoveOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove"},
		Short:             "Remove a policy",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, policyNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return policyRemoveRun(opts)
		},
	}
}

func policyRemoveRun(opts *PolicyRemoveOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RemovePolicy(opts.Ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Removed policy %s\n", opts.Name)
	return nil
}

// PolicyEnableOptions are the inputs of `cas policy enable` and `disable`.
type PolicyEnableOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name    string
	Enabled bool
	JSON    bool
}

func newCmdPolicyEnable(f *Factory, runF func(*PolicyEnableOptions) error, enable bool) *cobra.Command {
	opts := &PolicyEnableOptions{IO: f.IOStreams, Client: f.Client, Enabled: enable}
	use, short := "enable NAME", "Enable a policy"
	if !enable {
		use, short = "disable NAME", "Disable a policy (it stays stored but never matches)"
	}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, policyNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return policyEnableRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func policyEnableRun(opts *PolicyEnableOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	w, err := c.SetPolicyEnabled(opts.Ctx, opts.Name, opts.Enabled)
	if err != nil {
		return err
	}
	printWarnings(opts.IO, w.Warnings)
	if opts.JSON {
		return printJSON(opts.IO, w)
	}
	verb := "Enabled"
	if !opts.Enabled {
		verb = "Disabled"
	}
	fmt.Fprintf(opts.IO.Out, "%s policy %s\n", verb, w.Policy.Name)
	return nil
}

// PolicyExportOptions are the inputs of `cas policy export`.
type PolicyExportOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context
}

func newCmdPolicyExport(f *Factory, runF func(*PolicyExportOptions) error) *cobra.Command {
	opts := &PolicyExportOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:   "export",
		Short: "Print every policy as a YAML document for 'cas policy apply'",
		Long: `Print every policy as one YAML document, the format 'cas policy apply' reads.
Applying an exported document again changes nothing.`,
		Example: `  cas policy export > policies.yaml
  $EDITOR policies.yaml && cas policy apply -f policies.yaml --prune --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return policyExportRun(opts)
		},
	}
}

func policyExportRun(opts *PolicyExportOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	doc, err := c.ExportPolicies(opts.Ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(opts.IO.Out, withNewline(string(doc)))
	return err
}
