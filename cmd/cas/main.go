// Command cas is the admin command line of casd, the cloud app security
// proxy. Everything it does goes through casd's local API (package cli).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cas-proxy/cas/cli"
)

func main() {
	// SIGINT and SIGTERM cancel the context: a following `events tail -f`
	// ends cleanly, anything else stops its request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	f := cli.NewFactory(cli.System())
	err := cli.Execute(ctx, cli.NewCmdRoot(f))
	stop()
	os.Exit(cli.ExitCode(err, f.IOStreams.ErrOut))
}
