// Command casd is the cas daemon: the proxy in the SAML login path, the local
// API on a Unix socket, the store and the event log.
package main

import (
	"context"
	"os"

	"github.com/cas-proxy/cas/daemon"
)

func main() {
	os.Exit(daemon.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
