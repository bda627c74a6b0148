package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// EventWriterOptions configures NewEventWriter.
type EventWriterOptions struct {
	// MaxBatch caps the events committed in one transaction. Default 1000.
	MaxBatch int
	// FlushInterval is how long an event queued with Append may wait for
	// others to share its transaction. AppendSync never waits for it.
	// Default 10ms.
	FlushInterval time.Duration
	// Retention is how long events are kept; older ones are pruned in the
	// background. 0 keeps everything.
	Retention time.Duration
	// PruneEvery is how often to prune old events and expired tickets,
	// single-use ids and sessions. Default 1h; pruning runs once at start.
	PruneEvery time.Duration
	// QueueSize bounds the events waiting to be written; Append blocks when
	// it is full. Default 16 × MaxBatch.
	QueueSize int
}

// EventWriter appends events through one goroutine that groups them into
// transactions (group commit), so that thousands of events per second cost a
// few commits. Its methods are safe for concurrent use.
type EventWriter struct {
	db   *DB
	opts EventWriterOptions

	mu     sync.RWMutex // held for reading while sending to queue
	closed bool
	queue  chan writeReq
	retain chan time.Duration // SetRetention to run
	done   chan struct{}      // closed when run returns
	err    error              // the last commit failure, reported by Close

	subMu      sync.Mutex
	subs       map[*subscriber]struct{}
	subsClosed bool
}

// writeReq is a queued event; done is non-nil for AppendSync.
type writeReq struct {
	ev   Event
	done chan writeResult
}

// writeResult is what AppendSync waits for.
type writeResult struct {
	id  int64
	err error
}

// subscriber is one Subscribe call's channel.
type subscriber struct {
	ch chan Event
}

// ErrWriterClosed is returned by AppendSync after Close.
var ErrWriterClosed = errors.New("store: event writer is closed")

// NewEventWriter starts the writer goroutine. Close it before closing db.
func NewEventWriter(db *DB, opts EventWriterOptions) *EventWriter {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 10 * time.Millisecond
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Hour
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 16 * opts.MaxBatch
	}
	w := &EventWriter{
		db:     db,
		opts:   opts,
		queue:  make(chan writeReq, opts.QueueSize),
		retain: make(chan time.Duration),
		done:   make(chan struct{}),
		subs:   map[*subscriber]struct{}{},
	}
	go w.run()
	return w
}

// Append queues ev to be written soon. It blocks while the queue is full and
// never drops a valid event; an invalid event (see ValidateEvent), or one
// appended after Close, is logged and discarded. A zero Time becomes now.
func (w *EventWriter) Append(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = w.db.nowUTC()
	}
	if err := ValidateEvent(&ev); err != nil {
		w.db.log.Error("store: event discarded", "kind", ev.Kind, "action", ev.Action, "err", err)
		return
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.db.log.Error("store: event discarded: writer closed", "kind", ev.Kind, "action", ev.Action)
		return
	}
	w.queue <- writeReq{ev: ev}
}

// AppendSync queues ev and returns its ID once the transaction holding it has
// committed, so the event survives a crash of the process. If ctx ends first
// it returns ctx's error, and the event may or may not be written.
func (w *EventWriter) AppendSync(ctx context.Context, ev Event) (int64, error) {
	if ev.Time.IsZero() {
		ev.Time = w.db.nowUTC()
	}
	if err := ValidateEvent(&ev); err != nil {
		return 0, err
	}
	req := writeReq{ev: ev, done: make(chan writeResult, 1)}
	if err := w.enqueue(ctx, req); err != nil {
		return 0, err
	}
	select {
	case r := <-req.done:
		return r.id, r.err
	case <-ctx.Done():
		return 0, fmt.Errorf("store: append event: %w", ctx.Err())
	}
}

// enqueue sends req unless the writer is closed or ctx ends.
func (w *EventWriter) enqueue(ctx context.Context, req writeReq) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	select {
	case w.queue <- req:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("store: append event: %w", ctx.Err())
	}
}

// Subscribe returns a channel of committed events, with their IDs, in ID
// order, and a function that ends the subscription. A subscriber that falls
// buf events behind is dropped: its channel is closed, and the reader should
// catch up from the store (EventFilter.AfterID) and subscribe again. The
// channel is also closed by the returned function and by Close.
func (w *EventWriter) Subscribe(buf int) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, max(buf, 1))}
	w.subMu.Lock()
	defer w.subMu.Unlock()
	if w.subsClosed {
		close(s.ch)
		return s.ch, func() {}
	}
	w.subs[s] = struct{}{}
	return s.ch, func() {
		w.subMu.Lock()
		defer w.subMu.Unlock()
		if _, ok := w.subs[s]; ok {
			delete(w.subs, s)
			close(s.ch)
		}
	}
}

// Close writes every queued event, stops the goroutine and closes the
// subscriptions. It returns ctx's error if ctx ends first (the writer then
// finishes in the background), or the last commit failure.
func (w *EventWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return fmt.Errorf("store: close event writer: %w", ctx.Err())
	}
}

