package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdIdP(f *Factory) *cobra.Command {
	return newGroup("idp <command>", "Manage identity providers",
		`Manage the identity providers (IdPs) casd trusts, imported from their SAML
metadata.`,
		newCmdIdPAdd(f, nil),
		newCmdIdPList(f, nil),
		newCmdIdPShow(f, nil),
		newCmdIdPRemove(f, nil),
	)
}

// IdPAddOptions are the inputs of `cas idp add`.
type IdPAddOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name        string
	Metadata    string // file path, or "-" for stdin
	EmailAttr   string
	GroupsAttrs []string
	Force       bool
	JSON        bool
}

func newCmdIdPAdd(f *Factory, runF func(*IdPAddOptions) error) *cobra.Command {
	opts := &IdPAddOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "add NAME --metadata FILE",
		Short: "Import an identity provider from its SAML metadata",
		Long: `Import an identity provider from its SAML metadata (an EntityDescriptor with
an IDPSSODescriptor). The user is the NameID unless --email-attr names an
attribute; groups come from --groups-attr (default: groups, memberOf and the
Microsoft groups claim). Metadata whose signing certificate has expired is
refused unless --force is given.`,
		Example: `  cas idp add corp --metadata corp-idp.xml
  curl -s https://idp.example.com/metadata | cas idp add corp --metadata -`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.Metadata == "" {
				return flagErrorf("--metadata FILE is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return idpAddRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Metadata, "metadata", "", "SAML metadata `FILE` of the IdP (- for stdin)")
	cmd.Flags().StringVar(&opts.EmailAttr, "email-attr", "", "`ATTRIBUTE` carrying the user's email (default: the NameID)")
	cmd.Flags().StringSliceVar(&opts.GroupsAttrs, "groups-attr", nil, "`ATTRIBUTE` carrying the user's groups (repeatable)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "Import even if the signing certificate has expired")
	_ = cmd.MarkFlagFilename("metadata", "xml")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func idpAddRun(opts *IdPAddOptions) error {
	md, err := readInput(opts.IO, opts.Metadata)
	if err != nil {
		return fmt.Errorf("read metadata: %w", err)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	idp, err := c.AddIdP(opts.Ctx, api.AddIdPRequest{
		Name: opts.Name, Metadata: string(md), EmailAttr: opts.EmailAttr, GroupsAttrs: opts.GroupsAttrs, Force: opts.Force,
	})
	if api.IsExpiredCert(err) {
		var ae *api.Error
		errors.As(err, &ae)
		if strings.Contains(ae.Message, "--force") {
			return err
		}
		return fmt.Errorf("%s (run again with --force to import it anyway)", ae.Message)
	}
	if err != nil {
		return err
	}
	printWarnings(opts.IO, idp.Warnings)
	if opts.JSON {
		return printJSON(opts.IO, idp)
	}
	fmt.Fprintf(opts.IO.Out, "Added IdP %s (%s, %d signing certificate(s))\n", sanitize(idp.Name), sanitize(idp.EntityID), len(idp.Certs))
	return nil
}

// IdPListOptions are the inputs of `cas idp list`.
type IdPListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdIdPList(f *Factory, runF func(*IdPListOptions) error) *cobra.Command {
	opts := &IdPListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List identity providers",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return idpListRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func idpListRun(opts *IdPListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	idps, err := c.IdPs(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(idps))
	}
	t := newTable(opts.IO, "NAME", "ENTITY ID", "CERTS", "EXPIRES", "APPS")
	for _, idp := range idps {
		t.AddRow(idp.Name, idp.EntityID, strconv.Itoa(len(idp.Certs)), fmtDate(firstExpiry(idp.Certs)), strings.Join(idp.Apps, ","))
	}
	return t.Render()
}

// IdPShowOptions are the inputs of `cas idp show`.
type IdPShowOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	JSON bool
}

func newCmdIdPShow(f *Factory, runF func(*IdPShowOptions) error) *cobra.Command {
	opts := &IdPShowOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show an identity provider",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, idpNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return idpShowRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func idpShowRun(opts *IdPShowOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	idp, err := c.IdP(opts.Ctx, opts.Name)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, idp)
	}
	d := newDetail(opts.IO)
	d.Add("Name", idp.Name)
	d.Add("Entity ID", idp.EntityID)
	sso := make([]string, 0, len(idp.SSO))
	for _, e := range idp.SSO {
		sso = append(sso, fmt.Sprintf("%s (%s)", e.Location, shortBinding(e.Binding)))
	}
	d.AddList("SSO", sso)
	d.Add("Email attribute", orDefault(idp.EmailAttr, "(NameID)"))
	d.AddList("Groups attributes", idp.GroupsAttrs)
	d.AddList("Apps", idp.Apps)
	d.Add("Created", fmtTime(idp.CreatedAt))
	d.Add("Updated", fmtTime(idp.UpdatedAt))
	for i, ci := range idp.Certs {
		addCert(d, fmt.Sprintf("Certificate %d", i+1), ci)
	}
	d.AddList("Warnings", idp.Warnings)
	return d.Render()
}

// IdPRemoveOptions are the inputs of `cas idp rm`.
type IdPRemoveOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
}

func newCmdIdPRemove(f *Factory, runF func(*IdPRemoveOptions) error) *cobra.Command {
	opts := &IdPRemoveOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove"},
		Short:             "Remove an identity provider",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, idpNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return idpRemoveRun(opts)
		},
	}
	return cmd
}

func idpRemoveRun(opts *IdPRemoveOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RemoveIdP(opts.Ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Removed IdP %s\n", opts.Name)
	return nil
}

func shortBinding(b string) string {
	if i := strings.LastIndex(b, ":"); i >= 0 {
		return b[i+1:]
	}
	return b
}

// firstExpiry reports when the first of the certificates expires.
func firstExpiry(cs []api.CertInfo) (t time.Time) {
	for i, c := range cs {
		if i == 0 || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

func addCert(d *detailPrinter, title string, c api.CertInfo) {
	d.Add(title, c.Subject)
	d.Add("  Issuer", c.Issuer)
	d.Add("  Serial", c.Serial)
	d.Add("  Valid", fmt.Sprintf("%s to %s", fmtTime(c.NotBefore), fmtTime(c.NotAfter)))
	d.Add("  SHA-256", c.Fingerprint)
}
