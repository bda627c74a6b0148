// Command gen-docs writes cas's man pages and shell completion scripts from
// its command tree. It is run by `go generate ./...` (see cli/root.go).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cas-proxy/cas/cli"
)

func main() {
	man := flag.String("man", "man", "directory for the man pages")
	completions := flag.String("completions", "completions", "directory for the completion scripts")
	flag.Parse()
	if err := cli.GenerateDocs(*man, *completions); err != nil {
		fmt.Fprintf(os.Stderr, "gen-docs: %v\n", err)
		os.Exit(1)
	}
}
