package daemon

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
)

func defaultDemoState() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "cas", "demo")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "cas", "demo")
	}
	return filepath.Join(os.TempDir(), "cas-demo")
}

// printDemoBanner tells the person who started casd --demo what to open,
// who to sign in as and what to try next.
func printDemoBanner(w io.Writer, info *DemoInfo) {
	var b strings.Builder
	fmt.Fprintf(&b, "cas demo is running\n\n")
	fmt.Fprintf(&b, "Open   %s\n", info.OpenURL)
	fmt.Fprintf(&b, "       and sign in to \"Demo Salesforce\" through casd:\n")
	for _, u := range info.Users {
		fmt.Fprintf(&b, "       %-6s %-16s groups: %s\n", u.Name, u.Password, strings.Join(u.Groups, ", "))
	}
	fmt.Fprintf(&b, "\nTrust  %s\n", info.CACert)
	fmt.Fprintf(&b, "       (casd's local CA: import it into your browser, or accept the warnings)\n")
	fmt.Fprintf(&b, "Device %s  (password %q)\n", info.DeviceP12, info.DevicePass)
	fmt.Fprintf(&b, "       import it to be a managed device: downloads then work\n")
	fmt.Fprintf(&b, "\nThen try\n")
	fmt.Fprintf(&b, "       cas events tail -f\n       cas policy list\n       cas session list\n")
	fmt.Fprintf(&b, "\nState  %s   (casd --demo --demo-reset starts over)", info.StateDir)
	style := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 2)
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == "" {
		style = style.BorderForeground(lipgloss.Color("63"))
	}
	fmt.Fprintln(w, style.Render(b.String()))
}
