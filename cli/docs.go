package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsDate is the date printed in every man page header. It is fixed so that
// generating twice gives identical files; bump it when the pages change
// meaningfully.
var docsDate = time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)

// completionFiles names the checked-in completion script of each shell.
var completionFiles = map[string]string{
	"bash":       "cas.bash",
	"zsh":        "_cas",
	"fish":       "cas.fish",
	"powershell": "cas.ps1",
}

// manExtra is appended to every man page before SEE ALSO: the exit codes
// (mapped in ExitCode) and the environment cas reads.
const manExtra = `.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
An error: casd refused the request (its message names the field or thing at fault), a file could not be read or written, or anything else went wrong.
.TP
.B 2
A usage error: an unknown command or flag, a missing or invalid argument.
.TP
.B 3
casd is not reachable: nothing listens on its socket, or the socket cannot be opened; or casd did not answer within the timeout (--timeout, CAS_TIMEOUT).
.SH ENVIRONMENT
.TP
.B CAS_SOCKET
Path of casd's socket, used when --socket is not given. The default is /run/cas/casd.sock for root, otherwise $XDG_RUNTIME_DIR/cas/casd.sock.
.TP
.B CAS_TIMEOUT
How long to wait for casd to answer a request, used when --timeout is not given: a duration such as 30s or 2m, or 0 to wait as long as it takes. The default is 60s. A stream that has begun (events tail -f) is never cut off.
.TP
.B NO_COLOR
When set (to any value), output carries no colour. Colour is also off whenever stdout is not a terminal.
`

// docsRoot builds a command tree for documentation, independent of the
// process's streams and environment.
func docsRoot() *cobra.Command {
	ios, _, _, _ := Test()
	return NewCmdRoot(NewFactory(ios))
}

// GenerateDocs writes a man page per command into manDir and the completion
// scripts into complDir, deterministically.
func GenerateDocs(manDir, complDir string) error {
	files, err := renderDocs()
	if err != nil {
		return err
	}
	for _, dir := range []string{manDir, complDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	for name, data := range files {
		dir := manDir
		if !strings.HasSuffix(name, ".1") {
			dir = complDir
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// renderDocs renders every generated file, keyed by file name: "cas-idp-add.1"
// for man pages, the names in completionFiles for scripts.
func renderDocs() (map[string][]byte, error) {
	out := map[string][]byte{}
	root := docsRoot()
	var walk func(*cobra.Command) error
	walk = func(c *cobra.Command) error {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
				continue
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		var buf bytes.Buffer
		date := docsDate
		header := &doc.GenManHeader{Section: "1", Date: &date, Source: "cas", Manual: "cas manual"}
		if err := doc.GenMan(c, header, &buf); err != nil {
			return fmt.Errorf("man page of %s: %w", c.CommandPath(), err)
		}
		out[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = addManSections(buf.Bytes())
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	for shell, name := range completionFiles {
		var buf bytes.Buffer
		if err := writeCompletion(root, shell, &buf); err != nil {
			return nil, fmt.Errorf("%s completion: %w", shell, err)
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}

// addManSections inserts EXIT STATUS and ENVIRONMENT before SEE ALSO (or at
// the end of a page without one).
func addManSections(page []byte) []byte {
	const seeAlso = ".SH SEE ALSO"
	if i := bytes.Index(page, []byte(seeAlso)); i >= 0 {
		return bytes.Join([][]byte{page[:i], []byte(manExtra), page[i:]}, nil)
	}
	if len(page) > 0 && page[len(page)-1] != '\n' {
		page = append(page, '\n')
	}
	return append(page, manExtra...)
}
