package cli

import "github.com/spf13/cobra"

func newCmdPolicy(f *Factory) *cobra.Command {
	return newGroup("policy <command>", "Manage access and session policies", "")
}
