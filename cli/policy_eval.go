package cli

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// maxContentFile is the largest --content-file sent to casd: the JSON body
// carries it base64-encoded (4/3 larger) under api.MaxRequestBody.
const maxContentFile = api.MaxRequestBody / 4 * 3 * 9 / 10

// PolicyTestOptions are the inputs of `cas policy test`.
type PolicyTestOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context

	Request     api.PolicyTestRequest
	ContentFile string
	JSON        bool
}

func newCmdPolicyTest(f *Factory, runF func(*PolicyTestOptions) error) *cobra.Command {
	opts := &PolicyTestOptions{IO: f.IOStreams, Client: f.Client}
	var fileSize string
	cmd := &cobra.Command{
		Use:   "test --app A --user U --ip IP [flags]",
		Short: "Explain the decision the live policies take for a hypothetical login or activity",
		Long: `Evaluate a hypothetical login (access) or activity (session) against the live
policy set in casd, and explain the decision: which policies matched, which
one decided, and for every other policy the filter that excluded it.

--activity, --file-name, --file-size and --content-file imply --kind session.
--content-file is scanned by casd's content detectors (at most about 5 MiB).`,
		Example: `  cas policy test --app sf --user alice@example.com --group sales --ip 203.0.113.9 --device unmanaged
  cas policy test --app sf --user bob@example.com --ip 10.1.2.3 --activity download --file-name q3.xlsx --content-file q3.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			r := &opts.Request
			switch {
			case r.App == "":
				return flagErrorf("--app is required")
			case r.User == "":
				return flagErrorf("--user is required")
			case r.IP == "":
				return flagErrorf("--ip is required")
			}
			if _, err := netip.ParseAddr(r.IP); err != nil {
				return flagErrorf("--ip: %q is not an IP address", r.IP)
			}
			if r.Device != "" && r.Device != "managed" && r.Device != "unmanaged" {
				return flagErrorf("--device: %q is not managed or unmanaged", r.Device)
			}
			r.Groups = splitValues(r.Groups)
			if fileSize != "" {
				n, err := parseSize(fileSize)
				if err != nil {
					return flagErrorf("--file-size: %v", err)
				}
				r.FileSize = n
			}
			sessionOnly := r.Activity != "" || r.FileName != "" || fileSize != "" || opts.ContentFile != "" || r.MIME != ""
			switch r.Kind {
			case "":
				r.Kind = "access"
				if sessionOnly {
					r.Kind = "session"
				}
			case "access":
				if sessionOnly {
					return flagErrorf("--activity, --file-name, --file-size, --mime and --content-file describe a session activity: use --kind session")
				}
			case "session":
				if r.Activity == "" {
					return flagErrorf("--kind session needs --activity")
				}
			default:
				return flagErrorf("--kind: %q is not access or session", r.Kind)
			}
			if runF != nil {
				return runF(opts)
			}
			return policyTestRun(opts)
		},
	}
	fl := cmd.Flags()
	r := &opts.Request
	fl.StringVar(&r.Kind, "kind", "", "access (a login, the default) or session (an activity)")
	fl.StringVar(&r.App, "app", "", "App name")
	fl.StringVar(&r.User, "user", "", "User id or email")
	fl.StringSliceVar(&r.Groups, "group", nil, "Group of the user (repeatable, comma-separated)")
	fl.StringVar(&r.IP, "ip", "", "Client IP address")
	fl.StringVar(&r.Country, "country", "", "Country code (default: casd's GeoIP lookup of --ip)")
	fl.StringVar(&r.Device, "device", "", "Device state: managed or unmanaged (default unmanaged)")
	fl.StringVar(&r.UserAgent, "ua", "", "User agent string")
	fl.StringVar(&r.Activity, "activity", "", "Activity: view, download, upload, export or send")
	fl.StringVar(&r.FileName, "file-name", "", "File name of the activity")
	fl.StringVar(&fileSize, "file-size", "", "File size, e.g. 12345, 10MB (default: the --content-file's size)")
	fl.StringVar(&r.MIME, "mime", "", "MIME type of the file")
	fl.StringVar(&opts.ContentFile, "content-file", "", "File whose content the content detectors scan")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedValues("access", "session"))
	_ = cmd.RegisterFlagCompletionFunc("device", fixedValues("managed", "unmanaged"))
	_ = cmd.RegisterFlagCompletionFunc("activity", fixedValues("view", "download", "upload", "export", "send"))
	_ = cmd.RegisterFlagCompletionFunc("app", completeFlagNames(f, appNames))
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func policyTestRun(opts *PolicyTestOptions) error {
	req := opts.Request
	if opts.ContentFile != "" {
		st, err := os.Stat(opts.ContentFile)
		if err != nil {
			return fmt.Errorf("read content file: %w", err)
		}
		if st.Size() > maxContentFile {
			return fmt.Errorf("content file %s is %d bytes; casd's API takes at most %d", opts.ContentFile, st.Size(), maxContentFile)
		}
		if req.Content, err = os.ReadFile(opts.ContentFile); err != nil {
			return fmt.Errorf("read content file: %w", err)
		}
		if req.FileSize == 0 {
			req.FileSize = int64(len(req.Content))
		}
		if req.FileName == "" {
			req.FileName = filepath.Base(opts.ContentFile)
		}
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	res, err := c.TestPolicies(opts.Ctx, req)
	if err != nil {
		return err
	}
	if opts.JSON {
		return printJSON(opts.IO, res)
	}
	return printExplanation(opts.IO, res)
}

func printExplanation(ios *IOStreams, res *api.PolicyTestResult) error {
	cs := ios.ColorScheme()
	d := res.Decision
	decided := "by policy " + d.Policy
	switch {
	case d.Default:
		decided = "default: no enforcing policy matched"
	case d.Fallback:
		decided += " (fallback: content too large to inspect)"
	}
	dp := newDetail(ios)
	dp.AddStyled("Decision", cs.Decision(sanitize(string(d.Action)))+" ("+sanitize(decided)+")")
	dp.Add("Reason", d.Reason)
	if d.Message != "" {
		dp.Add("Message", d.Message)
	}
	var would []string
	for _, m := range d.Matches {
		if m.LogOnly {
			would = append(would, m.Policy+": "+m.WouldAction)
		}
	}
	if len(would) > 0 {
		dp.AddList("Log-only", would)
	}
	dp.Add("Country", res.Country)
	dp.Add("IP tags", strings.Join(res.IPTags, ", "))
	if err := dp.Render(); err != nil {
		return err
	}
	ps := res.Explanation.Policies
	if len(ps) == 0 {
		_, err := fmt.Fprintf(ios.Out, "\nNo %s policies.\n", orDefault(string(res.Explanation.Kind), "such"))
		return err
	}
	fmt.Fprintln(ios.Out)
	t := newTable(ios, "POLICY", "PRIORITY", "ACTION", "RESULT", "WHY")
	for _, p := range ps {
		result := "no match"
		switch {
		case !p.Enabled:
			result = "disabled"
		case p.Matched && p.Policy == d.Policy:
			result = "decided"
		case p.Matched && p.LogOnly:
			result = "match (log-only)"
		case p.Matched:
			result = "match"
		}
		why := p.Why
		if p.Filter != "" {
			why = strings.TrimPrefix(p.Filter, "filters.") + ": " + why
		}
		t.AddRow(p.Policy, strconv.Itoa(p.Priority), string(p.Action), result, why)
	}
	return t.Render()
}
