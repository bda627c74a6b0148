package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdIPTag(f *Factory) *cobra.Command {
	return newGroup("iptag <command>", "Manage IP tags (named sets of networks)",
		`Manage IP tags: names such as "corporate" or "risky" for sets of IPv4 and IPv6
networks, used by policies through --ip-tag.`,
		newCmdIPTagSet(f, nil),
		newCmdIPTagList(f, nil),
		newCmdIPTagRemove(f, nil),
	)
}

// IPTagSetOptions are the inputs of `cas iptag set`.
type IPTagSetOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name  string
	CIDRs []string
	JSON  bool
}

func newCmdIPTagSet(f *Factory, runF func(*IPTagSetOptions) error) *cobra.Command {
	opts := &IPTagSetOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "set NAME CIDR...",
		Short: "Create or replace an IP tag",
		Long: `Create an IP tag, or replace all of its networks. CIDRs may be separated by
spaces or commas; a bare address means that one host.`,
		Example:           `  cas iptag set corporate 203.0.113.0/24 2001:db8:1::/48`,
		Args:              minArgs(2, "NAME and at least one CIDR"),
		ValidArgsFunction: completeNames(f, iptagNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			opts.CIDRs = splitValues(args[1:])
			if runF != nil {
				return runF(opts)
			}
			return iptagSetRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func iptagSetRun(opts *IPTagSetOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	tag, err := c.SetIPTag(opts.Ctx, api.IPTag{Name: opts.Name, CIDRs: opts.CIDRs})
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, tag)
	}
	fmt.Fprintf(opts.IO.Out, "Set IP tag %s: %s\n", tag.Name, strings.Join(tag.CIDRs, ", "))
	return nil
}

// IPTagListOptions are the inputs of `cas iptag list`.
type IPTagListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdIPTagList(f *Factory, runF func(*IPTagListOptions) error) *cobra.Command {
	opts := &IPTagListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List IP tags",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return iptagListRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func iptagListRun(opts *IPTagListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	tags, err := c.IPTags(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(tags))
	}
	t := newTable(opts.IO, "NAME", "CIDRS", "UPDATED")
	for _, tag := range tags {
		t.AddRow(tag.Name, strings.Join(tag.CIDRs, ","), fmtTime(tag.UpdatedAt))
	}
	return t.Render()
}

// IPTagRemoveOptions are the inputs of `cas iptag rm`.
type IPTagRemoveOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
}

func newCmdIPTagRemove(f *Factory, runF func(*IPTagRemoveOptions) error) *cobra.Command {
	opts := &IPTagRemoveOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove"},
		Short:             "Remove an IP tag",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, iptagNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return iptagRemoveRun(opts)
		},
	}
}

func iptagRemoveRun(opts *IPTagRemoveOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RemoveIPTag(opts.Ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Removed IP tag %s\n", opts.Name)
	return nil
}
