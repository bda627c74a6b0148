package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

var testEvents = []api.Event{
	{ID: 1, Time: time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC), Kind: "admin", Action: "idp.add", Decision: "", User: "uid:0", Object: "corp"},
	{ID: 2, Time: time.Date(2026, 11, 27, 11, 5, 0, 0, time.UTC), Kind: "login", Action: "login", Decision: "block", App: "sf", User: "alice@example.com",
		SourceIP: "203.0.113.9", Device: "unmanaged", Policies: []string{"block-unmanaged", "audit"}, Reason: "policy block-unmanaged: device is unmanaged"},
}

func TestEventsTailFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o *EventsTailOptions)
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o *EventsTailOptions) {
			if o.Lines != 20 || o.Follow || o.JSON {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{name: "all", args: []string{"-f", "-n", "5", "--kind", "login,device", "--kind", "admin", "--app", "sf", "--user", "u", "--decision", "block", "--since", "1h", "--json"},
			check: func(t *testing.T, o *EventsTailOptions) {
				q, err := o.Filter.query(testNow)
				if err != nil {
					t.Fatal(err)
				}
				want := api.EventQuery{Since: testNow.Add(-time.Hour), Kinds: []string{"login", "device", "admin"}, App: "sf", User: "u", Decision: "block"}
				if !reflect.DeepEqual(q, want) || o.Lines != 5 || !o.Follow || !o.JSON {
					t.Errorf("query = %+v, opts = %+v", q, o)
				}
			}},
		{name: "negative n", args: []string{"-n", "-1"}, wantErr: "-n must not be negative"},
		{name: "bad n", args: []string{"-n", "x"}, wantErr: `invalid argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := testFactory("")
			var got *EventsTailOptions
			err := execCmd(newCmdEventsTail(f, func(o *EventsTailOptions) error { got = o; return nil }), tt.args...)
			if tt.wantErr != "" {
				if !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestEventFilterValidation(t *testing.T) {
	tests := []struct {
		name    string
		filter  eventFilterFlags
		want    api.EventQuery
		wantErr string
	}{
		{name: "days", filter: eventFilterFlags{Since: "7d"}, want: api.EventQuery{Since: testNow.Add(-7 * 24 * time.Hour)}},
		{name: "rfc3339", filter: eventFilterFlags{Since: "2026-11-01T00:00:00Z", Until: "2026-11-02T00:00:00Z"},
			want: api.EventQuery{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}},
		{name: "date", filter: eventFilterFlags{Since: "2026-11-01"}, want: api.EventQuery{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "would decision", filter: eventFilterFlags{Decision: "would_block"}, want: api.EventQuery{Decision: "would_block"}},
		{name: "bad since", filter: eventFilterFlags{Since: "yesterday"}, wantErr: `--since: "yesterday" is neither a duration`},
		{name: "negative since", filter: eventFilterFlags{Since: "-1h"}, wantErr: `--since: "-1h" is neither`},
		{name: "until before since", filter: eventFilterFlags{Since: "1h", Until: "2h"}, wantErr: "--until must be after --since"},
		{name: "bad kind", filter: eventFilterFlags{Kinds: []string{"login", "nope"}}, wantErr: `--kind: "nope" is not one of admin, login, device, activity, system`},
		{name: "bad decision", filter: eventFilterFlags{Decision: "maybe"}, wantErr: `--decision: "maybe" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.filter.query(testNow)
			if tt.wantErr != "" {
				if !isFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q, tt.want) {
				t.Errorf("query = %+v, want %+v", q, tt.want)
			}
		})
	}
}

// serveEvents answers GET /v0/events with evs as NDJSON.
func serveEvents(fake *fakeCasd, evs []api.Event) {
	fake.mux.HandleFunc("GET /v0/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, e := range evs {
			enc.Encode(e)
		}
	})
}

