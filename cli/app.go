package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdApp(f *Factory) *cobra.Command {
	cert := newGroup("cert <command>", "Rotate and retire an app's replacement signing certificates",
		`Roll an app's replacement signing certificate without downtime: "rotate" adds
a new certificate that casd signs with from then on, while the old one stays
valid until "retire" removes it.`,
		newCmdAppCertRotate(f, nil),
		newCmdAppCertRetire(f, nil),
	)
	return newGroup("app <command>", "Onboard and manage SaaS apps",
		`Onboard SaaS apps from the built-in catalog and manage them. Onboarding puts
casd in the app's SAML path: casd validates the IdP's response, decides, and
signs a new response for the app with the app's replacement certificate.`,
		newCmdAppCatalog(f, nil),
		newCmdAppOnboard(f, nil),
		newCmdAppList(f, nil),
		newCmdAppShow(f, nil),
		newCmdAppRemove(f, nil),
		newCmdAppMetadata(f, nil),
		newCmdAppSet(f, nil),
		cert,
	)
}

// AppCatalogOptions are the inputs of `cas app catalog`.
type AppCatalogOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdAppCatalog(f *Factory, runF func(*AppCatalogOptions) error) *cobra.Command {
	opts := &AppCatalogOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "List the built-in app templates",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return appCatalogRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appCatalogRun(opts *AppCatalogOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ts, err := c.Catalog(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(ts))
	}
	t := newTable(opts.IO, "TEMPLATE", "NAME", "DOMAINS", "DESCRIPTION")
	for _, tp := range ts {
		t.AddRow(tp.Name, tp.DisplayName, abbreviate(tp.Domains, 2), tp.Description)
	}
	return t.Render()
}

// AppOnboardOptions are the inputs of `cas app onboard`.
type AppOnboardOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Template     string
	Name         string
	IdP          string
	Domains      []string
	SPMetadata   string
	EntityID     string
	ACSURL       string
	SignRequests bool
	CertOut      string
	JSON         bool
}

