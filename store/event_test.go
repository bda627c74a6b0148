package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedEvents appends n events cycling through users, apps, kinds and
// decisions, one second apart from the clock's time.
func seedEvents(t *testing.T, db *DB, start time.Time, n int) []int64 {
	t.Helper()
	evs := make([]Event, n)
	kinds := []string{KindLogin, KindActivity, KindAdmin}
	for i := range evs {
		evs[i] = Event{
			Time:     start.Add(time.Duration(i) * time.Second),
			Kind:     kinds[i%3],
			User:     fmt.Sprintf("user%d", i%4),
			App:      fmt.Sprintf("app%d", i%2),
			Decision: []string{"allow", "block"}[i%2],
			Object:   fmt.Sprint(i),
		}
	}
	ids, err := db.AppendEvents(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestEventRoundTrip(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	ev := Event{
		Time: clock.Now().Add(123 * time.Nanosecond), Kind: KindLogin, App: "sf", User: "alice@example.com",
		SourceIP: "192.0.2.1", UserAgent: "Mozilla/5.0", Device: "managed", Action: "login", Decision: "allow",
		Policies: []string{"allow-corp", "identify-managed"}, Reason: "matched", SessionID: "s1",
		Object: "/x", Bytes: 42, Details: json.RawMessage(`{"idp":"corp"}`),
	}
	ids, err := db.AppendEvents(ctx, []Event{ev, {Kind: KindSystem, Action: "start"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[1] != ids[0]+1 {
		t.Fatalf("ids %v", ids)
	}
	got, err := db.Events(ctx, EventFilter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("Events = %v, %v", got, err)
	}
	ev.ID = ids[0]
	if !reflect.DeepEqual(got[0], ev) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got[0], ev)
	}
	if !got[1].Time.Equal(clock.Now()) {
		t.Fatalf("zero time stored as %v, want now", got[1].Time)
	}

	b, err := json.Marshal(got[1])
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"id":%d,"time":"2026-11-27T10:00:00Z","kind":"system","action":"start"}`, ids[1])
	if string(b) != want {
		t.Fatalf("JSON %s, want %s", b, want)
	}
	b, _ = json.Marshal(got[0])
	for _, key := range []string{`"source_ip"`, `"user_agent"`, `"session_id"`, `"policies":["allow-corp"`, `"details":{"idp":"corp"}`, `"time":"2026-11-27T10:00:00.000000123Z"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}

func TestAppendEventsInvalid(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		ev   Event
	}{
		{"no kind", Event{}},
		{"unknown kind", Event{Kind: "other"}},
		{"bad details", Event{Kind: KindAdmin, Details: json.RawMessage("{")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.AppendEvents(ctx, []Event{{Kind: KindAdmin}, tc.ev})
			wantCode(t, err, EINVALID)
		})
	}
	if evs, _ := db.Events(ctx, EventFilter{}); len(evs) != 0 {
		t.Fatalf("%d events stored from invalid batches", len(evs))
	}
}

func TestEventFilters(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	start := clock.Now()
	ids := seedEvents(t, db, start, 24)
	for _, tc := range []struct {
		name string
		f    EventFilter
		want []int // indexes into ids
	}{
		{"all", EventFilter{}, seq(0, 24)},
		{"limit oldest", EventFilter{Limit: 3}, []int{0, 1, 2}},
		{"newest", EventFilter{Limit: 3, Newest: true}, []int{21, 22, 23}},
		{"newest without limit", EventFilter{Newest: true}, seq(0, 24)},
		{"user newest", EventFilter{User: "user1", Limit: 2, Newest: true}, []int{17, 21}},
		{"app", EventFilter{App: "app1", Limit: 3}, []int{1, 3, 5}},
		{"kind", EventFilter{Kinds: []string{KindAdmin}, Limit: 2, Newest: true}, []int{20, 23}},
		{"kinds", EventFilter{Kinds: []string{KindAdmin, KindLogin}, Limit: 4}, []int{0, 2, 3, 5}},
		{"decision", EventFilter{Decision: "block", User: "user3"}, []int{3, 7, 11, 15, 19, 23}},
		{"since", EventFilter{Since: start.Add(20 * time.Second)}, []int{20, 21, 22, 23}},
		{"until", EventFilter{Until: start.Add(2 * time.Second)}, []int{0, 1}},
		{"since until user", EventFilter{Since: start.Add(4 * time.Second), Until: start.Add(12 * time.Second), User: "user0"}, []int{4, 8}},
		{"after id", EventFilter{AfterID: ids[21]}, []int{22, 23}},
		{"after id newest", EventFilter{AfterID: ids[10], User: "user2", Limit: 1, Newest: true}, []int{22}},
		{"nothing", EventFilter{User: "nobody"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Events(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var gotIdx []int
			for _, ev := range got {
				gotIdx = append(gotIdx, int(ev.ID-ids[0]))
			}
			if !reflect.DeepEqual(gotIdx, tc.want) {
				t.Fatalf("got %v, want %v", gotIdx, tc.want)
			}
		})
	}
	_, err := db.Events(ctx, EventFilter{Limit: -1})
	wantCode(t, err, EINVALID)
}

func TestEventsFuncStopsOnError(t *testing.T) {
	db, clock := newTestDB(t)
	seedEvents(t, db, clock.Now(), 10)
	stop := fmt.Errorf("stop")
	n := 0
	err := db.EventsFunc(context.Background(), EventFilter{}, func(Event) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("EventsFunc = %v after %d events, want stop after 3", err, n)
	}
}

func TestEventQueryPlans(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	seedEvents(t, db, clock.Now(), 10)
	since := clock.Now()
	for _, tc := range []struct {
		name  string
		f     EventFilter
		index string
	}{
		{"user", EventFilter{User: "u", Limit: 100, Newest: true}, "events_user"},
		{"user since", EventFilter{User: "u", Since: since, Limit: 100, Newest: true}, "events_user"},
		{"app", EventFilter{App: "a", Limit: 100, Newest: true}, "events_app"},
		{"kind", EventFilter{Kinds: []string{"login"}, Limit: 100, Newest: true}, "events_kind"},
		{"decision", EventFilter{Decision: "block", Limit: 100, Newest: true}, "events_decision"},
		{"since only", EventFilter{Since: since, Until: since.Add(time.Hour)}, "events_time"},
		{"since newest", EventFilter{Since: since, Limit: 100, Newest: true}, "events_time"},
		{"user and kind", EventFilter{User: "u", Kinds: []string{"login"}, Limit: 100, Newest: true}, "events_user"},
		{"kind and user", EventFilter{Kinds: []string{"login", "admin"}, User: "u", Decision: "block", Limit: 100, Newest: true}, "events_user"},
		{"app and decision", EventFilter{App: "a", Decision: "block", Limit: 100, Newest: true}, "events_app"},
		{"decision and kinds", EventFilter{Decision: "block", Kinds: []string{"login"}, Limit: 100, Newest: true}, "events_kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, args, _ := eventQuery(tc.f)
			rows, err := db.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			p := strings.Join(plan, "; ")
			if !strings.Contains(p, "INDEX "+tc.index) || strings.Contains(p, "TEMP B-TREE") {
				t.Fatalf("plan %q does not use %s without sorting", p, tc.index)
			}
		})
	}
}

func TestEventIDsNeverReused(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	ids := seedEvents(t, db, clock.Now(), 5)
	if _, err := db.writer.ExecContext(ctx, "DELETE FROM events"); err != nil {
		t.Fatal(err)
	}
	more := seedEvents(t, db, clock.Now(), 1)
	if more[0] <= ids[4] {
		t.Fatalf("id %d reused after deleting up to %d", more[0], ids[4])
	}
}

func TestPruneEvents(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	start := clock.Now()
	n := pruneChunk + 10
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Kind: KindSystem, Time: start.Add(time.Duration(i) * time.Millisecond)}
	}
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	cut := start.Add(time.Duration(pruneChunk+5) * time.Millisecond)
	got, err := db.PruneEvents(ctx, cut)
	if err != nil || got != int64(pruneChunk+5) {
		t.Fatalf("PruneEvents = %d, %v; want %d", got, err, pruneChunk+5)
	}
	left, _ := db.Events(ctx, EventFilter{})
	if len(left) != 5 || left[0].Time.Before(cut) {
		t.Fatalf("%d events left, first at %v", len(left), left[0].Time)
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}
