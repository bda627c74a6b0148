package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkEventWriter measures sustained ingest through the batching writer:
// four producers each append 50,000 login-like events with Append, then one
// AppendSync marks the end. Reports events/s.
func BenchmarkEventWriter(b *testing.B) {
	db, _ := newTestDB(b)
	w := NewEventWriter(db, EventWriterOptions{})
	ctx := context.Background()
	const producers, each = 4, 50_000
	details := json.RawMessage(`{"idp":"corp","tags":["chrome","windows"]}`)
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for p := range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ev := Event{
					Kind: KindLogin, App: "salesforce", SourceIP: "203.0.113.7",
					UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
					Device:    "unmanaged", Action: "login", Decision: "allow",
					Policies: []string{"allow-corp", "identify-managed"}, Reason: "matched", Details: details,
				}
				for i := range each {
					ev.User = fmt.Sprintf("user%d@example.com", (p*each+i)%5000)
					ev.Time = time.Now()
					w.Append(ev)
				}
			}()
		}
		wg.Wait()
		if _, err := w.AppendSync(ctx, Event{Kind: KindSystem, Action: "mark"}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*(producers*each+1))/b.Elapsed().Seconds(), "events/s")
	if err := w.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// benchEvents is the size of the table the query benchmarks run on.
const benchEvents = 1_000_000

// benchDB opens a copy-free store holding benchEvents events, built once with
// one INSERT … SELECT and cached in the temp directory by schema version.
func benchDB(b *testing.B) *DB {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("cas-store-bench-v%d-%d.db", SchemaVersion(), benchEvents))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		os.Remove(tmp)
		os.Remove(tmp + "-wal")
		os.Remove(tmp + "-shm")
		start := time.Now()
		db, err := Open(context.Background(), tmp, Options{SealKey: testKey()})
		if err != nil {
			b.Fatal(err)
		}
		// 1,000 users, 20 apps, 5 kinds, 3 decisions; one event per second.
		_, err = db.writer.Exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
			INSERT INTO events (id, time, kind, app, username, source_ip, user_agent, device, action, decision, policies, reason, session_id, object, bytes, details)
			SELECT i, ? + i * 1000000000,
				CASE i % 5 WHEN 0 THEN 'login' WHEN 1 THEN 'activity' WHEN 2 THEN 'activity' WHEN 3 THEN 'device' ELSE 'admin' END,
				'app' || (i % 20), 'user' || (i % 1000) || '@example.com', '10.0.' || (i % 256) || '.' || (i % 250),
				'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0', 'unmanaged', 'download',
				CASE i % 3 WHEN 0 THEN 'allow' WHEN 1 THEN 'block' ELSE 'monitor' END,
				'["p1","p2"]', 'matched', 's' || (i % 777), '/files/report-' || i || '.csv', i % 100000, '{"k":1}'
			FROM c`, benchEvents, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			b.Fatal(err)
		}
		db.Close()
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		os.Remove(tmp + "-wal")
		os.Remove(tmp + "-shm")
		b.Logf("built %d-event table in %v: %s", benchEvents, time.Since(start).Round(time.Millisecond), path)
	}
	db, err := Open(context.Background(), path, Options{SealKey: testKey()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkEventsNewestByUser is `cas events tail -n 100 --user U` on a table
// of 1,000,000 events, as casd runs it. Reports ms/op.
func BenchmarkEventsNewestByUser(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		f    EventFilter
	}{
		{"user", EventFilter{User: "user421@example.com", Limit: 100, Newest: true}},
		{"user_since_30d", EventFilter{User: "user421@example.com", Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 100, Newest: true}},
		{"app", EventFilter{App: "app7", Limit: 100, Newest: true}},
		{"kind", EventFilter{Kinds: []string{KindLogin}, Limit: 100, Newest: true}},
		{"decision", EventFilter{Decision: "block", Limit: 100, Newest: true}},
		{"two_kinds", EventFilter{Kinds: []string{KindLogin, KindAdmin}, Limit: 100, Newest: true}},
		{"user_and_kind", EventFilter{User: "user420@example.com", Kinds: []string{KindLogin}, Limit: 100, Newest: true}},
		{"unfiltered", EventFilter{Limit: 100, Newest: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				evs, err := db.Events(ctx, bc.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) != 100 {
					b.Fatalf("%d events, want 100", len(evs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// BenchmarkCounts is `cas status` on the 1,000,000-event table.
func BenchmarkCounts(b *testing.B) {
	db := benchDB(b)
	for b.Loop() {
		c, err := db.Counts(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if c.Events != benchEvents {
			b.Fatalf("%d events", c.Events)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