func TestEventsTailText(t *testing.T) {
	fake := newFakeCasd(t)
	serveEvents(fake, testEvents)
	r := run(t, fake.socket, "events", "tail", "-n", "2", "--kind", "login", "--since", "30m")
	wantCode(t, r, ExitOK)
	want := `2026-11-27T11:00:00Z  admin     idp.add          -         -             uid:0  object=corp
2026-11-27T11:05:00Z  login     login            block     sf            alice@example.com  ip=203.0.113.9 device=unmanaged policies=block-unmanaged,audit reason="policy block-unmanaged: device is unmanaged"
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	q, _ := url.ParseQuery(fake.only("GET", "/v0/events").RawQuery)
	wantQ := url.Values{"n": {"2"}, "kind": {"login"}, "since": {"2026-11-27T11:30:00Z"}}
	if !reflect.DeepEqual(q, wantQ) {
		t.Errorf("query = %v, want %v", q, wantQ)
	}
}

func TestEventsTailJSONIsNDJSON(t *testing.T) {
	fake := newFakeCasd(t)
	serveEvents(fake, testEvents)
	r := run(t, fake.socket, "events", "tail", "--json")
	wantCode(t, r, ExitOK)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), r.Stdout)
	}
	for i, l := range lines {
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		if !reflect.DeepEqual(ev, testEvents[i]) {
			t.Errorf("line %d = %+v, want %+v", i, ev, testEvents[i])
		}
	}
}

// TestEventsTailFollowStreams checks that -f prints each event as soon as
// casd flushes it (the next one is only sent after the test has read the
// previous line) and that cancelling (SIGINT in main) ends it with exit 0.
func TestEventsTailFollowStreams(t *testing.T) {
	fake := newFakeCasd(t)
	send := make(chan api.Event)
	handlerDone := make(chan struct{})
	fake.mux.HandleFunc("GET /v0/events", func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		rc.Flush()
		enc := json.NewEncoder(w)
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-send:
				enc.Encode(ev)
				rc.Flush()
			}
		}
	})

	tail := startTail(t, fake.socket, "events", "tail", "-f", "--json", "-n", "0")
	for i, ev := range testEvents {
		send <- ev
		tail.next(i, ev)
	}
	r := tail.stop()
	wantCode(t, r, ExitOK)
	if r.Stderr != "" {
		t.Errorf("stderr = %q", r.Stderr)
	}
	<-handlerDone
	q, _ := url.ParseQuery(fake.only("GET", "/v0/events").RawQuery)
	// -n 0 -f: no history, only live events.
	if q.Get("follow") != "1" || q.Get("n") != "0" {
		t.Errorf("query = %v", q)
	}
}

// TestEventsTailFollowResumes: when the stream breaks (casd restarts), -f
// says so on stderr, reconnects and resumes after the last event it printed
// (or the cursor the stream started after), so nothing is lost or repeated.
func TestEventsTailFollowResumes(t *testing.T) {
	defer func(f, m time.Duration) { reconnectFirst, reconnectMax = f, m }(reconnectFirst, reconnectMax)
	reconnectFirst, reconnectMax = time.Millisecond, 10*time.Millisecond
	fake := newFakeCasd(t)
	var mu sync.Mutex
	calls := 0
	fake.mux.HandleFunc("GET /v0/events", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		switch n {
		case 1: // starts after event 0, sends event 1, then casd "stops"
			w.Header().Set(api.EventCursorHeader, "0")
			enc.Encode(testEvents[0])
		case 2: // casd is back but refuses once: the client must retry
			writeFakeJSON(w, http.StatusServiceUnavailable, api.Error{Message: "starting", Code: api.CodeUnavailable})
		default:
			w.Header().Set(api.EventCursorHeader, r.URL.Query().Get("after"))
			w.WriteHeader(http.StatusOK)
			enc.Encode(testEvents[1])
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		}
	})
	tail := startTail(t, fake.socket, "events", "tail", "-f", "--json")
	for i := range 2 {
		tail.next(i, testEvents[i])
	}
	r := tail.stop()
	wantCode(t, r, ExitOK)
	want := "cas: casd closed the event stream; reconnecting (resuming after event 1)\ncas: reconnected to casd\n"
	if r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
	reqs := fake.requests("GET", "/v0/events")
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, want := range []url.Values{
		{"follow": {"1"}, "n": {"20"}},
		{"follow": {"1"}, "after": {"1"}},
		{"follow": {"1"}, "after": {"1"}},
	} {
		if q, _ := url.ParseQuery(reqs[i].RawQuery); !reflect.DeepEqual(q, want) {
			t.Errorf("request %d query = %v, want %v", i+1, q, want)
		}
	}
}

func TestEventsTailAPIError(t *testing.T) {
	fake := newFakeCasd(t)
	fake.fail("GET /v0/events", http.StatusBadRequest, api.CodeInvalid, `user: "x" is too long`)
	r := run(t, fake.socket, "events", "tail")
	wantCode(t, r, ExitError)
	if r.Stderr != "cas: user: \"x\" is too long\n" {
		t.Errorf("stderr = %q", r.Stderr)
	}
}

func TestEventsExport(t *testing.T) {
	fake := newFakeCasd(t)
	csv := "id,time,kind\n1,2026-11-27T11:00:00Z,admin\n"
	fake.replyText("GET /v0/events/export", csv)
	r := run(t, fake.socket, "events", "export", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-02T00:00:00Z", "--format", "csv", "--app", "sf")
	wantCode(t, r, ExitOK)
	if r.Stdout != csv {
		t.Errorf("stdout:\n%s", diff(r.Stdout, csv))
	}
	q, _ := url.ParseQuery(fake.only("GET", "/v0/events/export").RawQuery)
	want := url.Values{"since": {"2026-11-01T00:00:00Z"}, "until": {"2026-11-02T00:00:00Z"}, "format": {"csv"}, "app": {"sf"}}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("query = %v, want %v", q, want)
	}
}

func TestEventsExportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"events", "export"},
		{"events", "export", "--since", "1h", "--format", "xml"},
		{"events", "export", "--since", "1h", "--until", "soon"},
	} {
		r := run(t, "/nonexistent.sock", args...)
		wantCode(t, r, ExitUsage)
	}
}

// tailRun is cas events tail -f running in the background, its output a
// pipe read line by line.
type tailRun struct {
	t      *testing.T
	pr     *io.PipeReader
	lines  *bufio.Reader
	cancel context.CancelFunc
	done   chan result
}

// startTail runs cas with args against socket until stop.
func startTail(t *testing.T, socket string, args ...string) *tailRun {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tr := &tailRun{t: t, pr: pr, lines: bufio.NewReader(pr), cancel: cancel, done: make(chan result, 1)}
	go func() {
		tr.done <- runWith(t, ctx, socket, func(ios *IOStreams) { ios.Out = pw }, args...)
		pw.Close()
	}()
	return tr
}

// next reads the next line, which must be want as JSON (by ID).
func (tr *tailRun) next(i int, want api.Event) {
	tr.t.Helper()
	line, err := tr.lines.ReadString('\n')
	if err != nil {
		tr.t.Fatalf("event %d: %v", i, err)
	}
	var got api.Event
	if err := json.Unmarshal([]byte(line), &got); err != nil || got.ID != want.ID {
		tr.t.Fatalf("event %d: line %q (%v), want event %d", i, line, err, want.ID)
	}
}

// stop cancels the command (as SIGINT does in main) and returns its
// result.
func (tr *tailRun) stop() result {
	tr.cancel()
	go io.Copy(io.Discard, tr.pr)
	return <-tr.done
}
