package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/spf13/cobra"
)

// addJSONFlag adds the one --json flag every data-printing command has.
func addJSONFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "json", false, "Print JSON instead of text (for scripts)")
}

// printJSON writes v as one JSON document: indented when a person reads it on
// a terminal, compact on one line otherwise. It is never styled.
func printJSON(ios *IOStreams, v any) error {
	enc := json.NewEncoder(ios.Out)
	enc.SetEscapeHTML(false)
	if ios.IsStdoutTTY() {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// jsonLines writes a stream as one compact JSON object per line (NDJSON),
// flushing each line so pipes see it at once.
type jsonLines struct {
	w   io.Writer
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &jsonLines{w: w, enc: enc}
}

func (j *jsonLines) Write(v any) error {
	if err := j.enc.Encode(v); err != nil {
		return err
	}
	return flush(j.w)
}

// flush pushes buffered output out, for writers that buffer.
func flush(w io.Writer) error {
	switch f := w.(type) {
	case interface{ Flush() error }:
		return f.Flush()
	case interface{ Sync() error }:
		_ = f.Sync() // a pipe or terminal cannot sync; that is fine
	}
	return nil
}

// ColorScheme styles text for a terminal, and is a no-op when colour is off.
type ColorScheme struct{ enabled bool }

// ColorScheme returns the styles for these streams.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.colorEnabled} }

func (c *ColorScheme) sgr(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold makes s bold.
func (c *ColorScheme) Bold(s string) string { return c.sgr("1", s) }

// Green colours s green.
func (c *ColorScheme) Green(s string) string { return c.sgr("32", s) }

// Red colours s red.
func (c *ColorScheme) Red(s string) string { return c.sgr("31", s) }

// Yellow colours s yellow.
func (c *ColorScheme) Yellow(s string) string { return c.sgr("33", s) }

// Gray colours s dim grey.
func (c *ColorScheme) Gray(s string) string { return c.sgr("90", s) }

// Decision colours a policy decision by its severity.
func (c *ColorScheme) Decision(d string) string {
	switch {
	case d == "block" || d == "error":
		return c.Red(d)
	case d == "allow":
		return c.Green(d)
	case d == "monitor" || d == "protect":
		return c.Yellow(d)
	case strings.HasPrefix(d, "would_") || d == "log":
		return c.Gray(d)
	}
	return d
}

// tablePrinter prints rows for people: a lipgloss table on a terminal, plain
// columns aligned with spaces otherwise (stable for grep, awk and cut).
type tablePrinter struct {
	ios     *IOStreams
	headers []string
	rows    [][]string
	styles  map[int]func(string) string
}

func newTable(ios *IOStreams, headers ...string) *tablePrinter {
	return &tablePrinter{ios: ios, headers: headers}
}

// AddRow adds one row; empty cells print as "-" so columns stay countable.
// Cells are sanitized: they often hold text from outside.
func (t *tablePrinter) AddRow(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		if c == "" {
			c = "-"
		}
		row[i] = sanitize(c)
	}
	t.rows = append(t.rows, row)
}

// ColumnStyle styles the cells of column col on a terminal.
func (t *tablePrinter) ColumnStyle(col int, style func(string) string) {
	if t.styles == nil {
		t.styles = map[int]func(string) string{}
	}
	t.styles[col] = style
}

// Render writes the table.
func (t *tablePrinter) Render() error {
	if !t.ios.IsStdoutTTY() {
		tw := tabwriter.NewWriter(t.ios.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(t.headers, "\t"))
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		return tw.Flush()
	}
	cs := t.ios.ColorScheme()
	headers := make([]string, len(t.headers))
	for i, h := range t.headers {
		headers[i] = cs.Bold(h)
	}
	rows := t.rows
	if len(t.styles) > 0 {
		rows = make([][]string, len(t.rows))
		for i, r := range t.rows {
			rows[i] = append([]string(nil), r...)
			for col, style := range t.styles {
				if col < len(r) {
					rows[i][col] = style(r[col])
				}
			}
		}
	}
	cell := lipgloss.NewStyle().Padding(0, 1)
	tb := table.New().
		Border(lipgloss.NormalBorder()).
		BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(true).BorderColumn(true).
		StyleFunc(func(row, col int) lipgloss.Style { return cell }).
		Headers(headers...).
		Rows(rows...)
	_, err := fmt.Fprintln(t.ios.Out, tb.Render())
	return err
}

// detailPrinter prints one thing as aligned "Key: value" lines.
type detailPrinter struct {
	ios   *IOStreams
	pairs [][2]string
}

func newDetail(ios *IOStreams) *detailPrinter { return &detailPrinter{ios: ios} }

// Add adds a line; an empty value prints as "-". The value is sanitized.
func (d *detailPrinter) Add(key, value string) {
	d.AddStyled(key, sanitize(value))
}

// AddStyled adds a line whose value the caller has sanitized and styled.
func (d *detailPrinter) AddStyled(key, value string) {
	if value == "" {
		value = "-"
	}
	d.pairs = append(d.pairs, [2]string{key, value})
}

// AddList adds a line per value under one key ("-" when there are none).
func (d *detailPrinter) AddList(key string, values []string) {
	if len(values) == 0 {
		d.Add(key, "")
		return
	}
	for i, v := range values {
		if i > 0 {
			key = ""
		}
		d.pairs = append(d.pairs, [2]string{key, sanitize(v)})
	}
}

// Render writes the lines.
func (d *detailPrinter) Render() error {
	width := 0
	for _, p := range d.pairs {
		width = max(width, len(p[0])+1)
	}
	cs := d.ios.ColorScheme()
	for _, p := range d.pairs {
		key := p[0]
		if key != "" {
			key += ":"
		}
		pad := strings.Repeat(" ", width-len(key)+2)
		if _, err := fmt.Fprintf(d.ios.Out, "%s%s%s\n", cs.Bold(key), pad, p[1]); err != nil {
			return err
		}
	}
	return nil
}

// Formatting helpers shared by the commands.

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func fmtBool(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		return fmt.Sprintf("%dd%s", days, d)
	}
	return d.String()
}

// shortFingerprint keeps the start of a hex fingerprint for tables.
func shortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}
