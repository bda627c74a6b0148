package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestWriterAppendSyncAndOrder(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	w := NewEventWriter(db, EventWriterOptions{MaxBatch: 50})
	const producers, each = 4, 300
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ev := Event{Kind: KindActivity, User: fmt.Sprintf("p%d", p), Object: strconv.Itoa(i)}
				if i%50 == 49 {
					if _, err := w.AppendSync(ctx, ev); err != nil {
						t.Error(err)
					}
					continue
				}
				w.Append(ev)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != producers*each {
		t.Fatalf("%d events stored, want %d", len(evs), producers*each)
	}
	next := map[string]int{}
	for i, ev := range evs {
		if i > 0 && ev.ID <= evs[i-1].ID {
			t.Fatalf("ids not increasing: %d after %d", ev.ID, evs[i-1].ID)
		}
		if ev.Object != strconv.Itoa(next[ev.User]) {
			t.Fatalf("producer %s: event %s stored where %d was expected", ev.User, ev.Object, next[ev.User])
		}
		next[ev.User]++
	}
}

func TestWriterAppendSyncReturnsCommittedID(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	// A long flush interval: AppendSync must not wait for it.
	w := NewEventWriter(db, EventWriterOptions{FlushInterval: time.Hour})
	defer w.Close(ctx)
	w.Append(Event{Kind: KindSystem, Action: "async"})
	id, err := w.AppendSync(ctx, Event{Kind: KindAdmin, Action: "sync"})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].ID != id || evs[1].Action != "sync" || evs[0].Action != "async" {
		t.Fatalf("after AppendSync returned %d: %+v", id, evs)
	}
	_, err = w.AppendSync(ctx, Event{Kind: "bogus"})
	wantCode(t, err, EINVALID)
}

