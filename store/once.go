package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConsumeOnce records id as used in namespace (e.g. "assertion" for the
// replay cache) until expires. It reports fresh = false when the id was
// already used and that use has not yet expired. The check and the record are
// one statement, so two concurrent callers cannot both get fresh = true.
func (db *DB) ConsumeOnce(ctx context.Context, namespace, id string, expires time.Time) (fresh bool, err error) {
	if namespace == "" || id == "" {
		return false, Errorf(EINVALID, "single-use id: namespace and id are required")
	}
	now := unixNano(db.nowUTC())
	err = db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_ids (namespace, id, expires) VALUES (?, ?, ?)
			ON CONFLICT (namespace, id) DO UPDATE SET expires = excluded.expires
			WHERE used_ids.expires <= ?`, namespace, id, unixNano(expires), now)
		if err != nil {
			return fmt.Errorf("store: consume %s id: %w", namespace, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: consume %s id: %w", namespace, err)
		}
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// PutTicket stores a single-use ticket (SP-initiated request state, a pending
// login, a session handoff code) under kind and id until expires. ECONFLICT
// if a live ticket with that id exists; an expired one is replaced.
func (db *DB) PutTicket(ctx context.Context, kind, id string, data []byte, expires time.Time) error {
	if kind == "" || id == "" {
		return Errorf(EINVALID, "ticket: kind and id are required")
	}
	now := unixNano(db.nowUTC())
	return db.update(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tickets (kind, id, data, expires) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, expires = excluded.expires
			WHERE tickets.expires <= ?`, kind, id, data, unixNano(expires), now)
		if err != nil {
			return fmt.Errorf("store: put %s ticket: %w", kind, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ECONFLICT, "%s ticket already exists", kind)
		}
		return nil
	})
}

// TakeTicket returns a ticket's data and deletes it, so it can be taken once.
// ENOTFOUND if it does not exist, was taken, or has expired.
func (db *DB) TakeTicket(ctx context.Context, kind, id string) ([]byte, error) {
	var (
		data    []byte
		expires int64
	)
	now := unixNano(db.nowUTC())
	err := db.update(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "DELETE FROM tickets WHERE kind = ? AND id = ? RETURNING data, expires", kind, id).Scan(&data, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return Errorf(ENOTFOUND, "%s ticket not found", kind)
		}
		if err != nil {
			return fmt.Errorf("store: take %s ticket: %w", kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if expires <= now {
		return nil, Errorf(ENOTFOUND, "%s ticket has expired", kind)
	}
	return data, nil
}

// PruneExpired deletes expired single-use ids, tickets and sessions.
func (db *DB) PruneExpired(ctx context.Context) error {
	now := unixNano(db.nowUTC())
	return db.update(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			"DELETE FROM used_ids WHERE expires <= ?",
			"DELETE FROM tickets WHERE expires <= ?",
			"DELETE FROM sessions WHERE expires_at <= ?",
		} {
			if _, err := tx.ExecContext(ctx, q, now); err != nil {
				return fmt.Errorf("store: prune expired: %w", err)
			}
		}
		return nil
	})
}
