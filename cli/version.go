package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// VersionOptions are the inputs of `cas version`.
type VersionOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

// VersionInfo is what `cas version --json` prints.
type VersionInfo struct {
	Client string `json:"client"`
	Daemon string `json:"daemon,omitempty"`
	// DaemonError says why the daemon's version is unknown.
	DaemonError string `json:"daemon_error,omitempty"`
}

// versionProbeTimeout bounds how long `cas version` waits for casd, so that it
// answers promptly even when the socket is wedged.
const versionProbeTimeout = 3 * time.Second

func newCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the version of cas, and of casd when it is running",
		Long: `Show the version of cas, and of casd when it is reachable. An unreachable
casd is reported but is not an error.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func versionRun(opts *VersionOptions) error {
	info := VersionInfo{Client: api.Version}
	c, err := opts.Client()
	if err == nil {
		ctx, cancel := context.WithTimeout(opts.Ctx, versionProbeTimeout)
		var st *api.Status
		st, err = c.Status(ctx)
		cancel()
		if err == nil {
			info.Daemon = st.Version
		}
	}
	if err != nil {
		info.DaemonError = err.Error()
	}
	if opts.JSON {
		return printJSON(opts.IO, info)
	}
	fmt.Fprintf(opts.IO.Out, "cas version %s\n", info.Client)
	if info.Daemon != "" {
		fmt.Fprintf(opts.IO.Out, "casd version %s\n", info.Daemon)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "casd: unknown (%s)\n", info.DaemonError)
	}
	return nil
}
