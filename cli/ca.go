package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

func newCmdCA(f *Factory) *cobra.Command {
	return newGroup("ca <command>", "Manage root CAs for managed-device detection",
		`Manage the root certificate authorities that make a device "managed": a
browser presenting a client certificate that chains to one of them is on a
managed device. Production CAs are imported with "cas ca add"; "cas ca create"
and "cas ca issue" make a CA and device certificates to try the feature.`,
		newCmdCAAdd(f, nil),
		newCmdCAList(f, nil),
		newCmdCAShow(f, nil),
		newCmdCARemove(f, nil),
		newCmdCACreate(f, nil),
		newCmdCAIssue(f, nil),
	)
}

// CAAddOptions are the inputs of `cas ca add`.
type CAAddOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	Cert string
	CRL  string
	JSON bool
}

func newCmdCAAdd(f *Factory, runF func(*CAAddOptions) error) *cobra.Command {
	opts := &CAAddOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "add NAME --cert FILE [--crl FILE]",
		Short: "Import a root CA certificate (PEM)",
		Long: `Import a root CA certificate (PEM) for managed-device detection. With --crl,
casd checks revocation against that CRL file and reloads it when it changes
(casd itself must be able to read it).`,
		Example: `  cas ca add corp-devices --cert corp-root.pem --crl /etc/pki/corp.crl`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.Cert == "" {
				return flagErrorf("--cert FILE is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return caAddRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cert, "cert", "", "PEM `FILE` of the CA certificate (- for stdin)")
	cmd.Flags().StringVar(&opts.CRL, "crl", "", "CRL `FILE` (PEM or DER) that casd watches for revocations")
	_ = cmd.MarkFlagFilename("cert", "pem", "crt", "cer")
	_ = cmd.MarkFlagFilename("crl", "crl", "pem")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func caAddRun(opts *CAAddOptions) error {
	pem, err := readInput(opts.IO, opts.Cert)
	if err != nil {
		return fmt.Errorf("read certificate: %w", err)
	}
	req := api.AddCARequest{Name: opts.Name, CertPEM: string(pem)}
	if opts.CRL != "" {
		if _, err := os.Stat(opts.CRL); err != nil {
			return fmt.Errorf("read crl: %w", err)
		}
		if req.CRLPath, err = filepath.Abs(opts.CRL); err != nil {
			return fmt.Errorf("crl: %w", err)
		}
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ca, err := c.AddCA(opts.Ctx, req)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, ca)
	}
	fmt.Fprintf(opts.IO.Out, "Added CA %s (%s, SHA-256 %s)\n", sanitize(ca.Name), sanitize(ca.Subject), ca.Fingerprint)
	return nil
}

// CAListOptions are the inputs of `cas ca list`.
type CAListOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	JSON bool
}

func newCmdCAList(f *Factory, runF func(*CAListOptions) error) *cobra.Command {
	opts := &CAListOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List root CAs",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if runF != nil {
				return runF(opts)
			}
			return caListRun(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func caListRun(opts *CAListOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	cas, err := c.CAs(opts.Ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, nonNil(cas))
	}
	t := newTable(opts.IO, "NAME", "SUBJECT", "EXPIRES", "SHA-256", "CRL", "KEY")
	for _, ca := range cas {
		t.AddRow(ca.Name, ca.Subject, fmtDate(ca.NotAfter), shortFingerprint(ca.Fingerprint), ca.CRL, fmtBool(ca.HasKey))
	}
	return t.Render()
}

// CAShowOptions are the inputs of `cas ca show`.
type CAShowOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	PEM  bool
	JSON bool
}

func newCmdCAShow(f *Factory, runF func(*CAShowOptions) error) *cobra.Command {
	opts := &CAShowOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "show NAME",
		Short:             "Show a root CA",
		Example:           `  cas ca show corp-devices --pem > corp-root.pem`,
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, caNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.PEM && opts.JSON {
				return flagErrorf("--pem and --json cannot be used together")
			}
			if runF != nil {
				return runF(opts)
			}
			return caShowRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.PEM, "pem", false, "Print only the certificate, in PEM")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func caShowRun(opts *CAShowOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ca, err := c.CA(opts.Ctx, opts.Name)
	if err != nil {
		return err
	}
	switch {
	case opts.PEM:
		_, err := fmt.Fprint(opts.IO.Out, withNewline(ca.PEM))
		return err
	case opts.JSON:
		return printJSON(opts.IO, ca)
	}
	d := newDetail(opts.IO)
	d.Add("Name", ca.Name)
	d.Add("Subject", ca.Subject)
	d.Add("Serial", ca.Serial)
	d.Add("Valid", fmt.Sprintf("%s to %s", fmtTime(ca.NotBefore), fmtTime(ca.NotAfter)))
	d.Add("SHA-256", ca.Fingerprint)
	d.Add("CRL", ca.CRL)
	d.Add("Can issue", fmtBool(ca.HasKey))
	d.Add("Added", fmtTime(ca.CreatedAt))
	return d.Render()
}

// CARemoveOptions are the inputs of `cas ca rm`.
type CARemoveOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
}

func newCmdCARemove(f *Factory, runF func(*CARemoveOptions) error) *cobra.Command {
	opts := &CARemoveOptions{IO: f.IOStreams, Client: f.Client}
	return &cobra.Command{
		Use:               "rm NAME",
		Aliases:           []string{"remove"},
		Short:             "Remove a root CA (effective for the next login)",
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, caNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return caRemoveRun(opts)
		},
	}
}

