package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/cas-proxy/cas/api"
)

// Main is casd's command line: it parses flags, loads the configuration and
// runs the daemon until it is told to stop. It returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("casd", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration file (default "+DefaultConfigFile()+")")
	fs.String("state-dir", "", "state directory holding cas.db and keys (config: state_dir)")
	fs.String("socket", "", "local API socket (config: socket)")
	fs.String("listen", "", "proxy HTTPS listen address (config: listen)")
	fs.String("log-level", "", "debug, info, warn or error (config: log_level)")
	printConfig := fs.Bool("print-config", false, "print the effective configuration and exit")
	demoMode := fs.Bool("demo", false, "run with a built-in demo IdP and a Salesforce-like demo app, on loopback")
	demoState := fs.String("demo-state", defaultDemoState(), "state directory of the demo")
	demoReset := fs.Bool("demo-reset", false, "with --demo: start the demo over from nothing")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: casd [flags]\n\ncasd is the cas daemon. Flags override CAS_* environment variables,\nwhich override the configuration file, which overrides the defaults.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "casd: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, "casd", api.Version)
		return 0
	}
	file, explicit := *configFile, *configFile != ""
	if !explicit {
		file = DefaultConfigFile()
	}
	environ := os.Environ()
	if *demoMode {
		// The demo keeps its own state and ignores the system's file.
		if *demoReset {
			if err := os.RemoveAll(*demoState); err != nil {
				fmt.Fprintf(stderr, "casd: reset demo: %v\n", err)
				return 1
			}
		}
		environ = append(environ, "CAS_STATE_DIR="+*demoState)
		if !explicit {
			file = ""
		}
	}
	load := func() (*Config, error) { return LoadConfig(file, explicit, fs, environ) }
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "casd: %v\n", err)
		return 1
	}
	if *printConfig {
		fmt.Fprintf(stdout, "# effective configuration (file: %s)\n", file)
		stdout.Write(cfg.YAML())
		return 0
	}
	if *demoMode && !demoListenOK(cfg.Listen) {
		fmt.Fprintf(stderr, "casd: the demo listens on loopback only, not %s\n", cfg.Listen)
		return 1
	}
	level := new(slog.LevelVar)
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := Options{Logger: logger, Level: level, Reload: load, Demo: *demoMode}
	if *demoMode {
		opts.OnDemo = func(info *DemoInfo) { printDemoBanner(stdout, info) }
	}
	d, err := New(ctx, cfg, opts)
	if err != nil {
		logger.Error("casd: start", "err", err)
		fmt.Fprintf(stderr, "casd: %v\n", err)
		return 1
	}
	if err := d.Run(ctx); err != nil {
		logger.Error("casd: exit", "err", err)
		fmt.Fprintf(stderr, "casd: %v\n", err)
		return 1
	}
	return 0
}
