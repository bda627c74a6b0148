package cli

import (
	"io"

	"github.com/spf13/cobra"
)

// CompletionOptions are the inputs of `cas completion`.
type CompletionOptions struct {
	IO    *IOStreams
	Root  func() *cobra.Command
	Shell string
}

func newCmdCompletion(f *Factory, runF func(*CompletionOptions) error) *cobra.Command {
	opts := &CompletionOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print the completion script for a shell. Names of IdPs, CAs, apps and
policies complete from the running casd.

  bash:       source <(cas completion bash)
              or: cas completion bash > /etc/bash_completion.d/cas
  zsh:        cas completion zsh > "${fpath[1]}/_cas"
  fish:       cas completion fish > ~/.config/fish/completions/cas.fish
  powershell: cas completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		Args:      exactArgs(1, "a shell: bash, zsh, fish or powershell"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell = args[0]
			opts.Root = cmd.Root
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
	return cmd
}

func completionRun(opts *CompletionOptions) error {
	return writeCompletion(opts.Root(), opts.Shell, opts.IO.Out)
}

// writeCompletion writes root's completion script for shell.
func writeCompletion(root *cobra.Command, shell string, w io.Writer) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(w)
	}
	return flagErrorf("unsupported shell %q: use bash, zsh, fish or powershell", shell)
}
