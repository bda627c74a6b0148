package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is a server-side proxy session (session control). The store keeps
// ID as given; callers that want the cookie value itself out of the database
// pass a hash of it.
type Session struct {
	ID        string
	App       string
	User      string
	Device    string
	IP        string
	UserAgent string
	// Data is opaque to the store.
	Data      []byte
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time
	Revoked   bool
}

// Valid reports whether the session may be used at now: not revoked and not
// past its maximum lifetime. The idle timeout is the caller's, from LastSeen.
func (s *Session) Valid(now time.Time) bool {
	return !s.Revoked && now.Before(s.ExpiresAt)
}

// SessionFilter selects sessions. Empty fields match everything.
type SessionFilter struct {
	ID   string
	App  string
	User string
	// Active limits Sessions to sessions neither revoked nor expired.
	Active bool
}

const sessionColumns = "id, app, username, device, ip, user_agent, data, created_at, last_seen, expires_at, revoked"

// CreateSession stores a new session. CreatedAt and LastSeen default to now.
// ECONFLICT if the id exists.
func (db *DB) CreateSession(ctx context.Context, s *Session) error {
	if s.ID == "" || s.App == "" {
		return Errorf(EINVALID, "session: id and app are required")
	}
	if s.ExpiresAt.IsZero() {
		return Errorf(EINVALID, "session: expiry is required")
	}
	now := db.nowUTC()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = s.CreatedAt
	}
	return db.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.ID, s.App, s.User, s.Device, s.IP, s.UserAgent, s.Data,
			unixNano(s.CreatedAt), unixNano(s.LastSeen), unixNano(s.ExpiresAt), boolInt(s.Revoked))
		if isUnique(err) {
			return Errorf(ECONFLICT, "session already exists")
		}
		if err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
		return nil
	})
}

// Session returns the session with the id, revoked or expired ones included,
// or ENOTFOUND. Check Valid before honouring it.
func (db *DB) Session(ctx context.Context, id string) (*Session, error) {
	s, err := scanSession(db.reader.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("store: get session: %w", err)
	}
	return s, nil
}

// TouchSession sets the session's LastSeen to at (never moving it back).
// ENOTFOUND if there is no such session.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET last_seen = max(last_seen, ?) WHERE id = ?", unixNano(at), id)
		if err != nil {
			return fmt.Errorf("store: touch session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "session not found")
		}
		return nil
	})
}

// Sessions returns the sessions matching f (its ID too), newest first.
func (db *DB) Sessions(ctx context.Context, f SessionFilter) ([]*Session, error) {
	where, args := db.sessionWhere(f)
	if f.Active {
		where = append(where, "revoked = 0", "expires_at > ?")
		args = append(args, unixNano(db.nowUTC()))
	}
	q := "SELECT " + sessionColumns + " FROM sessions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.reader.QueryContext(ctx, q+" ORDER BY created_at DESC, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// RevokeSessions marks the sessions matching f (ID, App, User; Active is
// ignored) revoked and returns how many were newly revoked. An empty filter is
// EINVALID rather than revoking everything.
func (db *DB) RevokeSessions(ctx context.Context, f SessionFilter) (int64, error) {
	where, args := db.sessionWhere(f)
	if len(where) == 0 {
		return 0, Errorf(EINVALID, "revoke sessions: give a session id, an app or a user")
	}
	var n int64
	err := db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked = 1 WHERE revoked = 0 AND "+strings.Join(where, " AND "), args...)
		if err != nil {
			return fmt.Errorf("store: revoke sessions: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// sessionWhere turns the ID, App and User of f into SQL conditions.
func (db *DB) sessionWhere(f SessionFilter) ([]string, []any) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ col, val string }{{"id", f.ID}, {"app", f.App}, {"username", f.User}} {
		if c.val != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.val)
		}
	}
	return where, args
}

// scanSession reads one row selected with sessionColumns.
func scanSession(sc scanner) (*Session, error) {
	var (
		s                  Session
		created, seen, exp int64
		revoked            int
	)
	if err := sc.Scan(&s.ID, &s.App, &s.User, &s.Device, &s.IP, &s.UserAgent, &s.Data, &created, &seen, &exp, &revoked); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeen, s.ExpiresAt = fromNano(created), fromNano(seen), fromNano(exp)
	s.Revoked = revoked != 0
	return &s, nil
}
