package daemon

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/store"
)

// Event kinds and decisions the API accepts as filters.
var (
	eventKinds     = []string{"admin", "login", "device", "activity", "system"}
	eventDecisions = []string{"allow", "block", "monitor", "protect", "log", "error"}
)

const (
	defaultTail = 20
	maxTail     = 100000
	// eventPage is how many events a resuming stream reads at a time.
	eventPage = 1000
)

func toAPIEvent(e store.Event) api.Event {
	return api.Event{
		ID: e.ID, Time: e.Time.UTC(), Kind: e.Kind, App: e.App, User: e.User, SourceIP: e.SourceIP,
		UserAgent: e.UserAgent, Device: e.Device, Action: e.Action, Decision: e.Decision,
		Policies: e.Policies, Reason: e.Reason, SessionID: e.SessionID, Object: e.Object,
		Bytes: e.Bytes, Details: e.Details,
	}
}

// parseEventFilter reads the query of /v0/events and /v0/events/export.
func parseEventFilter(r *http.Request) (store.EventFilter, bool, error) {
	q := r.URL.Query()
	var f store.EventFilter
	for _, k := range []string{"since", "until"} {
		s := q.Get(k)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return f, false, invalid("%s: %q is not an RFC 3339 time", k, s)
		}
		if k == "since" {
			f.Since = t
		} else {
			f.Until = t
		}
	}
	for _, k := range q["kind"] {
		for _, k := range strings.Split(k, ",") {
			if !slices.Contains(eventKinds, k) {
				return f, false, invalid("kind: %q is not one of %s", k, strings.Join(eventKinds, ", "))
			}
			f.Kinds = append(f.Kinds, k)
		}
	}
	f.App, f.User, f.Decision = q.Get("app"), q.Get("user"), q.Get("decision")
	if f.Decision != "" && !slices.Contains(eventDecisions, f.Decision) && !strings.HasPrefix(f.Decision, "would_") {
		return f, false, invalid("decision: %q is not one of %s (or would_…)", f.Decision, strings.Join(eventDecisions, ", "))
	}
	if n := q.Get("n"); n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > maxTail {
			return f, false, invalid("n: %q is not a number from 0 to %d", n, maxTail)
		}
		f.Limit = v
	}
	if a := q.Get("after"); a != "" {
		v, err := strconv.ParseInt(a, 10, 64)
		if err != nil || v < 0 {
			return f, false, invalid("after: %q is not an event ID", a)
		}
		f.AfterID = v
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"
	return f, follow, nil
}

// matches reports whether e passes f (for live events).
func matches(f store.EventFilter, e store.Event) bool {
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.Time.Before(f.Until) {
		return false
	}
	if len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind) {
		return false
	}
	return (f.App == "" || f.App == e.App) && (f.User == "" || f.User == e.User) && (f.Decision == "" || f.Decision == e.Decision)
}