func TestWriterCloseFlushes(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	w := NewEventWriter(db, EventWriterOptions{FlushInterval: time.Hour, MaxBatch: 1000})
	const n = 2500
	for i := range n {
		w.Append(Event{Kind: KindActivity, Bytes: int64(i)})
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := db.Counts(ctx)
	if err != nil || c.Events != n {
		t.Fatalf("%d events after Close, want %d (%v)", c.Events, n, err)
	}
	// After Close: no panic, no write.
	w.Append(Event{Kind: KindSystem})
	if _, err := w.AppendSync(ctx, Event{Kind: KindSystem}); !errors.Is(err, ErrWriterClosed) {
		t.Fatalf("AppendSync after Close: %v", err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestWriterSubscribe(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	w := NewEventWriter(db, EventWriterOptions{})
	sub, cancel := w.Subscribe(100)
	defer cancel()
	var want []int64
	for i := range 20 {
		id, err := w.AppendSync(ctx, Event{Kind: KindLogin, User: "alice", Object: strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	for i, id := range want {
		ev := <-sub
		if ev.ID != id || ev.Object != strconv.Itoa(i) || ev.User != "alice" {
			t.Fatalf("event %d: got %+v, want id %d", i, ev, id)
		}
	}

	// A subscriber that does not read is dropped, and the writer goes on.
	slow, cancelSlow := w.Subscribe(2)
	defer cancelSlow()
	for range 10 {
		if _, err := w.AppendSync(ctx, Event{Kind: KindSystem}); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	for range slow {
		got++
	}
	if got != 2 {
		t.Fatalf("slow subscriber got %d events before being dropped, want 2", got)
	}

	// The fast one saw everything in order; Close closes it.
	for range 10 {
		if ev := <-sub; ev.Kind != KindSystem {
			t.Fatalf("unexpected %+v", ev)
		}
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-sub; ok {
		t.Fatal("subscription still open after Close")
	}
	late, _ := w.Subscribe(1)
	if _, ok := <-late; ok {
		t.Fatal("subscription after Close is open")
	}
}

func TestWriterUnsubscribe(t *testing.T) {
	db, _ := newTestDB(t)
	ctx := context.Background()
	w := NewEventWriter(db, EventWriterOptions{})
	defer w.Close(ctx)
	sub, cancel := w.Subscribe(10)
	cancel()
	cancel() // idempotent
	if _, ok := <-sub; ok {
		t.Fatal("channel open after cancel")
	}
	if _, err := w.AppendSync(ctx, Event{Kind: KindSystem}); err != nil {
		t.Fatal(err)
	}
}

func TestWriterRetention(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	now := clock.Now()
	old := []Event{{Kind: KindSystem, Time: now.Add(-48 * time.Hour)}, {Kind: KindSystem, Time: now.Add(-25 * time.Hour)}}
	recent := []Event{{Kind: KindSystem, Time: now.Add(-23 * time.Hour)}, {Kind: KindSystem, Time: now}}
	if _, err := db.AppendEvents(ctx, append(old, recent...)); err != nil {
		t.Fatal(err)
	}
	mustDo(t, db.PutTicket(ctx, "k", "expired", nil, now.Add(-time.Second)))
	w := NewEventWriter(db, EventWriterOptions{Retention: 24 * time.Hour})
	// Pruning runs when the writer starts; a synchronous append after it
	// proves it has run, since the goroutine prunes before it reads the queue.
	if _, err := w.AppendSync(ctx, Event{Kind: KindSystem}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || !evs[0].Time.Equal(recent[0].Time) {
		t.Fatalf("after pruning: %d events, first at %v", len(evs), evs[0].Time)
	}
	if n, _ := db.Counts(ctx); n.Events != 3 {
		t.Fatalf("count %d", n.Events)
	}
	var tickets int
	if err := db.reader.QueryRowContext(ctx, "SELECT count(*) FROM tickets").Scan(&tickets); err != nil || tickets != 0 {
		t.Fatalf("%d expired tickets left (%v)", tickets, err)
	}
}

// TestWriterSetRetention: a shorter retention set on a running writer (a
// configuration reload) prunes at once, without waiting for the next tick.
func TestWriterSetRetention(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	now := clock.Now()
	if _, err := db.AppendEvents(ctx, []Event{
		{Kind: KindSystem, Time: now.Add(-48 * time.Hour)},
		{Kind: KindSystem, Time: now.Add(-25 * time.Hour)},
		{Kind: KindSystem, Time: now.Add(-23 * time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	w := NewEventWriter(db, EventWriterOptions{Retention: 72 * time.Hour, PruneEvery: time.Hour})
	defer w.Close(ctx)
	count := func() int64 {
		t.Helper()
		// A synchronous append is committed after whatever the writer's
		// goroutine was doing: the prune that SetRetention started.
		if _, err := w.AppendSync(ctx, Event{Kind: KindSystem}); err != nil {
			t.Fatal(err)
		}
		n, err := db.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n.Events
	}
	if n := count(); n != 4 {
		t.Fatalf("%d events under 72h retention, want 4", n)
	}
	w.SetRetention(24 * time.Hour)
	if n := count(); n != 3 {
		t.Fatalf("%d events after shortening retention to 24h, want 3", n)
	}
	w.SetRetention(0) // keep everything: nothing more goes
	w.SetRetention(30 * 24 * time.Hour)
	if n := count(); n != 4 {
		t.Fatalf("%d events after lengthening retention, want 4", n)
	}
	w.Close(ctx)
	w.SetRetention(time.Hour) // after Close: returns, changes nothing
}

// TestWriterDurableAcrossKill runs a child process that acknowledges events
// with AppendSync and keeps appending, kills it with SIGKILL, and checks that
// every acknowledged event is in the reopened database.
func TestWriterDurableAcrossKill(t *testing.T) {
	if os.Getenv("CAS_STORE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	path := filepath.Join(t.TempDir(), "cas.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestWriterDurableAcrossKill$")
	cmd.Env = append(os.Environ(), "CAS_STORE_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A child that stops acknowledging must fail the test, not hang it.
	watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	var acked []int64
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 500 {
		id, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			continue // test framework output
		}
		acked = append(acked, id)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 500 {
		t.Fatalf("child acknowledged only %d events", len(acked))
	}

	db := openAt(t, path, newClock())
	evs, err := db.Events(context.Background(), EventFilter{Kinds: []string{KindAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, ev := range evs {
		stored[ev.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Fatalf("acknowledged event %d lost after kill -9 (%d admin events stored)", id, len(evs))
		}
	}
}

// crashChild appends forever, printing the ID of each acknowledged event.
func crashChild() {
	path := os.Getenv("CAS_STORE_CRASH_CHILD")
	db, err := Open(context.Background(), path, Options{SealKey: testKey()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := NewEventWriter(db, EventWriterOptions{})
	ctx := context.Background()
	go func() {
		for {
			// Busy, but never a full queue, so acknowledgements keep
			// coming even on a slow (race-enabled) build.
			if len(w.queue) < 500 {
				w.Append(Event{Kind: KindActivity, Object: "background"})
				continue
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for {
		id, err := w.AppendSync(ctx, Event{Kind: KindAdmin, Action: "ack"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(id)
	}
}

func TestWriterPrunesInChunks(t *testing.T) {
	db, clock := newTestDB(t)
	ctx := context.Background()
	now := clock.Now()
	evs := make([]Event, pruneChunk+10)
	for i := range evs {
		evs[i] = Event{Kind: KindSystem, Time: now.Add(-48 * time.Hour)}
	}
	evs = append(evs, Event{Kind: KindSystem, Time: now})
	if _, err := db.AppendEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// The goroutine is not started: drive the prune cycle by hand.
	w := &EventWriter{db: db, opts: EventWriterOptions{Retention: 24 * time.Hour}}
	c := w.startPrune()
	if !c.more || c.total != pruneChunk {
		t.Fatalf("first chunk: %+v", c)
	}
	w.continuePrune(&c)
	if c.more || c.total != pruneChunk+10 {
		t.Fatalf("second chunk: %+v", c)
	}
	if n, _ := db.Counts(ctx); n.Events != 1 {
		t.Fatalf("%d events left, want 1", n.Events)
	}
}
