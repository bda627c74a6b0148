package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cas-proxy/cas/api"
)

// TestMain lets the test binary act as cas: with CAS_TEST_MAIN=1 it runs
// main, so the tests below exercise the real process (exit codes, signals,
// stdout as a pipe) without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("CAS_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// cas returns a command running this binary as cas against socket.
func cas(t *testing.T, socket string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CAS_TEST_MAIN=1", "CAS_SOCKET="+socket, "NO_COLOR=")
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("run: %v", err)
	return -1
}

// fakeCasd serves mux on a Unix socket in a temporary directory.
func fakeCasd(t *testing.T, mux *http.ServeMux) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cas")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "casd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestExitCodesOfTheProcess(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v0/iptags", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]api.IPTag{{Name: "corporate", CIDRs: []string{"10.0.0.0/8"}}})
	})
	mux.HandleFunc("DELETE /v0/iptags/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(api.Error{Message: `no IP tag named "x"`, Code: api.CodeNotFound})
	})
	sock := fakeCasd(t, mux)
	missing := filepath.Join(t.TempDir(), "none.sock")

	tests := []struct {
		name      string
		socket    string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{"success", sock, []string{"iptag", "list"}, 0, "NAME       CIDRS       UPDATED\ncorporate  10.0.0.0/8  -\n", ""},
		{"api error", sock, []string{"iptag", "rm", "x"}, 1, "", "cas: no IP tag named \"x\"\n"},
		{"usage error", sock, []string{"iptag", "list", "--nope"}, 2, "", "cas: unknown flag: --nope\n"},
		{"unreachable", missing, []string{"iptag", "list"}, 3, "", "cas: casd is not running (socket " + missing + "): "},
		{"version without casd", missing, []string{"version"}, 0, "cas version " + api.Version + "\n", "casd: unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := cas(t, tt.socket, tt.args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if code := exitCode(t, cmd.Run()); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderrHas)
			}
		})
	}
}

// TestTailFollowEndsCleanlyOnSIGINT follows events in a real process, waits
// for the first line on its stdout pipe, interrupts it and expects exit 0.
func TestTailFollowEndsCleanlyOnSIGINT(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v0/events", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("follow") != "1" {
			http.Error(w, `{"error":"not following","code":"invalid"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		json.NewEncoder(w).Encode(api.Event{ID: 7, Kind: "login", User: "alice", Decision: "block"})
		http.NewResponseController(w).Flush()
		<-r.Context().Done() // a live stream: nothing more until the client leaves
	})
	sock := fakeCasd(t, mux)

	cmd := cas(t, sock, "events", "tail", "-f")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the first event: %v (stderr: %s)", err, stderr.String())
	}
	if !strings.Contains(line, "login") || !strings.Contains(line, "alice") || strings.Contains(line, "\x1b") {
		t.Errorf("line = %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Errorf("exit %d after SIGINT, want 0; stderr: %s", code, stderr.String())
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q", stderr.String())
	}
}
