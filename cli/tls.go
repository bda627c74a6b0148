package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdTLS(f *Factory) *cobra.Command {
	ca := newGroup("ca <command>", "casd's internal TLS certificate authority",
		`casd's internal TLS certificate authority, which issues the certificates of
the portal, device and proxied app hosts when no certificate files are
configured.`,
		newCmdTLSCAExport(f, nil),
	)
	return newGroup("tls <command>", "casd's TLS certificates", "", ca)
}

// TLSCAExportOptions are the inputs of `cas tls ca export`.
type TLSCAExportOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context
}

func newCmdTLSCAExport(f *Factory, runF func(*TLSCAExportOptions) error) *cobra.Command {
	opts := &TLSCAExportOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:   "export",
		Short: "Print the internal TLS CA's certificate (PEM) for deploying to devices",
		Example: `  cas tls ca export > cas-ca.pem
  sudo cp cas-ca.pem /usr/local/share/ca-certificates/cas-ca.crt && sudo update-ca-certificates`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return tlsCAExportRun(opts)
		},
	}
}

func tlsCAExportRun(opts *TLSCAExportOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	pem, err := c.TLSCA(opts.Ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(opts.IO.Out, withNewline(string(pem)))
	return err
}
