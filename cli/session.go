package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdSession(f *Factory) *cobra.Command {
	return newGroup("session <command>", "List and revoke monitored app sessions",
		`List and revoke the app sessions flowing through casd under session control.
A revoked session stops working on its next request.`,
		newCmdSessionList(f, nil),
		newCmdSessionRevoke(f, nil),
	)
}

// SessionListOptions are the inputs of `cas session list`.
type SessionListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	App  string
	User string
	JSON bool
}

func newCmdSessionList(f *Factory, runF func(*SessionListOptions) error) *cobra.Command {
	opts := &SessionListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list [--app A] [--user U]",
		Aliases: []string{"ls"},
		Short:   "List monitored sessions",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return sessionListRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.App, "app", "", "Only sessions of this app")
	cmd.Flags().StringVar(&opts.User, "user", "", "Only sessions of this user")
	_ = cmd.RegisterFlagCompletionFunc("app", completeFlagNames(f, appNames))
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func sessionListRun(opts *SessionListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ss, err := c.Sessions(opts.Ctx, opts.App, opts.User)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(ss))
	}
	t := newTable(opts.IO, "ID", "APP", "USER", "DEVICE", "IP", "LAST SEEN", "EXPIRES", "REVOKED")
	for _, s := range ss {
		t.AddRow(s.ID, s.App, s.User, s.Device, s.IP, fmtTime(s.LastSeen), fmtTime(s.ExpiresAt), fmtBool(s.Revoked))
	}
	return t.Render()
}

// SessionRevokeOptions are the inputs of `cas session revoke`.
type SessionRevokeOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Request api.RevokeRequest
	JSON    bool
}

func newCmdSessionRevoke(f *Factory, runF func(*SessionRevokeOptions) error) *cobra.Command {
	opts := &SessionRevokeOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "revoke ID | --user U | --app A",
		Short: "Revoke a session, or every session of a user or an app",
		Example: `  cas session revoke 3f2a9c
  cas session revoke --user alice@example.com`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return argError(cmd, "expected at most one session ID")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			r := &opts.Request
			if len(args) == 1 {
				r.ID = args[0]
			}
			n := 0
			for _, v := range []string{r.ID, r.User, r.App} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return flagErrorf("give exactly one of a session ID, --user or --app")
			}
			if runF != nil {
				return runF(opts)
			}
			return sessionRevokeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Request.User, "user", "", "Revoke every session of this user")
	cmd.Flags().StringVar(&opts.Request.App, "app", "", "Revoke every session of this app")
	_ = cmd.RegisterFlagCompletionFunc("app", completeFlagNames(f, appNames))
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func sessionRevokeRun(opts *SessionRevokeOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	res, err := c.RevokeSessions(opts.Ctx, opts.Request)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, res)
	}
	fmt.Fprintf(opts.IO.Out, "Revoked %d session(s)\n", res.Revoked)
	return nil
}
