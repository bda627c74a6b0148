package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event kinds.
const (
	KindAdmin    = "admin"
	KindLogin    = "login"
	KindDevice   = "device"
	KindActivity = "activity"
	KindSystem   = "system"
)

// Event is one entry of the append-only event log: something casd observed or
// decided. Secrets (keys, tokens, assertions) never go into an event.
type Event struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Kind      string          `json:"kind"` // admin, login, device, activity, system
	App       string          `json:"app,omitempty"`
	User      string          `json:"user,omitempty"`
	SourceIP  string          `json:"source_ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	Device    string          `json:"device,omitempty"`
	Action    string          `json:"action,omitempty"`   // e.g. login, download, policy.add
	Decision  string          `json:"decision,omitempty"` // allow, block, monitor, protect, log
	Policies  []string        `json:"policies,omitempty"` // every matched policy, log-only ones too
	Reason    string          `json:"reason,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Object    string          `json:"object,omitempty"` // file name, URL path
	Bytes     int64           `json:"bytes,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// validEventKind reports whether k is one of the event kinds.
func validEventKind(k string) bool {
	switch k {
	case KindAdmin, KindLogin, KindDevice, KindActivity, KindSystem:
		return true
	}
	return false
}

// ValidateEvent returns EINVALID when ev cannot be stored: an unknown kind or
// details that are not JSON.
func ValidateEvent(ev *Event) error {
	if !validEventKind(ev.Kind) {
		return Errorf(EINVALID, "event kind %q: want admin, login, device, activity or system", ev.Kind)
	}
	if len(ev.Details) > 0 && !json.Valid(ev.Details) {
		return Errorf(EINVALID, "event details are not valid JSON")
	}
	return nil
}

// EventFilter selects events. Zero fields match everything.
type EventFilter struct {
	Since    time.Time // time >= Since
	Until    time.Time // time < Until
	Kinds    []string  // any of these kinds
	App      string
	User     string
	Decision string
	AfterID  int64 // id > AfterID
	// Limit caps the number of events; 0 means no cap.
	Limit int
	// Newest, with Limit N, selects the newest N matching events (still
	// returned in ascending order) instead of the oldest N.
	Newest bool
}

const eventColumns = "id, time, kind, app, username, source_ip, user_agent, device, action, decision, policies, reason, session_id, object, bytes, details"

// eventColumnCount is the number of columns in eventColumns.
const eventColumnCount = 16

// eventQuery builds the SELECT for f. It reports whether rows come newest
// first (and must be reversed).
func eventQuery(f EventFilter) (string, []any, bool) {
	var (
		where []string
		args  []any
	)
	// With an equality filter, keep SQLite on that column's (x, id) index:
	// the unary + stops the time range from competing for the plan.
	// Without one, walk the table in id order (no sort of millions of rows
	// for an export), starting at the first id whose time is in range: no
	// earlier id can match, even if times are not quite monotonic in ids.
	equality := f.App != "" || f.User != "" || f.Decision != "" || len(f.Kinds) > 0
	if !f.Since.IsZero() {
		where = append(where, "+time >= ?")
		args = append(args, unixNano(f.Since))
		if !equality {
			where = append(where, "id >= (SELECT min(id) FROM events INDEXED BY events_time WHERE time >= ?)")
			args = append(args, unixNano(f.Since))
		}
	}
	if !f.Until.IsZero() {
		where = append(where, "+time < ?")
		args = append(args, unixNano(f.Until))
	}
	// Of several equality filters, only the likely most selective one (user,
	// then app, kind, decision) may use its index; the others are checked
	// on the rows it yields. Without statistics SQLite might otherwise walk
	// the kind index through a million rows to find one user's hundred.
	lead := ""
	switch {
	case f.User != "":
		lead = "username"
	case f.App != "":
		lead = "app"
	case len(f.Kinds) > 0:
		lead = "kind"
	case f.Decision != "":
		lead = "decision"
	}
	col := func(name string) string {
		if name == lead {
			return name
		}
		return "+" + name
	}
	if len(f.Kinds) > 0 {
		where = append(where, col("kind")+" IN (?"+strings.Repeat(", ?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	for _, c := range []struct{ col, val string }{{"app", f.App}, {"username", f.User}, {"decision", f.Decision}} {
		if c.val != "" {
			where = append(where, col(c.col)+" = ?")
			args = append(args, c.val)
		}
	}
	if f.AfterID > 0 {
		where = append(where, "id > ?")
		args = append(args, f.AfterID)
	}
	q := "SELECT " + eventColumns + " FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	desc := f.Newest && f.Limit > 0
	if desc {
		q += " ORDER BY id DESC"
	} else {
		q += " ORDER BY id"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args, desc
}

// Events returns the events matching f in ascending id order.
func (db *DB) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	var out []Event
	err := db.EventsFunc(ctx, f, func(ev Event) error {
		out = append(out, ev)
		return nil
	})
	return out, err
}

// EventsFunc calls fn for each event matching f in ascending id order,
// streaming from the database so that exports of millions of events use
// little memory. An error from fn stops the iteration and is returned.
func (db *DB) EventsFunc(ctx context.Context, f EventFilter, fn func(Event) error) error {
	if f.Limit < 0 {
		return Errorf(EINVALID, "event limit %d is negative", f.Limit)
	}
	q, args, desc := eventQuery(f)
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: query events: %w", err)
	}
	defer rows.Close()
	var newest []Event // only when desc: at most Limit events
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("store: query events: %w", err)
		}
		if desc {
			newest = append(newest, ev)
			continue
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: query events: %w", err)
	}
	rows.Close()
	for _, ev := range slices.Backward(newest) {
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

// scanEvent reads one row selected with eventColumns.
func scanEvent(s scanner) (Event, error) {
	var (
		ev                Event
		t                 int64
		policies, details string
	)
	if err := s.Scan(&ev.ID, &t, &ev.Kind, &ev.App, &ev.User, &ev.SourceIP, &ev.UserAgent, &ev.Device,
		&ev.Action, &ev.Decision, &policies, &ev.Reason, &ev.SessionID, &ev.Object, &ev.Bytes, &details); err != nil {
		return ev, err
	}
	ev.Time = fromNano(t)
	if policies != "" {
		if err := json.Unmarshal([]byte(policies), &ev.Policies); err != nil {
			return ev, fmt.Errorf("decode policies of event %d: %w", ev.ID, err)
		}
	}
	if details != "" {
		ev.Details = json.RawMessage(details)
	}
	return ev, nil
}

// eventChunk is how many rows one INSERT statement carries: fewer statements
// make bulk appends much faster, and 64×16 parameters stay far below SQLite's
// limit.
const eventChunk = 64

// AppendEvents stores evs in one transaction and returns their IDs, which
// increase in the order given and are never reused. An event with a zero Time
// gets the current time. EINVALID (and nothing stored) if any event is
// invalid.
func (db *DB) AppendEvents(ctx context.Context, evs []Event) ([]int64, error) {
	for i := range evs {
		if err := ValidateEvent(&evs[i]); err != nil {
			return nil, err
		}
	}
	return db.appendValidated(ctx, evs)
}

// appendValidated is AppendEvents for events already validated (the writer
// validates in the caller's goroutine, off its own critical path).
func (db *DB) appendValidated(ctx context.Context, evs []Event) ([]int64, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(evs))
	now := db.nowUTC()
	err := db.update(ctx, func(tx *sql.Tx) error {
		next, err := nextEventID(ctx, tx)
		if err != nil {
			return err
		}
		for i := range ids {
			ids[i] = next + int64(i)
		}
		return insertEvents(ctx, tx, evs, ids, now)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// nextEventID returns the ID the next event gets: past every ID ever used,
// even if the newest events were deleted.
func nextEventID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT max(
		coalesce((SELECT max(id) FROM events), 0),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))`).Scan(&last)
	if err != nil {
		return 0, fmt.Errorf("store: next event id: %w", err)
	}
	return last + 1, nil
}

