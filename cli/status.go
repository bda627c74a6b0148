package cli

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// StatusOptions are the inputs of `cas status`.
type StatusOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show casd's version, uptime, paths, listeners and counts",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func statusRun(opts *StatusOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	st, err := c.Status(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, st)
	}
	d := newDetail(opts.IO)
	d.Add("Version", st.Version)
	d.Add("PID", strconv.Itoa(st.PID))
	d.Add("Uptime", fmt.Sprintf("%s (since %s)", fmtDuration(time.Duration(st.UptimeSecs*float64(time.Second))), fmtTime(st.StartedAt)))
	d.Add("State dir", st.StateDir)
	d.Add("Database", st.Database)
	d.Add("Socket", st.Socket)
	d.Add("Portal", st.PortalURL)
	if st.Demo {
		d.Add("Mode", "demo")
	}
	ls := make([]string, 0, len(st.Listeners))
	for _, l := range st.Listeners {
		ls = append(ls, fmt.Sprintf("%-6s %s", l.Name, l.Addr))
	}
	d.AddList("Listeners", ls)
	n := st.Counts
	d.Add("Apps", strconv.FormatInt(n.Apps, 10))
	d.Add("IdPs", strconv.FormatInt(n.IdPs, 10))
	d.Add("Policies", strconv.FormatInt(n.Policies, 10))
	d.Add("CAs", strconv.FormatInt(n.CAs, 10))
	d.Add("IP tags", strconv.FormatInt(n.IPTags, 10))
	d.Add("Sessions", strconv.FormatInt(n.Sessions, 10))
	d.Add("Events", strconv.FormatInt(n.Events, 10))
	return d.Render()
}
