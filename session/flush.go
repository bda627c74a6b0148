package session

import (
	"net/http"
	"sync"
	"time"
)

// FlushDelay bounds how long a streamed response's bytes wait in the
// server's buffers (and casd's socket, which gathers up to 64 KiB) while
// the app pauses: a page the app renders progressively, a long poll that
// sends its answer in pieces, a slow download. Bytes that keep coming go
// out as the buffers fill; what is left when the app stops sending goes
// out at most this long after it was written.
const FlushDelay = 50 * time.Millisecond

// delayedFlusher is a streamed response's writer that flushes what was
// written FlushDelay after the first unflushed write (as httputil's
// ReverseProxy does with a FlushInterval). Its timer flushes from another
// goroutine, so writes and flushes share a lock; stop must be called
// before the handler returns, and the response not written but through
// the flusher until then.
type delayedFlusher struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	rc    *http.ResponseController
	t     *time.Timer
	armed bool // a flush is due
	done  bool
}

func newDelayedFlusher(w http.ResponseWriter) *delayedFlusher {
	return &delayedFlusher{w: w, rc: http.NewResponseController(w)}
}

func (d *delayedFlusher) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.w.Write(p)
	if !d.armed && n > 0 {
		d.armed = true
		if d.t == nil {
			d.t = time.AfterFunc(FlushDelay, d.flush)
		} else {
			d.t.Reset(FlushDelay)
		}
	}
	return n, err
}

func (d *delayedFlusher) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done || !d.armed {
		return
	}
	d.armed = false
	d.rc.Flush()
}

// stop ends the flushing: when it returns, the timer no longer touches
// the response.
func (d *delayedFlusher) stop() {
	d.mu.Lock()
	d.done = true
	if d.t != nil {
		d.t.Stop()
	}
	d.mu.Unlock()
}
