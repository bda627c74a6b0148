// Package cli is the cas admin command line: cobra commands, one file per
// noun, that talk to casd only through the api package's client over the
// local socket.
//
// Each verb follows one shape: an options struct (dependencies and flags),
// newCmdNounVerb(f, runF) which parses and validates flags into it, and
// nounVerbRun(opts) which does the work. Tests replace runF to check flag
// parsing and call the run function against a fake casd to check output.
package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

//go:generate go run ../cmd/cas/gen-docs --man ../man --completions ../completions

// NewCmdRoot builds the whole cas command tree over f.
func NewCmdRoot(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cas <command> <subcommand> [flags]",
		Short: "Administer casd, the cloud app security proxy",
		Long: `cas administers casd, the cloud app security proxy that sits in the SAML
single sign-on path between an identity provider and SaaS apps.

Every change goes through casd's local API on a Unix socket: --socket, else
$CAS_SOCKET, else the default (/run/cas/casd.sock as root, otherwise
$XDG_RUNTIME_DIR/cas/casd.sock).

Every command that prints data takes --json for scripts. Text output is a
table on a terminal and plain aligned columns in pipes; colour is used only
on a terminal and never when NO_COLOR is set.`,
		Example: `  cas status
  cas idp add corp --metadata corp-idp.xml
  cas app onboard salesforce --name sf --idp corp --domain acme.my.salesforce.com --cert-out sf.crt
  cas policy add block-risky --kind access --ip-tag risky --action block
  cas events tail -f --kind login`,
		Args:          groupArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          groupRun,
	}
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.DisableAutoGenTag = true
	cmd.SetFlagErrorFunc(usageError)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SetIn(f.IOStreams.In)
	cmd.PersistentFlags().StringVar(&f.Socket, "socket", f.Socket, "`PATH` of casd's socket (default $CAS_SOCKET, else the per-user or system default)")
	cmd.PersistentFlags().StringVar(&f.Timeout, "timeout", f.Timeout, "how long to wait for casd to answer, as a `DURATION` (default $CAS_TIMEOUT, else 60s; 0 waits as long as it takes)")

	cmd.AddCommand(
		newCmdStatus(f, nil),
		newCmdVersion(f, nil),
		newCmdIdP(f),
		newCmdCA(f),
		newCmdIPTag(f),
		newCmdEvents(f),
		newCmdPolicy(f),
		newCmdApp(f),
		newCmdSession(f),
		newCmdTLS(f),
		newCmdCompletion(f, nil),
	)
	return cmd
}

// Execute runs the command tree with ctx (cancelled on SIGINT by main) and
// returns the error for ExitCode; usage errors learn which command they
// belong to.
func Execute(ctx context.Context, root *cobra.Command) error {
	cmd, err := root.ExecuteContextC(ctx)
	var fe *FlagError
	if errors.As(err, &fe) && fe.Cmd == "" && cmd != nil {
		fe.Cmd = cmd.CommandPath()
	}
	return err
}

// newGroup returns a command that only holds sub-commands (a noun).
func newGroup(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  groupArgs,
		RunE:  groupRun,
	}
	cmd.AddCommand(subs...)
	return cmd
}

// groupRun shows a group's help when it is run without a sub-command.
func groupRun(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}