func caRemoveRun(opts *CARemoveOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.RemoveCA(opts.Ctx, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Removed CA %s\n", opts.Name)
	return nil
}

// CACreateOptions are the inputs of `cas ca create`.
type CACreateOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name string
	Out  string // directory for NAME.crt
	JSON bool
}

func newCmdCACreate(f *Factory, runF func(*CACreateOptions) error) *cobra.Command {
	opts := &CACreateOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "create NAME [--out DIR]",
		Short: "Create a root CA in casd (for pilots and tests)",
		Long: `Create a root CA whose key casd keeps sealed in its store, register it for
managed-device detection, and write its certificate to DIR/NAME.crt. Use
"cas ca issue" to make device certificates from it.`,
		Example: `  cas ca create pilot --out ./pki`,
		Args:    exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return caCreateRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", ".", "`DIR`ectory to write NAME.crt into")
	_ = cmd.MarkFlagDirname("out")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func caCreateRun(opts *CACreateOptions) error {
	if st, err := os.Stat(opts.Out); err != nil {
		return fmt.Errorf("--out: %w", err)
	} else if !st.IsDir() {
		return fmt.Errorf("--out: %s is not a directory", opts.Out)
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	ca, err := c.AddCA(opts.Ctx, api.AddCARequest{Name: opts.Name, Create: true})
	if err != nil {
		return err
	}
	if ca.PEM == "" {
		if ca, err = c.CA(opts.Ctx, opts.Name); err != nil {
			return err
		}
	}
	path := filepath.Join(opts.Out, opts.Name+".crt")
	if err := os.WriteFile(path, []byte(withNewline(ca.PEM)), 0o644); err != nil {
		return fmt.Errorf("write certificate: %w", err)
	}
	if opts.JSON {
		return printJSON(opts.IO, ca)
	}
	fmt.Fprintf(opts.IO.Out, "Created CA %s (%s)\nWrote %s\n", sanitize(ca.Name), sanitize(ca.Subject), path)
	return nil
}

// CAIssueOptions are the inputs of `cas ca issue`.
type CAIssueOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Name     string
	Device   string
	Out      string // FILE.p12; FILE.pem and FILE.key are written beside it
	Password string
	Days     int
	JSON     bool
}

func newCmdCAIssue(f *Factory, runF func(*CAIssueOptions) error) *cobra.Command {
	opts := &CAIssueOptions{IO: f.IOStreams, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "issue NAME --device DEVICE --out FILE.p12 [--password P]",
		Short: "Issue a device certificate from a CA made with 'cas ca create'",
		Long: `Issue a client certificate for a device from a CA casd created, and write it as
PKCS#12 (FILE.p12, for browsers and key stores) and as PEM (FILE.pem and
FILE.key beside it). All three files are created with mode 0600.`,
		Example:           `  cas ca issue pilot --device alice-laptop --out alice-laptop.p12 --password s3cret`,
		Args:              exactArgs(1, "NAME"),
		ValidArgsFunction: completeNames(f, caNames),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			opts.Name = args[0]
			if opts.Device == "" {
				return flagErrorf("--device DEVICE is required")
			}
			if opts.Out == "" {
				return flagErrorf("--out FILE.p12 is required")
			}
			if opts.Days < 0 {
				return flagErrorf("--days must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return caIssueRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Device, "device", "", "`DEVICE` name (the certificate's common name)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "PKCS#12 `FILE` to write; FILE.pem and FILE.key go beside it")
	cmd.Flags().StringVar(&opts.Password, "password", "", "`PASSWORD` of the PKCS#12 file")
	cmd.Flags().IntVar(&opts.Days, "days", 0, "Validity in `DAYS` (default: casd's, one year)")
	_ = cmd.MarkFlagFilename("out", "p12", "pfx")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

// issuedFiles reports the three files `cas ca issue --out` writes.
func issuedFiles(out string) (p12, certPEM, keyPEM string) {
	base := out
	if ext := strings.ToLower(filepath.Ext(out)); ext == ".p12" || ext == ".pfx" {
		base = strings.TrimSuffix(out, filepath.Ext(out))
	} else {
		out += ".p12"
	}
	return out, base + ".pem", base + ".key"
}

func caIssueRun(opts *CAIssueOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	dev, err := c.IssueDevice(opts.Ctx, opts.Name, api.IssueDeviceRequest{Device: opts.Device, Password: opts.Password, Days: opts.Days})
	if err != nil {
		return err
	}
	p12, certPath, keyPath := issuedFiles(opts.Out)
	for _, w := range []struct {
		path string
		data []byte
	}{{p12, dev.PKCS12}, {certPath, []byte(withNewline(dev.CertPEM))}, {keyPath, []byte(withNewline(dev.KeyPEM))}} {
		if err := writePrivate(w.path, w.data); err != nil {
			return err
		}
	}
	if opts.JSON {
		// The key stays in its file; the JSON describes what was written.
		return printJSON(opts.IO, struct {
			Device string       `json:"device"`
			Cert   api.CertInfo `json:"certificate"`
			Files  []string     `json:"files"`
		}{dev.Device, dev.Cert, []string{p12, certPath, keyPath}})
	}
	fmt.Fprintf(opts.IO.Out, "Issued a certificate for %s (serial %s, valid to %s)\nWrote %s, %s, %s\n",
		dev.Device, dev.Cert.Serial, fmtTime(dev.Cert.NotAfter), p12, certPath, keyPath)
	return nil
}
