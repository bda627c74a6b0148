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
			fmt.Fprintf(out, "  %d. %s\n", i+1, s)
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

// AppCertRotateOptions are the inputs of `cas app cert rotate`.
type AppCertRotateOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name    string
	CertOut string
	JSON    bool
}

func newCmdAppCertRotate(f *Factory, runF func(*AppCertRotateOptions) error) *cobra.Command {
	opts := &AppCertRotateOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "rotate NAME",
		Short:             "Add a new replacement certificate; older ones stay valid until retired",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return appCertRotateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.CertOut, "cert-out", "", "Write the new certificate (PEM) to this file")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appCertRotateRun(opts *AppCertRotateOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	a, err := c.RotateAppCert(opts.Ctx, opts.Name)
	if err != nil {
		return err
	}
	// casd keeps signing with the active certificate; the new one waits
	// (standby) until the active one is retired.
	added, ok := newestStandby(*a)
	if !ok {
		return fmt.Errorf("casd rotated the certificate of %s but returned no new one; see 'cas app show %s'", a.Name, a.Name)
	}
	if opts.CertOut != "" {
		if err := os.WriteFile(opts.CertOut, []byte(withNewline(added.CertPEM)), 0o644); err != nil {
			return fmt.Errorf("write certificate: %w", err)
		}
	}
	if opts.JSON {
		return printJSON(opts.IO, a)
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "New certificate for %s: serial %s, valid to %s, SHA-256 %s\n", a.Name, added.Serial, fmtTime(added.NotAfter), added.Fingerprint)
	if opts.CertOut != "" {
		fmt.Fprintf(out, "Wrote it to %s\n", opts.CertOut)
	}
	fmt.Fprintln(out, "Add it to the app as an IdP signing certificate.")
	if cur, ok := activeKey(*a); ok {
		fmt.Fprintf(out, "casd signs with serial %s until you retire it: cas app cert retire %s --serial %s\n", cur.Serial, a.Name, cur.Serial)
	}
	return nil
}

// newestStandby returns the newest certificate that is neither active nor
// retired: the one a rotation added.
func newestStandby(a api.App) (api.AppKey, bool) {
	var best api.AppKey
	found := false
	for _, k := range a.Keys {
		if k.Active || k.Retired {
			continue
		}
		if !found || !k.NotBefore.Before(best.NotBefore) {
			best, found = k, true
		}
	}
	return best, found
}

// AppCertRetireOptions are the inputs of `cas app cert retire`.
type AppCertRetireOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name   string
	Serial string
	JSON   bool
}

func newCmdAppCertRetire(f *Factory, runF func(*AppCertRetireOptions) error) *cobra.Command {
	opts := &AppCertRetireOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "retire NAME --serial SERIAL",
		Short:             "Retire one of an app's replacement certificates",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.Serial == "" {
				return flagErrorf("--serial SERIAL is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return appCertRetireRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Serial, "serial", "", "Serial number of the certificate to retire (see 'cas app show')")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appCertRetireRun(opts *AppCertRetireOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	a, err := c.RetireAppCert(opts.Ctx, opts.Name, opts.Serial)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, a)
	}
	fmt.Fprintf(opts.IO.Out, "Retired certificate %s of app %s\n", opts.Serial, a.Name)
	return nil
}

// AppSetOptions are the inputs of `cas app set`.
type AppSetOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name  string
	Patch api.AppPatch
	JSON  bool
}

func newCmdAppSet(f *Factory, runF func(*AppSetOptions) error) *cobra.Command {
	opts := &AppSetOptions{IO: f.IOStreams, Client: f.Client}
	var (
		notice                                  string
		noNotice                                bool
		idpInit, signReq, signResp, requireSign bool
	)
	cmd := &cobra.Command{
		Use:   "set NAME [flags]",
		Short: "Change an app's settings",
		Long: `Change an app's settings. Only the flags given change anything. Patterns are
RE2 regular expressions on the request URL that classify activities for
session policies; they add to the template's.`,
		Example: `  cas app set sf --download-pattern '^/custom/export/'
  cas app set sf --monitor-notice "Access to Salesforce is monitored by IT"
  cas app set sf --idp-initiated=false --sign-requests`,
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, appNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			fl := cmd.Flags()
			p := &opts.Patch
			if fl.Changed("monitor-notice") && noNotice {
				return flagErrorf("--monitor-notice and --no-monitor-notice cannot be used together")
			}
			if fl.Changed("monitor-notice") {
				if strings.TrimSpace(notice) == "" {
					return flagErrorf("--monitor-notice needs a text; use --no-monitor-notice to turn the notice off")
				}
				p.MonitorNotice = &notice
			}
			if noNotice {
				off := ""
				p.MonitorNotice = &off
			}
			for name, dst := range map[string]**bool{
				"idp-initiated": &p.IdPInitiated, "sign-requests": &p.SignRequests,
				"sign-response": &p.SignResponse, "require-signed-assertion": &p.RequireSignedAssertion,
			} {
				if fl.Changed(name) {
					v, _ := fl.GetBool(name)
					*dst = &v
				}
			}
			if len(p.AddDownloadPatterns)+len(p.AddExportPatterns)+len(p.AddUploadPatterns) == 0 &&
				p.MonitorNotice == nil && p.IdPInitiated == nil && p.SignRequests == nil && p.SignResponse == nil && p.RequireSignedAssertion == nil {
				return flagErrorf("nothing to change: give at least one setting flag")
			}
			if runF != nil {
				return runF(opts)
			}
			return appSetRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Patch.AddDownloadPatterns, "download-pattern", nil, "Add a URL pattern (RE2) classified as download (repeatable)")
	fl.StringArrayVar(&opts.Patch.AddExportPatterns, "export-pattern", nil, "Add a URL pattern (RE2) classified as export (repeatable)")
	fl.StringArrayVar(&opts.Patch.AddUploadPatterns, "upload-pattern", nil, "Add a URL pattern (RE2) classified as upload (repeatable)")
	fl.StringVar(&notice, "monitor-notice", "", "Text of the notice shown at the start of a monitored session")
	fl.BoolVar(&noNotice, "no-monitor-notice", false, "Show no notice at the start of a monitored session")
	fl.BoolVar(&idpInit, "idp-initiated", true, "Accept IdP-initiated logins (--idp-initiated=false to refuse them)")
	fl.BoolVar(&signReq, "sign-requests", false, "Sign the AuthnRequests casd relays to the IdP")
	fl.BoolVar(&signResp, "sign-response", false, "Sign the whole Response, not only the assertion")
	fl.BoolVar(&requireSign, "require-signed-assertion", false, "Require the IdP to sign the assertion itself")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func appSetRun(opts *AppSetOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	a, err := c.PatchApp(opts.Ctx, opts.Name, opts.Patch)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, a)
	}
	fmt.Fprintf(opts.IO.Out, "Updated app %s\n", a.Name)
	return nil
}

// abbreviate joins the first n values and counts the rest, to keep a table
// column narrow; --json has every value.
func abbreviate(vs []string, n int) string {
	if len(vs) <= n {
		return strings.Join(vs, ",")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(vs[:n], ","), len(vs)-n)
}