// insertEvents inserts evs with the given ids, eventChunk rows per statement.
func insertEvents(ctx context.Context, tx *sql.Tx, evs []Event, ids []int64, now time.Time) error {
	var full *sql.Stmt
	args := make([]any, 0, eventChunk*eventColumnCount)
	for start := 0; start < len(evs); start += eventChunk {
		end := min(start+eventChunk, len(evs))
		args = args[:0]
		for i := start; i < end; i++ {
			args = appendEventArgs(args, &evs[i], ids[i], now)
		}
		n := end - start
		var err error
		if n == eventChunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertEventsSQL(eventChunk)); err != nil {
					return fmt.Errorf("store: prepare event insert: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertEventsSQL(n), args...)
		}
		if err != nil {
			return fmt.Errorf("store: insert events: %w", err)
		}
	}
	return nil
}

// insertEventsSQL is an INSERT of n rows.
func insertEventsSQL(n int) string {
	row := "(?" + strings.Repeat(", ?", eventColumnCount-1) + ")"
	return "INSERT INTO events (" + eventColumns + ") VALUES " + row + strings.Repeat(", "+row, n-1)
}

// appendEventArgs appends ev's column values in eventColumns order.
func appendEventArgs(args []any, ev *Event, id int64, now time.Time) []any {
	t := ev.Time
	if t.IsZero() {
		t = now
	}
	policies := ""
	if len(ev.Policies) > 0 {
		policies = jsonList(ev.Policies)
	}
	return append(args, id, t.UnixNano(), ev.Kind, ev.App, ev.User, ev.SourceIP, ev.UserAgent, ev.Device,
		ev.Action, ev.Decision, policies, ev.Reason, ev.SessionID, ev.Object, ev.Bytes, string(ev.Details))
}

// pruneChunk bounds how many events one pruning transaction deletes, so that
// pruning a large backlog never holds the writer for long.
const pruneChunk = 5000

// PruneEvents deletes events older than before and returns how many. It
// works in small transactions so other writes proceed in between.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := db.pruneEventsChunk(ctx, before)
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// pruneEventsChunk deletes up to pruneChunk of the oldest events before
// before, in one transaction.
func (db *DB) pruneEventsChunk(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN
			(SELECT id FROM events WHERE time < ? ORDER BY id LIMIT ?)`, unixNano(before), pruneChunk)
		if err != nil {
			return fmt.Errorf("store: prune events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
