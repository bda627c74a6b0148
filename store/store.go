// Package store keeps casd's state in SQLite (modernc.org/sqlite, pure Go):
// IdPs, root CAs, IP tags, policies, apps and their signing keys, the replay
// cache and single-use tickets, proxy sessions, and the append-only event log.
//
// The database runs in WAL mode with synchronous=NORMAL, which survives a
// process crash (kill -9) without losing a committed transaction. Writes go
// through one connection; reads use a separate pool of query-only connections;
// a third connection checkpoints the WAL in the background so that writers
// never pay for it. The schema is created and upgraded by embedded numbered
// migrations.
//
// Every method that can fail on bad input returns an *Error whose code
// (ENOTFOUND, ECONFLICT, EINVALID) the local API maps to an HTTP status.
// Private keys are sealed with AES-256-GCM before they reach the database.
package store

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configures Open.
type Options struct {
	// Now returns the current time; it decides expiry and timestamps.
	// Default time.Now.
	Now func() time.Time
	// SealKey is the 32-byte AES-256-GCM key that seals private keys at
	// rest. Required.
	SealKey []byte
	// Logger receives migration and maintenance messages. Default
	// slog.Default().
	Logger *slog.Logger
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	path   string
	writer *sql.DB // one connection: SQLite allows one writer at a time
	reader *sql.DB // query-only connections
	now    func() time.Time
	aead   cipher.AEAD
	log    *slog.Logger

	// The checkpointer copies the WAL into the database file in the
	// background, so that the writer (and the event writer's group commit)
	// does not pay for it. See checkpoint.go.
	ckpt     *sql.DB
	ckptKick chan struct{}
	ckptStop chan struct{}
	ckptDone chan struct{}
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: open %q: path must be non-empty and contain no '?' or '#'", path)
	}
	aead, err := newAEAD(opts.SealKey)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{path: path, now: opts.Now, aead: aead, log: opts.Logger}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.Default()
	}

	// busy_timeout first so that the pragmas after it wait rather than fail.
	const common = "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	db.writer, err = sql.Open("sqlite", path+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(8000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.writer.SetMaxOpenConns(1)
	db.writer.SetMaxIdleConns(1)
	db.writer.SetConnMaxLifetime(0)
	db.writer.SetConnMaxIdleTime(0)
	if err := db.writer.PingContext(ctx); err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	db.reader, err = sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		db.writer.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.reader.SetMaxOpenConns(n)
	db.reader.SetMaxIdleConns(n)
	if err := db.reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.startCheckpointer(ctx, path+common); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// Close closes both connection pools. Close the EventWriter first.
func (db *DB) Close() error {
	var errs []error
	if err := db.stopCheckpointer(); err != nil {
		errs = append(errs, err)
	}
	if db.reader != nil {
		if err := db.reader.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := db.writer.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("store: close %s: %v", db.path, errs)
	}
	return nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// update runs fn in a write transaction and commits it when fn returns nil.
func (db *DB) update(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	db.kickCheckpointer()
	return nil
}

// view runs fn in a read transaction, so that it sees one snapshot.
func (db *DB) view(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// Counts holds the number of each stored entity, for `cas status`.
type Counts struct {
	Apps, IdPs, Policies, CAs, IPTags, Events int64
	// Sessions counts sessions neither revoked nor past their lifetime.
	Sessions int64
}

// Counts returns how many of each entity the store holds.
func (db *DB) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := db.view(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			table string
			dst   *int64
		}{
			{"apps", &c.Apps}, {"idps", &c.IdPs}, {"policies", &c.Policies},
			{"cas", &c.CAs}, {"ip_tags", &c.IPTags}, {"events", &c.Events},
		} {
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+q.table).Scan(q.dst); err != nil {
				return fmt.Errorf("store: count %s: %w", q.table, err)
			}
		}
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sessions WHERE revoked = 0 AND expires_at > ?", unixNano(db.now())).Scan(&c.Sessions)
		if err != nil {
			return fmt.Errorf("store: count sessions: %w", err)
		}
		return nil
	})
	return c, err
}

// unixNano stores a time as integer nanoseconds; the zero time is 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNano is the inverse of unixNano; times come back in UTC.
func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nowUTC returns the injected clock's time, rounded to nanoseconds and in UTC
// so that what is returned equals what is stored.
func (db *DB) nowUTC() time.Time { return db.now().Round(0).UTC() }

// boolInt stores a bool as 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