// tailEvents streams the newest events matching the query, one JSON object
// per line, and with follow=1 every new one as it is committed. With
// after=ID it streams every matching event after that one instead of the
// newest N: how a follower that lost its connection resumes without a gap
// or a repeat. A following stream names, in its api.EventCursorHeader, the
// newest event ID it started after.
func (d *Daemon) tailEvents(w http.ResponseWriter, r *http.Request) error {
	f, follow, err := parseEventFilter(r)
	if err != nil {
		return err
	}
	after := r.URL.Query().Has("after") // parseEventFilter read it into f.AfterID
	if r.URL.Query().Get("n") == "" && !after {
		f.Limit = defaultTail
	}
	var sub <-chan store.Event
	var unsub func()
	var last int64
	if follow {
		// Subscribe before reading the newest ID and the backfill, so no
		// event falls between them.
		sub, unsub = d.events.Subscribe(4096)
		defer func() { unsub() }()
		evs, err := d.db.Events(r.Context(), store.EventFilter{Newest: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(evs) == 1 {
			last = evs[0].ID
		}
		if after {
			// Everything after the follower's cursor is streamed, from the
			// backfill or live: the cursor cannot move back.
			last = f.AfterID
		}
		w.Header().Set(api.EventCursorHeader, strconv.FormatInt(last, 10))
	}
	// The backfill: the newest N, or with after, everything after it,
	// oldest first, a page at a time. The first page is read before the
	// status is sent, so that a failure is still an error answer.
	page := f
	page.Newest = !after
	remaining := f.Limit // with after: a cap, 0 for none
	if after {
		page.Limit = eventPage
		if remaining > 0 {
			page.Limit = min(remaining, eventPage)
		}
	}
	var evs []store.Event
	if page.Limit > 0 {
		if evs, err = d.db.Events(r.Context(), page); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for {
		for _, e := range evs {
			enc.Encode(toAPIEvent(e))
			last = max(last, e.ID)
			page.AfterID = e.ID
		}
		if !after || len(evs) < page.Limit {
			break
		}
		if remaining > 0 {
			if remaining -= len(evs); remaining == 0 {
				break
			}
			page.Limit = min(remaining, eventPage)
		}
		if evs, err = d.db.Events(r.Context(), page); err != nil {
			d.endStream(r, err) // the status is sent: break the stream off
		}
	}
	if !follow {
		return nil
	}
	rc := http.NewResponseController(w)
	rc.Flush()
	return d.follow(r.Context(), w, rc, f, last, sub, &unsub)
}

func (d *Daemon) follow(ctx context.Context, w http.ResponseWriter, rc *http.ResponseController, f store.EventFilter, last int64, sub <-chan store.Event, unsub *func()) error {
	enc := json.NewEncoder(w)
	live := f
	live.Limit, live.Newest = 0, false
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keepalive.C:
			if _, err := w.Write([]byte("\n")); err != nil {
				return nil
			}
			rc.Flush()
		case e, ok := <-sub:
			if !ok {
				// We fell behind and the writer dropped us: catch up from
				// the store, then subscribe again.
				sub, *unsub = d.events.Subscribe(4096)
				catch := live
				catch.AfterID = last
				evs, err := d.db.Events(ctx, catch)
				if err != nil {
					return nil
				}
				for _, e := range evs {
					enc.Encode(toAPIEvent(e))
					last = e.ID
				}
				rc.Flush()
				continue
			}
			if e.ID <= last || !matches(live, e) {
				continue
			}
			last = e.ID
			if err := enc.Encode(toAPIEvent(e)); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
	}
}

// endStream ends an answer whose head has been sent, after err: on an
// error the connection is cut before the body's end, so that the client
// sees the stream break instead of a shorter export that looks whole.
func (d *Daemon) endStream(r *http.Request, err error) {
	if err == nil {
		return
	}
	if r.Context().Err() == nil {
		d.log.Error("local api: stream broken off", "path", r.URL.Path, "err", err)
	}
	panic(http.ErrAbortHandler)
}

var csvHeader = []string{"id", "time", "kind", "app", "user", "source_ip", "user_agent", "device", "action", "decision", "policies", "reason", "session_id", "object", "bytes", "details"}

// exportEvents writes every event in the range as JSON lines or CSV,
// streaming from the store.
func (d *Daemon) exportEvents(w http.ResponseWriter, r *http.Request) error {
	f, _, err := parseEventFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 0
	format := r.URL.Query().Get("format")
	// The head goes out at once: a filter that matches little of a long
	// log may take a while to find its first row, and the client's
	// timeout (cas --timeout) counts until the answer begins.
	begin := func(contentType string) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	}
	switch format {
	case "", "jsonl":
		begin("application/x-ndjson")
		enc := json.NewEncoder(w)
		err := d.db.EventsFunc(r.Context(), f, func(e store.Event) error { return enc.Encode(toAPIEvent(e)) })
		d.endStream(r, err)
		return nil
	case "csv":
		begin("text/csv")
		cw := csv.NewWriter(w)
		cw.Write(csvHeader)
		err := d.db.EventsFunc(r.Context(), f, func(e store.Event) error {
			return cw.Write([]string{
				strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Kind, e.App, e.User, e.SourceIP,
				e.UserAgent, e.Device, e.Action, e.Decision, strings.Join(e.Policies, ";"), e.Reason, e.SessionID,
				e.Object, strconv.FormatInt(e.Bytes, 10), string(e.Details),
			})
		})
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		d.endStream(r, err)
		return nil
	default:
		return invalid("format: %q is not one of jsonl, csv", format)
	}
}
