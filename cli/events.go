package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// Event kinds and decisions, as casd records them.
var (
	eventKinds     = []string{"admin", "login", "device", "activity", "system"}
	eventDecisions = []string{"allow", "block", "monitor", "protect", "log", "error"}
)

func newCmdEvents(f *Factory) *cobra.Command {
	return newGroup("events <command>", "Read casd's event log",
		`Read casd's event log: every login, device check, monitored activity, admin
change and system event, with the decision taken and the policies that
matched.`,
		newCmdEventsTail(f, nil),
		newCmdEventsExport(f, nil),
	)
}

// eventFilterFlags are the filters tail and export share.
type eventFilterFlags struct {
	Since    string
	Until    string
	Kinds    []string
	App      string
	User     string
	Decision string
}

func (e *eventFilterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&e.Since, "since", "", "Only events since `TIME`: a duration ago (90m, 24h, 7d) or an RFC 3339 time")
	fl.StringSliceVar(&e.Kinds, "kind", nil, "Only events of this `KIND`: "+strings.Join(eventKinds, ", ")+" (repeatable)")
	fl.StringVar(&e.App, "app", "", "Only events of this `APP`")
	fl.StringVar(&e.User, "user", "", "Only events of this `USER`")
	fl.StringVar(&e.Decision, "decision", "", "Only events with this `DECISION`: "+strings.Join(eventDecisions, ", ")+", or would_<action>")
	_ = cmd.RegisterFlagCompletionFunc("kind", fixedValues(eventKinds...))
	_ = cmd.RegisterFlagCompletionFunc("decision", fixedValues(eventDecisions...))
}

// query validates the flags and turns them into an api.EventQuery.
func (e *eventFilterFlags) query(now time.Time) (api.EventQuery, error) {
	q := api.EventQuery{App: e.App, User: e.User, Decision: e.Decision}
	var err error
	if e.Since != "" {
		if q.Since, err = parseTimeFlag(e.Since, now); err != nil {
			return q, flagErrorf("--since: %v", err)
		}
	}
	if e.Until != "" {
		if q.Until, err = parseTimeFlag(e.Until, now); err != nil {
			return q, flagErrorf("--until: %v", err)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, flagErrorf("--until must be after --since")
	}
	for _, k := range splitValues(e.Kinds) {
		if !slices.Contains(eventKinds, k) {
			return q, flagErrorf("--kind: %q is not one of %s", k, strings.Join(eventKinds, ", "))
		}
		q.Kinds = append(q.Kinds, k)
	}
	if d := e.Decision; d != "" && !slices.Contains(eventDecisions, d) && !strings.HasPrefix(d, "would_") {
		return q, flagErrorf("--decision: %q is not one of %s, or would_<action>", d, strings.Join(eventDecisions, ", "))
	}
	return q, nil
}

// parseTimeFlag reads a time as a duration before now ("90m", "24h", "7d")
// or as an absolute RFC 3339 time or date.
func parseTimeFlag(s string, now time.Time) (time.Time, error) {
	if d, ok := parseAgo(s); ok {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 24h, 7d) nor an RFC 3339 time (2006-01-02T15:04:05Z)", s)
}

// parseAgo parses a non-negative Go duration, also accepting whole days ("7d").
func parseAgo(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, false
		}
		return time.Duration(days) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

// EventsTailOptions are the inputs of `cas events tail`.
type EventsTailOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context
	Now    func() time.Time

	Filter eventFilterFlags
	Follow bool
	Lines  int
	JSON   bool
}

