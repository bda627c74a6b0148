package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/cas-proxy/cas/api"
)

// fakeCasd is a real HTTP server on a real Unix socket that serves canned
// answers, so that a real api.Client talks to it exactly as to casd.
type fakeCasd struct {
	t      *testing.T
	socket string
	mux    *http.ServeMux

	mu   sync.Mutex
	reqs []recordedRequest
}

// recordedRequest is one request the fake received.
type recordedRequest struct {
	Method, Path, RawQuery string
	Body                   []byte
}

// Decode unmarshals the request's JSON body into v.
func (r recordedRequest) Decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode body of %s %s: %v\n%s", r.Method, r.Path, err, r.Body)
	}
}

func newFakeCasd(t *testing.T) *fakeCasd {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // sun_path holds ~108 bytes
		var err error
		if dir, err = os.MkdirTemp("", "cas"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	f := &fakeCasd{t: t, socket: filepath.Join(dir, "casd.sock"), mux: http.NewServeMux()}
	ln, err := net.Listen("unix", f.socket)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *fakeCasd) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recordedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Body: body})
	f.mu.Unlock()
	w.Header().Set(api.VersionHeader, api.Version)
	if r.Host != api.Host {
		writeFakeJSON(w, http.StatusForbidden, api.Error{Message: "bad host " + r.Host, Code: api.CodeForbidden})
		return
	}
	f.mux.ServeHTTP(w, r)
}

// reply answers pattern ("GET /v0/idps") with status and v as JSON.
func (f *fakeCasd) reply(pattern string, status int, v any) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { writeFakeJSON(w, status, v) })
}

// replyText answers pattern with a plain body.
func (f *fakeCasd) replyText(pattern, body string) {
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
}

// fail answers pattern with an API error.
func (f *fakeCasd) fail(pattern string, status int, code, msg string) {
	f.reply(pattern, status, api.Error{Message: msg, Code: code})
}

// requests returns the requests received so far with the given method and path.
func (f *fakeCasd) requests(method, path string) []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recordedRequest
	for _, r := range f.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// only returns the one request with method and path, failing otherwise.
func (f *fakeCasd) only(method, path string) recordedRequest {
	f.t.Helper()
	rs := f.requests(method, path)
	if len(rs) != 1 {
		f.t.Fatalf("%s %s: got %d requests, want 1", method, path, len(rs))
	}
	return rs[0]
}

func writeFakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// result is what one cas invocation produced.
type result struct {
	Stdout, Stderr string
	Code           int
}

// testFactory returns a Factory over test streams that dials socket through
// CAS_SOCKET, with a fixed clock.
func testFactory(socket string) (*Factory, *IOStreams) {
	ios, _, _, _ := Test()
	f := NewFactory(ios)
	f.Getenv = func(k string) string {
		if k == "CAS_SOCKET" {
			return socket
		}
		return ""
	}
	f.Now = func() time.Time { return testNow }
	return f, ios
}

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// run runs cas with args against the socket, as main does, and returns its
// output and exit code.
func run(t *testing.T, socket string, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), socket, nil, args...)
}

// runWith is run with a context and a hook to adjust the streams.
func runWith(t *testing.T, ctx context.Context, socket string, adjust func(*IOStreams), args ...string) result {
	t.Helper()
	f, ios := testFactory(socket)
	if adjust != nil {
		adjust(ios)
	}
	root := NewCmdRoot(f)
	root.SetArgs(args)
	err := Execute(ctx, root)
	code := ExitCode(err, ios.ErrOut)
	return result{Stdout: outString(ios.Out), Stderr: outString(ios.ErrOut), Code: code}
}

func outString(w io.Writer) string {
	if s, ok := w.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}

// execCmd runs one command alone (its runF replaced by the test) with args,
// as the root would, and returns its error.
func execCmd(cmd *cobra.Command, args ...string) error {
	cmd.SetFlagErrorFunc(usageError)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	return cmd.ExecuteContext(context.Background())
}

// wantCode fails unless r exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.Code, code, r.Stdout, r.Stderr)
	}
}

// isFlagError reports whether err is a usage error.
func isFlagError(err error) bool {
	var fe *FlagError
	return errors.As(err, &fe)
}

// diff returns a readable comparison for a failed exact-output check.
func diff(got, want string) string {
	return "got:\n" + got + "\nwant:\n" + want
}

// allCommands lists root and every command below it.
func allCommands(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}
