package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestConsumeOnce(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	exp := clock.Now().Add(5 * time.Minute)
	steps := []struct {
		name    string
		advance time.Duration
		ns, id  string
		expires time.Time
		fresh   bool
	}{
		{"first use", 0, "assertion", "id-1", exp, true},
		{"replay", 0, "assertion", "id-1", exp, false},
		{"other namespace", 0, "request", "id-1", exp, true},
		{"other id", 0, "assertion", "id-2", exp, true},
		{"replay just before expiry", 5*time.Minute - time.Nanosecond, "assertion", "id-1", exp.Add(time.Hour), false},
		{"reuse after expiry", time.Nanosecond, "assertion", "id-1", exp.Add(time.Hour), true},
		{"replay after re-use", time.Minute, "assertion", "id-1", exp.Add(time.Hour), false},
	}
	for _, s := range steps {
		clock.Add(s.advance)
		fresh, err := db.ConsumeOnce(ctx, s.ns, s.id, s.expires)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if fresh != s.fresh {
			t.Fatalf("%s: fresh = %v, want %v", s.name, fresh, s.fresh)
		}
	}
	_, err := db.ConsumeOnce(ctx, "assertion", "", exp)
	wantCode(t, err, EINVALID)
}

func TestConsumeOnceConcurrent(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fresh int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.ConsumeOnce(ctx, "assertion", "same", clock.Now().Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d callers saw the id as fresh, want 1", fresh)
	}
}

func TestTickets(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	exp := clock.Now().Add(time.Minute)
	if err := db.PutTicket(ctx, "authn", "t1", []byte("state"), exp); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.PutTicket(ctx, "authn", "t1", []byte("other"), exp), ECONFLICT)
	if err := db.PutTicket(ctx, "handoff", "t1", []byte("h"), exp); err != nil {
		t.Fatalf("same id, other kind: %v", err)
	}
	got, err := db.TakeTicket(ctx, "authn", "t1")
	if err != nil || string(got) != "state" {
		t.Fatalf("TakeTicket = %q, %v", got, err)
	}
	_, err = db.TakeTicket(ctx, "authn", "t1")
	wantCode(t, err, ENOTFOUND) // single use
	_, err = db.TakeTicket(ctx, "authn", "never")
	wantCode(t, err, ENOTFOUND)

	// Expiry.
	if err := db.PutTicket(ctx, "pending", "p1", []byte("x"), exp); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	_, err = db.TakeTicket(ctx, "pending", "p1")
	wantCode(t, err, ENOTFOUND)

	// An expired ticket may be replaced.
	if err := db.PutTicket(ctx, "pending", "p2", []byte("x"), clock.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Second)
	if err := db.PutTicket(ctx, "pending", "p2", []byte("y"), clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("replace expired: %v", err)
	}
	if got, err := db.TakeTicket(ctx, "pending", "p2"); err != nil || string(got) != "y" {
		t.Fatalf("replaced ticket = %q, %v", got, err)
	}
	wantCode(t, db.PutTicket(ctx, "", "x", nil, exp), EINVALID)
}

