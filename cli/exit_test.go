package cli

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cas-proxy/cas/api"
)

func TestExitCodes(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/idps", http.StatusOK, []api.IdP{})
	fake.fail("GET /v0/idps/{name}", http.StatusNotFound, api.CodeNotFound, `idp "nope" not found`)
	missing := filepath.Join(t.TempDir(), "no.sock")

	tests := []struct {
		name       string
		socket     string
		args       []string
		code       int
		wantStderr string
	}{
		{"success", fake.socket, []string{"idp", "list"}, ExitOK, ""},
		{"unknown flag", fake.socket, []string{"idp", "list", "--bogus"}, ExitUsage, "cas: unknown flag: --bogus\nRun 'cas idp list --help' for usage.\n"},
		{"missing argument", fake.socket, []string{"idp", "show"}, ExitUsage, "cas: cas idp show: expected NAME, got 0 argument(s)\nRun 'cas idp show --help' for usage.\n"},
		{"extra argument", fake.socket, []string{"idp", "list", "x"}, ExitUsage, "cas: cas idp list: unexpected argument \"x\"\nRun 'cas idp list --help' for usage.\n"},
		{"unknown command", fake.socket, []string{"frobnicate"}, ExitUsage, "cas: unknown command \"frobnicate\" for \"cas\"\nRun 'cas --help' for usage.\n"},
		{"unknown sub-command with suggestion", fake.socket, []string{"idp", "lst"}, ExitUsage, "cas: unknown command \"lst\" for \"cas idp\" (did you mean \"list\"?)\nRun 'cas idp --help' for usage.\n"},
		{"own flag validation", fake.socket, []string{"idp", "add", "corp"}, ExitUsage, "cas: --metadata FILE is required\nRun 'cas idp add --help' for usage.\n"},
		{"api error", fake.socket, []string{"idp", "show", "nope"}, ExitError, "cas: idp \"nope\" not found\n"},
		{"unreachable", missing, []string{"idp", "list"}, ExitUnreachable, "cas: casd is not running (socket " + missing + "): dial unix " + missing + ": connect: no such file or directory\ncas: start casd, or point cas at its socket with --socket or CAS_SOCKET\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.socket, tt.args...)
			wantCode(t, r, tt.code)
			if r.Stderr != tt.wantStderr {
				t.Errorf("stderr:\n%s", diff(r.Stderr, tt.wantStderr))
			}
		})
	}
}

func TestSocketFlagBeatsEnvironment(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/iptags", http.StatusOK, []api.IPTag{})
	missing := filepath.Join(t.TempDir(), "no.sock")
	// CAS_SOCKET points nowhere; --socket at the fake.
	r := run(t, missing, "--socket", fake.socket, "iptag", "list")
	wantCode(t, r, ExitOK)
	// And the other way round, CAS_SOCKET alone is used.
	r = run(t, missing, "iptag", "list")
	wantCode(t, r, ExitUnreachable)
	if !strings.Contains(r.Stderr, missing) {
		t.Errorf("stderr does not name the socket %s:\n%s", missing, r.Stderr)
	}
}

func TestFactorySocketPath(t *testing.T) {
	f, _ := testFactory("/env/casd.sock")
	if got := f.SocketPath(); got != "/env/casd.sock" {
		t.Errorf("from CAS_SOCKET: %q", got)
	}
	f.Socket = "/flag/casd.sock"
	if got := f.SocketPath(); got != "/flag/casd.sock" {
		t.Errorf("from --socket: %q", got)
	}
	f, _ = testFactory("")
	if got, want := f.SocketPath(), api.DefaultSocketPath(); got != want {
		t.Errorf("default: %q, want %q", got, want)
	}
}

func TestHelpAndGroupsExitZero(t *testing.T) {
	for _, args := range [][]string{{}, {"idp"}, {"idp", "--help"}, {"app", "cert"}} {
		r := run(t, "/nonexistent.sock", args...)
		wantCode(t, r, ExitOK)
		if !strings.Contains(r.Stdout, "Usage:") {
			t.Errorf("cas %v: no usage on stdout:\n%s", args, r.Stdout)
		}
	}
}

// TestFactorySocketSetInCode checks that a Factory pointed at a socket in
// code (as integration tests do) keeps it when the command tree is built.
func TestFactorySocketSetInCode(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/iptags", http.StatusOK, []api.IPTag{})
	f, ios := testFactory(filepath.Join(t.TempDir(), "env-points-nowhere.sock"))
	f.Socket = fake.socket
	root := NewCmdRoot(f)
	root.SetArgs([]string{"iptag", "list"})
	if code := ExitCode(Execute(t.Context(), root), ios.ErrOut); code != ExitOK {
		t.Fatalf("exit %d: %s", code, outString(ios.ErrOut))
	}
}
