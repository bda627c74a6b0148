package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

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