// run is the writer goroutine. Pruning shares it, one chunk at a time
// between batches, so a large backlog of old events never holds up appends
// for long.
func (w *EventWriter) run() {
	defer w.closeSubs()
	defer close(w.done)
	var (
		againC  <-chan struct{} // ready while a prune cycle has more to do
		ready   = make(chan struct{})
		pruning pruneCycle
	)
	close(ready)
	prune := time.NewTicker(w.opts.PruneEvery)
	defer prune.Stop()
	if w.opts.Retention > 0 {
		pruning = w.startPrune()
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	batch := make([]writeReq, 0, w.opts.MaxBatch)
	for {
		againC = nil
		if pruning.more {
			againC = ready
		}
		select {
		case r, ok := <-w.queue:
			if !ok {
				return
			}
			batch = append(batch[:0], r)
			open := w.fill(&batch, timer)
			w.commit(batch)
			clear(batch) // let the events be collected
			if !open {
				return
			}
		case <-againC:
			w.continuePrune(&pruning)
		case <-prune.C:
			if w.opts.Retention > 0 && !pruning.more {
				pruning = w.startPrune()
			}
		case d := <-w.retain:
			shorter := d > 0 && (w.opts.Retention == 0 || d < w.opts.Retention)
			w.opts.Retention = d
			switch {
			case shorter:
				pruning = w.startPrune() // now, not at the next tick
			case d == 0:
				pruning.more = false
			}
		}
	}
}

// SetRetention changes how long events are kept (0 keeps everything). A
// shorter retention prunes at once; a longer one applies from the next
// prune on.
func (w *EventWriter) SetRetention(d time.Duration) {
	select {
	case w.retain <- d:
	case <-w.done:
	}
}

// pruneCycle is one pass of deleting events past retention.
type pruneCycle struct {
	before time.Time
	total  int64
	more   bool
}

// startPrune deletes expired tickets, single-use ids and sessions, and the
// first chunk of events past retention.
func (w *EventWriter) startPrune() pruneCycle {
	if err := w.db.PruneExpired(context.Background()); err != nil {
		w.db.log.Error("store: prune expired", "err", err)
	}
	c := pruneCycle{before: w.db.nowUTC().Add(-w.opts.Retention), more: true}
	w.continuePrune(&c)
	return c
}

// continuePrune deletes the next chunk of the cycle.
func (w *EventWriter) continuePrune(c *pruneCycle) {
	n, err := w.db.pruneEventsChunk(context.Background(), c.before)
	c.total += n
	c.more = err == nil && n == pruneChunk
	if err != nil {
		w.db.log.Error("store: prune events", "err", err)
	}
	if !c.more && c.total > 0 {
		w.db.log.Info("store: pruned events", "count", c.total, "before", c.before)
	}
}

// fill adds queued events to batch up to MaxBatch. With a synchronous event
// in the batch it takes only what is already queued (more arrive during the
// commit); otherwise it waits up to FlushInterval for company. It reports
// false when the queue is closed and empty.
func (w *EventWriter) fill(batch *[]writeReq, timer *time.Timer) bool {
	sync := (*batch)[0].done != nil
	armed := false
	defer func() {
		if armed {
			timer.Stop()
		}
	}()
	for len(*batch) < w.opts.MaxBatch {
		select {
		case r, ok := <-w.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
			sync = sync || r.done != nil
			continue
		default:
		}
		if sync {
			return true
		}
		if !armed {
			timer.Reset(w.opts.FlushInterval)
			armed = true
		}
		select {
		case r, ok := <-w.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
			sync = sync || r.done != nil
		case <-timer.C:
			armed = false
			return true
		}
	}
	return true
}

// commit writes the batch in one transaction, answers AppendSync callers and
// feeds subscribers.
func (w *EventWriter) commit(batch []writeReq) {
	evs := make([]Event, len(batch))
	for i, r := range batch {
		evs[i] = r.ev
	}
	// Pauses before retrying a failed commit; the queue waits meanwhile,
	// which slows producers rather than losing their events.
	commitRetries := [...]time.Duration{50 * time.Millisecond, 250 * time.Millisecond, time.Second}
	ids, err := w.db.appendValidated(context.Background(), evs)
	for i := 0; err != nil && ErrorCode(err) == EINTERNAL && i < len(commitRetries); i++ {
		w.db.log.Warn("store: event batch failed, retrying", "events", len(evs), "err", err)
		time.Sleep(commitRetries[i])
		ids, err = w.db.appendValidated(context.Background(), evs)
	}
	if err != nil {
		w.err = err
		w.db.log.Error("store: event batch lost", "events", len(evs), "err", err)
		for _, r := range batch {
			if r.done != nil {
				r.done <- writeResult{err: err}
			}
		}
		return
	}
	for i, r := range batch {
		evs[i].ID = ids[i]
		if r.done != nil {
			r.done <- writeResult{id: ids[i]}
		}
	}
	w.publish(evs)
}

// publish hands committed events to subscribers, dropping any that is full.
func (w *EventWriter) publish(evs []Event) {
	w.subMu.Lock()
	defer w.subMu.Unlock()
	for s := range w.subs {
		for _, ev := range evs {
			select {
			case s.ch <- ev:
				continue
			default:
			}
			delete(w.subs, s)
			close(s.ch)
			w.db.log.Warn("store: slow event subscriber dropped")
			break
		}
	}
}

// closeSubs closes every subscription when the writer stops.
func (w *EventWriter) closeSubs() {
	w.subMu.Lock()
	defer w.subMu.Unlock()
	for s := range w.subs {
		close(s.ch)
		delete(w.subs, s)
	}
	w.subsClosed = true
}
