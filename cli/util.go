package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Small helpers shared by the nouns.

// readInput reads a file named by a flag, or stdin for "-".
func readInput(ios *IOStreams, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(ios.In)
	}
	return os.ReadFile(path)
}

// printWarnings shows casd's warnings on stderr, where they do not disturb
// data on stdout.
func printWarnings(ios *IOStreams, ws []string) {
	cs := ios.ColorScheme()
	for _, w := range ws {
		fmt.Fprintf(ios.ErrOut, "%s %s\n", cs.Yellow("cas: warning:"), sanitize(w))
	}
}

// nonNil makes an empty list print as [] rather than null in JSON.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// writePrivate writes a file only its owner can read, also when it existed.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		return s + "\n"
	}
	return s
}

// splitValues splits repeated, comma-separated values into one list,
// dropping empty items.
func splitValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// sanitize makes text from outside (user names, user agents, file names,
// metadata) safe to print on a terminal: control characters, which could
// move the cursor, retitle the window or hide text, and bidirectional
// overrides are shown escaped (\x1b, \n, \u202e) instead.
func sanitize(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r)
}

// sanitizeLines is sanitize for multi-line messages: newlines stay.
func sanitizeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = sanitize(l)
	}
	return strings.Join(lines, "\n")
}