func newCmdAppOnboard(f *Factory, runF func(*AppOnboardOptions) error) *cobra.Command {
	opts := &AppOnboardOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "onboard TEMPLATE --name NAME --idp IDP [--domain HOST]... [--sp-metadata FILE | --entity-id ID --acs-url URL]",
		Short: "Put an app behind casd and print the changes to make in the IdP and the app",
		Long: `Create an app from a catalog template with a new replacement signing key and
certificate, and print exactly what to change: in the IdP, the app's ACS
(reply) URL becomes casd's; in the app, the IdP login URL and signing
certificate become casd's. --cert-out writes that certificate (PEM) for
uploading to the app.

The app's SAML identity comes from its SP metadata (--sp-metadata) or from
--entity-id and --acs-url; templates such as salesforce derive them from
--domain.`,
		Example: `  cas app onboard salesforce --name sf --idp corp --domain acme.my.salesforce.com --cert-out sf.crt
  cas app onboard custom --name wiki --idp corp --sp-metadata wiki-sp.xml --cert-out wiki.crt`,
		Args:              exactArgs(1, "TEMPLATE"),
		ValidArgsFunction: completeNames(f, templateNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Template = args[0]
			opts.Domains = splitValues(opts.Domains)
			switch {
			case opts.Name == "":
				return flagErrorf("--name NAME is required")
			case opts.IdP == "":
				return flagErrorf("--idp IDP is required")
			case opts.SPMetadata != "" && (opts.EntityID != "" || opts.ACSURL != ""):
				return flagErrorf("--sp-metadata cannot be combined with --entity-id or --acs-url")
			}
			if runF != nil {
				return runF(opts)
			}
			return appOnboardRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Name, "name", "", "Name of the app in casd (used in its URLs)")
	fl.StringVar(&opts.IdP, "idp", "", "Identity provider the app's users log in with")
	fl.StringSliceVar(&opts.Domains, "domain", nil, "Host name of the app (repeatable)")
	fl.StringVar(&opts.SPMetadata, "sp-metadata", "", "The app's SAML SP metadata file")
	fl.StringVar(&opts.EntityID, "entity-id", "", "The app's SAML entity ID")
	fl.StringVar(&opts.ACSURL, "acs-url", "", "The app's real assertion consumer service URL")
	fl.BoolVar(&opts.SignRequests, "sign-requests", false, "Sign the AuthnRequests casd relays to the IdP")
	fl.StringVar(&opts.CertOut, "cert-out", "", "Write the replacement certificate (PEM) to this file")
	_ = cmd.RegisterFlagCompletionFunc("idp", completeFlagNames(f, idpNames))
	_ = cmd.MarkFlagFilename("sp-metadata", "xml")
	_ = cmd.MarkFlagFilename("cert-out", "crt", "pem")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appOnboardRun(opts *AppOnboardOptions) error {
	req := api.OnboardRequest{
		Template: opts.Template, Name: opts.Name, IdP: opts.IdP, Domains: opts.Domains,
		EntityID: opts.EntityID, ACSURL: opts.ACSURL, SignRequests: opts.SignRequests,
	}
	if opts.SPMetadata != "" {
		md, err := readInput(opts.IO, opts.SPMetadata)
		if err != nil {
			return fmt.Errorf("read SP metadata: %w", err)
		}
		req.SPMetadata = string(md)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ob, err := c.Onboard(opts.Ctx, req)
	if err != nil {
		return err
	}
	key, hasKey := activeKey(ob.App)
	if opts.CertOut != "" {
		if !hasKey {
			return fmt.Errorf("app %s was created but casd returned no active certificate to write to %s", ob.App.Name, opts.CertOut)
		}
		if err := os.WriteFile(opts.CertOut, []byte(withNewline(key.CertPEM)), 0o644); err != nil {
			return fmt.Errorf("app %s was created, but writing its certificate failed (get it with 'cas app show %s --json'): %w", ob.App.Name, ob.App.Name, err)
		}
	}
	if opts.JSON {
		return printJSON(opts.IO, ob)
	}
	out := opts.IO.Out
	cs := opts.IO.ColorScheme()
	fmt.Fprintf(out, "Onboarded app %s (template %s, IdP %s)\n", ob.App.Name, ob.App.Template, ob.App.IdP)
	if hasKey {
		fmt.Fprintf(out, "Replacement certificate: serial %s, valid to %s, SHA-256 %s\n", key.Serial, fmtTime(key.NotAfter), key.Fingerprint)
	}
	if opts.CertOut != "" {
		fmt.Fprintf(out, "Wrote the certificate to %s\n", opts.CertOut)
	}
	if len(ob.Steps) > 0 {
		fmt.Fprintf(out, "\n%s\n", cs.Bold("Next steps:"))
		for i, s := range ob.Steps {
			fmt.Fprintf(out, "  %d. %s\n", i+1, sanitize(s))
		}
	}
	return nil
}

func activeKey(a api.App) (api.AppKey, bool) {
	for _, k := range a.Keys {
		if k.Active && !k.Retired {
			return k, true
		}
	}
	return api.AppKey{}, false
}

// AppListOptions are the inputs of `cas app list`.
type AppListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdAppList(f *Factory, runF func(*AppListOptions) error) *cobra.Command {
	opts := &AppListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List apps",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return appListRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appListRun(opts *AppListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	apps, err := c.Apps(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(apps))
	}
	t := newTable(opts.IO, "NAME", "TEMPLATE", "IDP", "DOMAINS", "CERT EXPIRES")
	for _, a := range apps {
		k, _ := activeKey(a)
		t.AddRow(a.Name, a.Template, a.IdP, strings.Join(a.Domains, ","), fmtDate(k.NotAfter))
	}
	return t.Render()
}

// AppShowOptions are the inputs of `cas app show`.
type AppShowOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	JSON bool
}