func TestPruneExpired(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	now := clock.Now()
	mustDo(t, db.PutTicket(ctx, "k", "old", nil, now.Add(time.Second)))
	mustDo(t, db.PutTicket(ctx, "k", "new", nil, now.Add(time.Hour)))
	if _, err := db.ConsumeOnce(ctx, "assertion", "old", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConsumeOnce(ctx, "assertion", "new", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mustDo(t, db.CreateSession(ctx, &Session{ID: "s-old", App: "sf", ExpiresAt: now.Add(time.Second)}))
	mustDo(t, db.CreateSession(ctx, &Session{ID: "s-new", App: "sf", ExpiresAt: now.Add(time.Hour)}))
	clock.Add(time.Minute)
	mustDo(t, db.PruneExpired(ctx))
	for _, tc := range []struct {
		table string
		want  int
	}{{"tickets", 1}, {"used_ids", 1}, {"sessions", 1}} {
		var n int
		if err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM "+tc.table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("%s: %d rows after prune, want %d", tc.table, n, tc.want)
		}
	}
	if _, err := db.TakeTicket(ctx, "k", "new"); err != nil {
		t.Fatalf("live ticket pruned: %v", err)
	}
}

func TestSessions(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	now := clock.Now()
	for _, s := range []*Session{
		{ID: "s1", App: "sf", User: "alice", Device: "managed", IP: "10.0.0.1", UserAgent: "UA", Data: []byte("d"), ExpiresAt: now.Add(time.Hour)},
		{ID: "s2", App: "sf", User: "bob", ExpiresAt: now.Add(time.Hour)},
		{ID: "s3", App: "box", User: "alice", ExpiresAt: now.Add(time.Hour)},
		{ID: "s4", App: "box", User: "bob", ExpiresAt: now.Add(time.Minute)},
	} {
		mustDo(t, db.CreateSession(ctx, s))
		clock.Add(time.Second)
	}
	wantCode(t, db.CreateSession(ctx, &Session{ID: "s1", App: "sf", ExpiresAt: now.Add(time.Hour)}), ECONFLICT)
	wantCode(t, db.CreateSession(ctx, &Session{ID: "s9", App: "sf"}), EINVALID)

	s, err := db.Session(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "alice" || s.Device != "managed" || string(s.Data) != "d" || !s.CreatedAt.Equal(now) || !s.LastSeen.Equal(now) || !s.Valid(clock.Now()) {
		t.Fatalf("Session = %+v", s)
	}
	_, err = db.Session(ctx, "nope")
	wantCode(t, err, ENOTFOUND)

	mustDo(t, db.TouchSession(ctx, "s1", now.Add(10*time.Minute)))
	mustDo(t, db.TouchSession(ctx, "s1", now.Add(5*time.Minute))) // never backwards
	s, _ = db.Session(ctx, "s1")
	if !s.LastSeen.Equal(now.Add(10 * time.Minute)) {
		t.Fatalf("LastSeen = %v", s.LastSeen)
	}
	wantCode(t, db.TouchSession(ctx, "nope", now), ENOTFOUND)

	clock.Add(2 * time.Minute) // s4 expires
	for _, tc := range []struct {
		name string
		f    SessionFilter
		want []string
	}{
		{"all", SessionFilter{}, []string{"s4", "s3", "s2", "s1"}},
		{"by app", SessionFilter{App: "sf"}, []string{"s2", "s1"}},
		{"by user", SessionFilter{User: "alice"}, []string{"s3", "s1"}},
		{"app and user", SessionFilter{App: "box", User: "bob"}, []string{"s4"}},
		{"active", SessionFilter{Active: true}, []string{"s3", "s2", "s1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := db.Sessions(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(list, func(s *Session) string { return s.ID }); !equalStrings(got, tc.want) {
				t.Fatalf("Sessions = %v, want %v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name string
		f    SessionFilter
		n    int64
	}{
		{"by id", SessionFilter{ID: "s2"}, 1},
		{"again", SessionFilter{ID: "s2"}, 0},
		{"by user", SessionFilter{User: "alice"}, 2},
		{"by app", SessionFilter{App: "box"}, 1},
	} {
		n, err := db.RevokeSessions(ctx, tc.f)
		if err != nil || n != tc.n {
			t.Fatalf("%s: revoked %d, %v; want %d", tc.name, n, err, tc.n)
		}
	}
	_, err = db.RevokeSessions(ctx, SessionFilter{})
	wantCode(t, err, EINVALID)
	if list, _ := db.Sessions(ctx, SessionFilter{Active: true}); len(list) != 0 {
		t.Fatalf("active after revoking all: %v", names(list, func(s *Session) string { return s.ID }))
	}
	s, _ = db.Session(ctx, "s1")
	if !s.Revoked || s.Valid(clock.Now()) {
		t.Fatalf("s1 not revoked: %+v", s)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
