// Package testkit runs the real casd and cas binaries for the end-to-end and
// interoperability tests: a real Unix socket, a real SQLite file, real TLS.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinDir holds casd and cas, built once per test binary by Main.
var BinDir string

// Main builds casd and cas, runs the tests and removes the binaries. Call it
// from TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "cas-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, b := range []string{"casd", "cas"} {
		args := []string{"build", "-o", filepath.Join(dir, b)}
		if os.Getenv("CAS_E2E_RACE") == "1" {
			// The real binaries with the race detector: casd's concurrent
			// paths exercised by real flows.
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "github.com/cas-proxy/cas/cmd/"+b)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", b, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	BinDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Casd is a casd process with its own state directory, socket and
// configuration file.
type Casd struct {
	t        *testing.T
	StateDir string
	Socket   string
	Config   string
	Cmd      *exec.Cmd
	Stderr   *LockedBuffer
	exited   chan struct{}
	Env      []string
	// Args are extra casd flags, such as --demo.
	Args []string
}

// LockedBuffer is a bytes.Buffer safe for concurrent writes and reads.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// NewCasd prepares (but does not start) a casd with its own state
// directory, socket and a configuration file holding extraConfig.
func NewCasd(t *testing.T, extraConfig string) *Casd {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "cas-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	c := &Casd{t: t, StateDir: filepath.Join(dir, "state"), Socket: filepath.Join(sockDir, "casd.sock"), Config: filepath.Join(dir, "casd.yaml")}
	cfg := "log_level: debug\n" + extraConfig
	if !strings.Contains(extraConfig, "listen:") {
		cfg = "listen: 127.0.0.1:0\n" + cfg
	}
	if err := os.WriteFile(c.Config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Env = append(os.Environ(), "CAS_STATE_DIR="+c.StateDir, "CAS_SOCKET="+c.Socket, "NO_COLOR=1")
	return c
}

// Start runs casd and waits until its socket answers.
func (c *Casd) Start() {
	c.t.Helper()
	c.Stderr = &LockedBuffer{}
	c.Cmd = exec.Command(filepath.Join(BinDir, "casd"), append([]string{"--config", c.Config}, c.Args...)...)
	c.Cmd.Env = c.Env
	c.Cmd.Stderr = c.Stderr
	c.Cmd.Stdout = c.Stderr
	if err := c.Cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func() { c.Cmd.Wait(); close(c.exited) }()
	c.t.Cleanup(c.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			c.t.Fatalf("casd exited at start:\n%s", c.Stderr.String())
		default:
		}
		if conn, err := net.Dial("unix", c.Socket); err == nil {
			conn.Close()
			// The socket answers as soon as it listens; wait for "started".
			if strings.Contains(c.Stderr.String(), "casd started") {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("casd did not start:\n%s", c.Stderr.String())
}

// Stop sends SIGTERM and waits. A race report in casd's output (binaries
// built with CAS_E2E_RACE=1) fails the test.
func (c *Casd) Stop() {
	if c.Cmd == nil || c.Cmd.Process == nil {
		return
	}
	defer func() {
		if out := c.Stderr.String(); strings.Contains(out, "WARNING: DATA RACE") {
			i := strings.Index(out, "WARNING: DATA RACE")
			c.t.Errorf("casd reported a data race:\n%s", out[i:min(len(out), i+4000)])
		}
	}()
	Terminate(c.Cmd.Process, c.exited, 20*time.Second)
}

// Kill sends SIGKILL: no flush, no cleanup.
func (c *Casd) Kill() {
	c.Cmd.Process.Kill()
	<-c.exited
}

// Result is what a cas command did.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Cas runs the CLI against this casd.
func (c *Casd) Cas(args ...string) Result {
	c.t.Helper()
	return c.CasStdin("", args...)
}

// CasStdin runs the CLI with stdin.
func (c *Casd) CasStdin(stdin string, args ...string) Result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir, "cas"), args...)
	cmd.Env = c.Env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("cas %v: %v", args, err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// OK runs a cas command that must succeed and returns its stdout.
func (c *Casd) OK(args ...string) string {
	c.t.Helper()
	r := c.Cas(args...)
	if r.Code != 0 {
		c.t.Fatalf("cas %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// Fails runs a cas command that must fail with code and a message holding
// want.
func (c *Casd) Fails(code int, want string, args ...string) Result {
	c.t.Helper()
	r := c.Cas(args...)
	if r.Code != code || !strings.Contains(r.Stderr, want) {
		c.t.Fatalf("cas %s: exit %d, stderr %q; want exit %d with %q", strings.Join(args, " "), r.Code, r.Stderr, code, want)
	}
	return r
}

// JSON runs a cas command with --json and decodes its output into v.
func (c *Casd) JSON(v any, args ...string) {
	c.t.Helper()
	out := c.OK(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("cas %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// WriteTemp writes content to a file in the test's temp dir.
func WriteTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// RequireTool fails under CI (where make test installs it) and skips
// locally when a real dependency is missing.
func RequireTool(t *testing.T, path, install string) {
	t.Helper()
	if _, err := exec.LookPath(path); err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (make test installs it: %s)", path, install)
	}
	t.Skipf("%s is missing; install it with: %s (or run make test)", path, install)
}
