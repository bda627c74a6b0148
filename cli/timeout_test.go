package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowCasd answers GET /v0/status after delay, or never (delay < 0) until
// the test ends.
func slowCasd(t *testing.T, delay time.Duration) *fakeCasd {
	fake := newFakeCasd(t)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the server's Close
	fake.mux.HandleFunc("GET /v0/status", func(w http.ResponseWriter, r *http.Request) {
		var after <-chan time.Time
		if delay >= 0 {
			after = time.After(delay)
		}
		select {
		case <-after:
			writeFakeJSON(w, http.StatusOK, testStatus)
		case <-release:
		case <-r.Context().Done():
		}
	})
	return fake
}

// runEnv runs cas with args and the environment env (CAS_SOCKET set to
// socket), giving up on the test if cas has not exited within 10 s.
func runEnv(t *testing.T, socket string, env map[string]string, args ...string) result {
	t.Helper()
	f, ios := testFactory(socket)
	f.Getenv = func(k string) string {
		if k == "CAS_SOCKET" {
			return socket
		}
		return env[k]
	}
	done := make(chan result, 1)
	go func() {
		root := NewCmdRoot(f)
		root.SetArgs(args)
		err := Execute(context.Background(), root)
		code := ExitCode(err, ios.ErrOut)
		done <- result{Stdout: outString(ios.Out), Stderr: outString(ios.ErrOut), Code: code}
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("cas %s still waiting after 10 s", strings.Join(args, " "))
		return result{}
	}
}

// TestTimeout: a casd that takes the request but does not answer fails
// the command after --timeout (else CAS_TIMEOUT) with exit 3 and a message
// saying so; one that answers within it, or any time with 0, succeeds.
func TestTimeout(t *testing.T) {
	hung := slowCasd(t, -1)
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		after string
	}{
		{"flag", nil, []string{"status", "--timeout", "200ms"}, "200ms"},
		{"environment", map[string]string{"CAS_TIMEOUT": "300ms"}, []string{"status"}, "300ms"},
		{"flag over environment", map[string]string{"CAS_TIMEOUT": "1h"}, []string{"status", "--timeout", "100ms"}, "100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := runEnv(t, hung.socket, tc.env, tc.args...)
			wantCode(t, r, ExitUnreachable)
			want := "cas: casd did not answer within " + tc.after + " (socket " + hung.socket + ")\n" +
				"cas: casd is overloaded or stuck: see its log, or wait longer with --timeout or CAS_TIMEOUT\n"
			if r.Stderr != want {
				t.Errorf("stderr:\n%s", diff(r.Stderr, want))
			}
			if d, _ := time.ParseDuration(tc.after); time.Since(start) < d {
				t.Errorf("gave up after %v, before the timeout of %v", time.Since(start), d)
			}
		})
	}

	slow := slowCasd(t, 300*time.Millisecond)
	r := runEnv(t, slow.socket, nil, "status", "--timeout", "5s")
	wantCode(t, r, ExitOK)
	r = runEnv(t, slow.socket, map[string]string{"CAS_TIMEOUT": "100ms"}, "status", "--timeout", "0")
	wantCode(t, r, ExitOK)
	r = runEnv(t, slow.socket, map[string]string{"CAS_TIMEOUT": "0"}, "status")
	wantCode(t, r, ExitOK)
}

// TestTimeoutInvalid: a malformed --timeout is a usage error and a
// malformed CAS_TIMEOUT an error, both before anything is sent.
func TestTimeoutInvalid(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/status", http.StatusOK, testStatus)
	r := runEnv(t, fake.socket, nil, "status", "--timeout", "soon")
	wantCode(t, r, ExitUsage)
	if !strings.Contains(r.Stderr, `invalid --timeout "soon"`) {
		t.Errorf("stderr = %q", r.Stderr)
	}
	r = runEnv(t, fake.socket, map[string]string{"CAS_TIMEOUT": "-5s"}, "status")
	wantCode(t, r, ExitError)
	if !strings.Contains(r.Stderr, `invalid CAS_TIMEOUT "-5s"`) {
		t.Errorf("stderr = %q", r.Stderr)
	}
	if n := len(fake.requests("GET", "/v0/status")); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestTimeoutSparesStreams: an event stream that has begun is not cut off
// by the timeout, however long casd waits between events.
func TestTimeoutSparesStreams(t *testing.T) {
	fake := newFakeCasd(t)
	fake.mux.HandleFunc("GET /v0/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		rc := http.NewResponseController(w)
		rc.Flush()
		enc := json.NewEncoder(w)
		for _, ev := range testEvents[:2] {
			select {
			case <-time.After(400 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
			enc.Encode(ev)
			rc.Flush()
		}
	})
	tail := startTail(t, fake.socket, "events", "tail", "-f", "--json", "-n", "0", "--timeout", "100ms")
	for i, ev := range testEvents[:2] {
		tail.next(i, ev)
	}
	tail.stop()
}