func newCmdAppShow(f *Factory, runF func(*AppShowOptions) error) *cobra.Command {
	opts := &AppShowOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show an app, its URLs and certificates",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return appShowRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appShowRun(opts *AppShowOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	a, err := c.App(opts.Ctx, opts.Name)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, a)
	}
	d := newDetail(opts.IO)
	d.Add("Name", a.Name)
	d.Add("Template", a.Template)
	d.Add("IdP", a.IdP)
	d.Add("Entity ID", a.EntityID)
	d.Add("ACS URL", a.ACSURL)
	d.AddList("Domains", a.Domains)
	d.Add("Proxy ACS URL", a.ProxyACSURL)
	d.Add("Proxy SSO URL", a.ProxySSOURL)
	d.Add("IdP-initiated", fmtBool(a.IdPInitiated))
	d.Add("Sign requests", fmtBool(a.SignRequests))
	d.Add("Sign response", fmtBool(a.SignResponse))
	d.Add("Require signed assertion", fmtBool(a.RequireSignedAssertion))
	d.Add("Monitor notice", orDefault(a.MonitorNotice, "(off)"))
	d.AddList("Download patterns", a.DownloadPatterns)
	d.AddList("Export patterns", a.ExportPatterns)
	d.AddList("Upload patterns", a.UploadPatterns)
	d.Add("Created", fmtTime(a.CreatedAt))
	for _, k := range a.Keys {
		state := "standby"
		switch {
		case k.Retired:
			state = "retired"
		case k.Active:
			state = "active"
		}
		d.Add("Certificate", fmt.Sprintf("serial %s (%s)", k.Serial, state))
		d.Add("  Valid", fmt.Sprintf("%s to %s", fmtTime(k.NotBefore), fmtTime(k.NotAfter)))
		d.Add("  SHA-256", k.Fingerprint)
	}
	return d.Render()
}

// AppRemoveOptions are the inputs of `cas app rm`.
type AppRemoveOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
}

func newCmdAppRemove(f *Factory, runF func(*AppRemoveOptions) error) *cobra.Command {
	opts := &AppRemoveOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove"},
		Short:             "Remove an app",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return appRemoveRun(opts)
		},
	}
}

func appRemoveRun(opts *AppRemoveOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RemoveApp(opts.Ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Removed app %s\n", opts.Name)
	return nil
}

// AppMetadataOptions are the inputs of `cas app metadata`.
type AppMetadataOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	For  string // "idp" or "app"
}

func newCmdAppMetadata(f *Factory, runF func(*AppMetadataOptions) error) *cobra.Command {
	opts := &AppMetadataOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "metadata NAME --for idp|app",
		Short: "Print the SAML metadata for the IdP or the app to import",
		Long: `Print SAML metadata XML for one side to import: --for idp is casd acting as the
app's service provider (import it in the IdP); --for app is casd acting as
the app's identity provider, with the replacement certificate (import it in
the app).`,
		Example:           `  cas app metadata sf --for idp > sf-for-idp.xml`,
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.For != "idp" && opts.For != "app" {
				return flagErrorf("--for must be idp or app")
			}
			if runF != nil {
				return runF(opts)
			}
			return appMetadataRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.For, "for", "", "Which side imports the metadata: idp or app")
	_ = cmd.RegisterFlagCompletionFunc("for", fixedValues("idp", "app"))
	return cmd
}

func appMetadataRun(opts *AppMetadataOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	md, err := c.AppMetadata(opts.Ctx, opts.Name, opts.For)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(opts.IO.Out, withNewline(string(md)))
	return err
}

// abbreviate joins the first n values and counts the rest, to keep a table
// column narrow; --json has every value.
func abbreviate(vs []string, n int) string {
	if len(vs) <= n {
		return strings.Join(vs, ",")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(vs[:n], ","), len(vs)-n)
}
