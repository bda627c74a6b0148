package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

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
		notice, idp                             string
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
			if fl.Changed("idp") {
				if strings.TrimSpace(idp) == "" {
					return flagErrorf("--idp needs the name of an IdP (cas idp list)")
				}
				p.IdP = &idp
			}
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
				p.MonitorNotice == nil && p.IdP == nil && p.IdPInitiated == nil && p.SignRequests == nil && p.SignResponse == nil && p.RequireSignedAssertion == nil {
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
	fl.StringVar(&idp, "idp", "", "Move the app to another IdP (its users then sign in there)")
	fl.StringVar(&notice, "monitor-notice", "", "Text of the notice shown at the start of a monitored session")
	fl.BoolVar(&noNotice, "no-monitor-notice", false, "Show no notice at the start of a monitored session")
	fl.BoolVar(&idpInit, "idp-initiated", false, "Accept IdP-initiated logins (--idp-initiated=false refuses them)")
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
