package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// testClock is an adjustable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKey is a fixed seal key for tests.
func testKey() []byte {
	k := make([]byte, SealKeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// openAt opens the store at path with the clock, closing it at the end of t.
func openAt(t testing.TB, path string, clock *testClock) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, Options{
		Now:     clock.Now,
		SealKey: testKey(),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newTestDB opens a fresh store in a temp dir.
func newTestDB(t testing.TB) (*DB, *testClock) {
	t.Helper()
	clock := newClock()
	return openAt(t, filepath.Join(t.TempDir(), "cas.db"), clock), clock
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestMigrationsFromEmptyAndRerun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cas.db")
	clock := newClock()
	db := openAt(t, path, clock)
	vs, err := db.AppliedMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, m := range ms {
		want = append(want, m.version)
	}
	if !slices.Equal(vs, want) || len(vs) == 0 {
		t.Fatalf("applied %v, want %v", vs, want)
	}
	if SchemaVersion() != want[len(want)-1] {
		t.Fatalf("SchemaVersion %d, want %d", SchemaVersion(), want[len(want)-1])
	}
	if err := db.SetIPTag(ctx, &IPTag{Name: "corp", CIDRs: []string{"10.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing and keeps the data.
	clock.Add(time.Hour)
	db2 := openAt(t, path, clock)
	var n int
	if err := db2.reader.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("schema_migrations has %d rows after reopen, want %d", n, len(want))
	}
	var applied int64
	if err := db2.reader.QueryRowContext(ctx, "SELECT applied_at FROM schema_migrations WHERE version = 1").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != unixNano(newClock().Now()) {
		t.Fatalf("migration 1 re-applied at %v", fromNano(applied))
	}
	if _, err := db2.IPTag(ctx, "corp"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		pool   string
		pragma string
		want   string
	}{
		{"journal mode", "writer", "journal_mode", "wal"},
		{"foreign keys", "writer", "foreign_keys", "1"},
		{"synchronous normal", "writer", "synchronous", "1"},
		{"busy timeout", "writer", "busy_timeout", "5000"},
		{"reader query only", "reader", "query_only", "1"},
		{"reader foreign keys", "reader", "foreign_keys", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := db.writer
			if tc.pool == "reader" {
				pool = db.reader
			}
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
			}
		})
	}
	if _, err := db.reader.ExecContext(ctx, "DELETE FROM idps"); err == nil {
		t.Fatal("reader pool accepted a write")
	}
}

func TestOpenRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		key  []byte
	}{
		{"short seal key", filepath.Join(dir, "a.db"), make([]byte, 16)},
		{"no seal key", filepath.Join(dir, "b.db"), nil},
		{"query in path", filepath.Join(dir, "c.db?mode=ro"), testKey()},
		{"empty path", "", testKey()},
		{"missing directory", filepath.Join(dir, "nope", "d.db"), testKey()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(context.Background(), tc.path, Options{SealKey: tc.key})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), EINTERNAL},
		{"coded", Errorf(ENOTFOUND, "x"), ENOTFOUND},
		{"wrapped", fmt.Errorf("ctx: %w", Errorf(ECONFLICT, "y")), ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorCode(tc.err); got != tc.want {
				t.Fatalf("ErrorCode = %q, want %q", got, tc.want)
			}
		})
	}
	if e := Errorf(EINVALID, "bad %s", "name"); e.Error() != "bad name" {
		t.Fatalf("Error() = %q", e.Error())
	}
}

func TestNameValidation(t *testing.T) {
	long := "a"
	for len(long) < 63 {
		long += "b"
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"corp", true},
		{"a", true},
		{"0day", true},
		{"my-app.v2_x", true},
		{long, true},
		{long + "c", false},
		{"", false},
		{"Corp", false},
		{"-corp", false},
		{".corp", false},
		{"corp/x", false},
		{"corp x", false},
		{"cörp", false},
		{"corp\n", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			err := validName("idp", tc.name)
			if (err == nil) != tc.ok {
				t.Fatalf("validName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
			if err != nil {
				wantCode(t, err, EINVALID)
			}
		})
	}
}

func TestCounts(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	mustCreateIdP(t, db, "corp")
	if err := db.CreateApp(ctx, &App{Name: "sf", Template: "salesforce", IdP: "corp"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetIPTag(ctx, &IPTag{Name: "corp", CIDRs: []string{"10.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreatePolicy(ctx, &Policy{Name: "p", Kind: "access", Action: "allow"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AppendEvents(ctx, []Event{{Kind: KindSystem}, {Kind: KindAdmin}}); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	for i, s := range []*Session{
		{ID: "live", App: "sf", User: "a", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "revoked", App: "sf", User: "b", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "expired", App: "sf", User: "c", CreatedAt: now.Add(-2 * time.Hour), LastSeen: now, ExpiresAt: now.Add(-time.Hour)},
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(i, err)
		}
	}
	if _, err := db.RevokeSessions(ctx, SessionFilter{ID: "revoked"}); err != nil {
		t.Fatal(err)
	}
	c, err := db.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Apps: 1, IdPs: 1, Policies: 1, CAs: 0, IPTags: 1, Events: 2, Sessions: 1}
	if c != want {
		t.Fatalf("Counts = %+v, want %+v", c, want)
	}
}

func TestCloseCheckpointsAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cas.db")
	clock := newClock()
	db := openAt(t, path, clock)
	evs := make([]Event, 3000)
	for i := range evs {
		evs[i] = Event{Kind: KindActivity, User: fmt.Sprint("u", i%7)}
	}
	for range 3 {
		if _, err := db.AppendEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close() // a second Close must not panic
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("WAL left with %d bytes after Close", fi.Size())
	}
	db2 := openAt(t, path, clock)
	c, err := db2.Counts(ctx)
	if err != nil || c.Events != 9000 {
		t.Fatalf("after reopen: %d events, %v", c.Events, err)
	}
}