func newCmdEventsTail(f *Factory, runF func(*EventsTailOptions) error) *cobra.Command {
	opts := &EventsTailOptions{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "tail [-f] [-n N] [filters]",
		Short: "Show the newest events, and follow new ones with -f",
		Long: `Show the newest N events matching the filters, oldest first, one line per
event. With -f, keep streaming new events as casd records them until
interrupted (Ctrl-C ends it cleanly, exit status 0). If casd restarts or the
stream breaks, -f says so on stderr, waits for casd to come back and carries
on from the last event it showed: no event is missed or shown twice.

With --json every event is one JSON object on its own line (NDJSON), written
as soon as it arrives, for pipes and cron jobs.`,
		Example: `  cas events tail -n 50 --kind login --decision block
  cas events tail -f --app salesforce
  cas events tail -f --json | jq -r 'select(.decision=="block") | .user'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.Lines < 0 {
				return flagErrorf("-n must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return eventsTailRun(opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "Keep streaming new events until interrupted")
	cmd.Flags().IntVarP(&opts.Lines, "lines", "n", 20, "How many (`N`) of the newest events to show first")
	opts.Filter.register(cmd)
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func eventsTailRun(opts *EventsTailOptions) error {
	q, err := opts.Filter.query(opts.Now())
	if err != nil {
		return err
	}
	q.Limit, q.Follow = opts.Lines, opts.Follow
	if opts.Lines == 0 && !opts.Follow {
		return nil
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	w, err := c.WatchEvents(opts.Ctx, q)
	if err != nil {
		return err
	}
	defer func() { w.Close() }()
	var print func(api.Event) error
	if opts.JSON {
		jl := newJSONLines(opts.IO.Out)
		print = func(ev api.Event) error { return jl.Write(ev) }
	} else {
		el := newEventLines(opts.IO)
		print = el.Write
	}
	for {
		ev, err := w.Next()
		switch {
		case err != nil && opts.Ctx.Err() != nil:
			return nil // interrupted: a clean end
		case err != nil && opts.Follow:
			// casd restarted or the stream broke: like tail -F, wait for
			// casd and carry on from the last event seen.
			w.Close()
			if w, err = reconnectEvents(opts, c, q, w.Cursor(), err); err != nil {
				if opts.Ctx.Err() != nil {
					return nil
				}
				return err
			}
			continue
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("read events: %w", err)
		}
		if err := print(ev); err != nil {
			return err
		}
	}
}

// Reconnect waits, for `cas events tail -f`: the first retry is quick, then
// they back off to reconnectMax.
var (
	reconnectFirst = 200 * time.Millisecond
	reconnectMax   = 5 * time.Second
)

// reconnectEvents opens the event stream again after it ended with cause,
// resuming after the event cursor, retrying until casd answers or the
// command is interrupted. It says on stderr that it lost casd and when it is
// back; casd refusing the query (a 4xx) ends the command.
func reconnectEvents(opts *EventsTailOptions, c *api.Client, q api.EventQuery, cursor int64, cause error) (*api.EventWatcher, error) {
	reason := "casd closed the event stream"
	if !errors.Is(cause, io.EOF) {
		reason = "lost the event stream: " + cause.Error()
	}
	fmt.Fprintf(opts.IO.ErrOut, "cas: %s; reconnecting (resuming after event %d)\n", reason, cursor)
	q.After, q.HasAfter = cursor, true
	q.Limit = 0
	wait := reconnectFirst
	for {
		t := time.NewTimer(wait)
		select {
		case <-opts.Ctx.Done():
			t.Stop()
			return nil, opts.Ctx.Err()
		case <-t.C:
		}
		w, err := c.WatchEvents(opts.Ctx, q)
		if err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "cas: reconnected to casd\n")
			return w, nil
		}
		var apiErr *api.Error
		if !api.IsUnreachable(err) && !api.IsTimeout(err) && !(errors.As(err, &apiErr) && apiErr.Status >= 500) {
			return nil, err // casd refuses the query itself: retrying won't help
		}
		wait = min(2*wait, reconnectMax)
	}
}

// eventLines prints events for people, one line each: fixed columns for time,
// kind, action, decision, app and user, then key=value pairs for the rest.
type eventLines struct {
	ios *IOStreams
	cs  *ColorScheme
}

func newEventLines(ios *IOStreams) *eventLines {
	return &eventLines{ios: ios, cs: ios.ColorScheme()}
}

func (l *eventLines) Write(ev api.Event) error {
	var b strings.Builder
	col := func(s string, width int, style func(string) string) {
		if s == "" {
			s = "-"
		}
		s = sanitize(s)
		pad := max(width-utf8.RuneCountInString(s), 0)
		b.WriteString(style(s))
		b.WriteString(strings.Repeat(" ", pad+2))
	}
	plain := func(s string) string { return s }
	col(fmtTime(ev.Time), 20, l.cs.Gray)
	col(ev.Kind, 8, plain)
	col(ev.Action, 15, plain)
	col(ev.Decision, 8, l.cs.Decision)
	col(ev.App, 12, plain)
	col(ev.User, 0, plain)
	kv := func(k, v string) {
		if v == "" {
			return
		}
		if strings.IndexFunc(v, needsQuote) >= 0 {
			v = strconv.Quote(v) // also escapes control characters
		}
		b.WriteString(l.cs.Gray(k + "="))
		b.WriteString(v)
		b.WriteString(" ")
	}
	kv("ip", ev.SourceIP)
	kv("device", ev.Device)
	kv("object", ev.Object)
	if ev.Bytes > 0 {
		kv("bytes", strconv.FormatInt(ev.Bytes, 10))
	}
	kv("policies", strings.Join(ev.Policies, ","))
	kv("reason", ev.Reason)
	kv("session", ev.SessionID)
	line := strings.TrimRight(b.String(), " ") + "\n"
	if _, err := io.WriteString(l.ios.Out, line); err != nil {
		return err
	}
	return flush(l.ios.Out)
}

// EventsExportOptions are the inputs of `cas events export`.
type EventsExportOptions struct {
	IO     *IOStreams
	Client func() (*api.Client, error)
	Ctx    context.Context
	Now    func() time.Time

	Filter eventFilterFlags
	Format string
}

func newCmdEventsExport(f *Factory, runF func(*EventsExportOptions) error) *cobra.Command {
	opts := &EventsExportOptions{IO: f.IOStreams, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "export --since TIME [--until TIME] [--format jsonl|csv]",
		Short: "Export events in a time range as JSON lines or CSV",
		Long: `Write every event in a time range to stdout, oldest first, as JSON lines (one
object per line) or CSV with a header row. Times are durations before now
(24h, 7d) or RFC 3339 times.`,
		Example: `  cas events export --since 24h --format csv > events.csv
  cas events export --since 2026-11-01T00:00:00Z --until 2026-11-02T00:00:00Z --kind login`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ctx = cmd.Context()
			if opts.Filter.Since == "" {
				return flagErrorf("--since is required")
			}
			if opts.Format != "jsonl" && opts.Format != "csv" {
				return flagErrorf("--format: %q is not one of jsonl, csv", opts.Format)
			}
			if runF != nil {
				return runF(opts)
			}
			return eventsExportRun(opts)
		},
	}
	opts.Filter.register(cmd)
	cmd.Flags().StringVar(&opts.Filter.Until, "until", "", "Only events before `TIME`: a duration ago or an RFC 3339 time")
	cmd.Flags().StringVar(&opts.Format, "format", "jsonl", "Output `FORMAT`: jsonl or csv")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedValues("jsonl", "csv"))
	return cmd
}

func eventsExportRun(opts *EventsExportOptions) error {
	q, err := opts.Filter.query(opts.Now())
	if err != nil {
		return err
	}
	q.Format = opts.Format
	c, err := opts.Client()
	if err != nil {
		return err
	}
	return c.ExportEvents(opts.Ctx, q, opts.IO.Out)
}

// needsQuote reports whether r makes a key=value value ambiguous or unsafe
// to print unquoted.
func needsQuote(r rune) bool {
	return r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r)
}
