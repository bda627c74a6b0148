package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// PolicyApplyOptions are the inputs of `cas policy apply`.
type PolicyApplyOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	File   string
	Prune  bool
	DryRun bool
	JSON   bool
}

func newCmdPolicyApply(f *Factory, runF func(*PolicyApplyOptions) error) *cobra.Command {
	opts := &PolicyApplyOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "apply -f FILE.yaml [--prune] [--dry-run]",
		Short: "Make the policies match a YAML document",
		Long: `Make the stored policies match a declarative YAML document (the format of
'cas policy export'): add the policies it has that casd lacks, change those
that differ, and with --prune remove those it does not have. Applying the
same document twice changes nothing the second time.

It prints what it adds, changes (as a diff) and removes; with --dry-run it
only prints what it would do. Both exit 0, also when there is nothing to do.`,
		Example: `  cas policy apply -f policies.yaml --dry-run
  cas policy apply -f policies.yaml --prune`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.File == "" {
				return flagErrorf("-f FILE.yaml is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return policyApplyRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.File, "file", "f", "", "YAML policy document (- for stdin)")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "Remove policies the document does not have")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "Only print what would change")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func policyApplyRun(opts *PolicyApplyOptions) error {
	doc, err := readInput(opts.IO, opts.File)
	if err != nil {
		return fmt.Errorf("read policy document: %w", err)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	res, err := c.ApplyPolicies(opts.Ctx, api.ApplyRequest{Document: string(doc), Prune: opts.Prune, DryRun: opts.DryRun})
	if err != nil {
		return err
	}
	printWarnings(opts.IO, res.Warnings)
	if opts.JSON {
		return printJSON(opts.IO, res)
	}
	return printPlan(opts.IO, res, opts.DryRun)
}

// printPlan writes what an apply did, or would do.
func printPlan(ios *IOStreams, res *api.ApplyResult, dryRun bool) error {
	out, cs := ios.Out, ios.ColorScheme()
	p := res.Plan
	if p.Empty() {
		_, err := fmt.Fprintf(out, "No changes: %d policies already match the document.\n", len(p.Unchanged))
		return err
	}
	add, change, remove := "Added", "Changed", "Removed"
	if dryRun || !res.Applied {
		add, change, remove = "Would add", "Would change", "Would remove"
	}
	for _, a := range p.Add {
		fmt.Fprintf(out, "%s %s policy %s (%s)\n", cs.Green(add), a.Kind, a.Name, policyActionLabel(&a))
	}
	for _, ch := range p.Change {
		fmt.Fprintf(out, "%s policy %s:\n", cs.Yellow(change), ch.Name)
		for _, l := range strings.Split(strings.TrimSuffix(ch.Diff, "\n"), "\n") {
			l = sanitize(l)
			switch {
			case strings.HasPrefix(l, "+"):
				l = cs.Green(l)
			case strings.HasPrefix(l, "-"):
				l = cs.Red(l)
			}
			fmt.Fprintf(out, "    %s\n", l)
		}
	}
	for _, r := range p.Remove {
		fmt.Fprintf(out, "%s %s policy %s\n", cs.Red(remove), r.Kind, r.Name)
	}
	summary := fmt.Sprintf("%d to add, %d to change, %d to remove, %d unchanged", len(p.Add), len(p.Change), len(p.Remove), len(p.Unchanged))
	if dryRun || !res.Applied {
		summary += " (dry run: nothing was changed)"
	}
	_, err := fmt.Fprintln(out, summary)
	return err
}
