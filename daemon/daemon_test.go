package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

// testDaemon is a casd running in the test process on a temporary state
// directory and socket.
type testDaemon struct {
	d      *Daemon
	cfg    *Config
	client *api.Client
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	once   sync.Once
}

type syncBuffer struct {
	mu  chan struct{}
	buf strings.Builder
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// testConfig returns a configuration rooted in a temporary directory. The
// socket lives in a short path: Unix socket paths are limited to 108 bytes.
func testConfig(t *testing.T) *Config {
	t.Helper()
	dir := t.TempDir()
	sockDir, err := os.MkdirTemp("", "cas-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	file := filepath.Join(dir, "casd.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:0\n"), 0o600)
	cfg, err := LoadConfig(file, true, nil, []string{
		"CAS_STATE_DIR=" + filepath.Join(dir, "state"),
		"CAS_SOCKET=" + filepath.Join(sockDir, "casd.sock"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startTestDaemon(t *testing.T, cfg *Config) *testDaemon {
	t.Helper()
	logs := newSyncBuffer()
	level := new(slog.LevelVar)
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	d, err := New(ctx, cfg, Options{Logger: logger, Level: level, Ready: func() { close(ready) }})
	if err != nil {
		cancel()
		t.Fatalf("new daemon: %v", err)
	}
	td := &testDaemon{d: d, cfg: cfg, client: api.NewClient(cfg.Socket), cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { td.done <- d.Run(ctx) }()
	select {
	case <-ready:
	case err := <-td.done:
		cancel()
		t.Fatalf("daemon exited at start: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon did not become ready")
	}
	t.Cleanup(td.stop)
	return td
}

func (td *testDaemon) stop() {
	td.once.Do(func() {
		td.cancel()
		select {
		case <-td.done:
		case <-time.After(20 * time.Second):
		}
	})
}

// rawRequest sends a request on the socket with full control of headers.
func rawRequest(t *testing.T, socket string, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStatusOverSocket(t *testing.T) {
	td := startTestDaemon(t, testConfig(t))
	st, err := td.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != api.Version || st.Socket != td.cfg.Socket || st.StateDir != td.cfg.StateDir {
		t.Errorf("status = %+v", st)
	}
	if len(st.Listeners) < 2 {
		t.Errorf("listeners = %v, want the api socket and the proxy", st.Listeners)
	}
	fi, err := os.Stat(td.cfg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want 0660", fi.Mode().Perm())
	}
}

func TestBrowserLikeRequestsRefused(t *testing.T) {
	td := startTestDaemon(t, testConfig(t))
	cases := []struct {
		name   string
		header string
		value  string
		host   string
	}{
		{"origin", "Origin", "https://evil.example", api.Host},
		{"referer", "Referer", "https://evil.example/page", api.Host},
		{"foreign host", "", "", "127.0.0.1:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", "http://"+tc.host+api.RouteStatus, nil)
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, body := rawRequest(t, td.cfg.Socket, req)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"code":"forbidden"`) {
				t.Errorf("got %d %s, want 403 forbidden", resp.StatusCode, body)
			}
		})
	}
	// The same request without those headers works.
	req, _ := http.NewRequest("GET", "http://"+api.Host+api.RouteStatus, nil)
	if resp, body := rawRequest(t, td.cfg.Socket, req); resp.StatusCode != http.StatusOK {
		t.Errorf("plain request: %d %s", resp.StatusCode, body)
	}
}

func TestSecondDaemonRefusedAndStaleSocketReplaced(t *testing.T) {
	cfg := testConfig(t)
	td := startTestDaemon(t, cfg)
	// A second casd on the same socket refuses to start.
	cfg2 := *cfg
	cfg2.StateDir = filepath.Join(t.TempDir(), "state2")
	d2, err := New(context.Background(), &cfg2, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = d2.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("second daemon: err = %v, want address already in use", err)
	}
	if _, err := td.client.Status(context.Background()); err != nil {
		t.Fatalf("first daemon stopped answering: %v", err)
	}
	td.stop()

	// A stale socket file (no one listening) is replaced.
	ln, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(cfg.Socket); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	td2 := startTestDaemon(t, cfg)
	if _, err := td2.client.Status(context.Background()); err != nil {
		t.Fatalf("daemon over a stale socket: %v", err)
	}
}

// TestOtherUserRefused dials the socket as user nobody from a child process.
// The socket is opened up (0666 in a 0755 directory) so that the connection
// reaches casd, which must refuse it by its peer credentials.
func TestOtherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root to start a child process as another user")
		}
		t.Skip("needs root to dial as another user (CI runs as root)")
	}
	td := startTestDaemon(t, testConfig(t))
	os.Chmod(filepath.Dir(td.cfg.Socket), 0o755)
	os.Chmod(td.cfg.Socket, 0o666)

	// The test binary sits in a private build directory: give nobody a
	// copy it can execute.
	binDir, err := os.MkdirTemp("", "cas-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "daemon.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperDialAsOtherUser$")
	cmd.Env = append(os.Environ(), "CAS_TEST_DIAL="+td.cfg.Socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "STATUS 403") || !strings.Contains(string(out), "access denied") {
		t.Fatalf("child as nobody got:\n%s\nwant 403 access denied", out)
	}
	if !strings.Contains(td.logs.String(), "refused caller") {
		t.Errorf("refusal not logged:\n%s", td.logs.String())
	}
	// Writes are refused the same way, and nothing changes.
	tags, err := td.client.IPTags(context.Background())
	if err != nil || len(tags) != 0 {
		t.Fatalf("ip tags after refused write: %v %v", tags, err)
	}
}

// TestHelperDialAsOtherUser is the child of TestOtherUserRefused.
func TestHelperDialAsOtherUser(t *testing.T) {
	sock := os.Getenv("CAS_TEST_DIAL")
	if sock == "" {
		t.Skip("helper process only")
	}
	c := api.NewClient(sock)
	_, err := c.Status(context.Background())
	if e, ok := err.(*api.Error); ok {
		fmt.Printf("STATUS %d %s\n", e.Status, e.Message)
	} else {
		fmt.Printf("ERR %v\n", err)
	}
	_, err = c.SetIPTag(context.Background(), api.IPTag{Name: "evil", CIDRs: []string{"0.0.0.0/0"}})
	if e, ok := err.(*api.Error); ok {
		fmt.Printf("WRITE STATUS %d\n", e.Status)
	}
}

func TestRouteTableSorted(t *testing.T) {
	d := &Daemon{}
	rs := d.routes()
	for i := 1; i < len(rs); i++ {
		a, b := rs[i-1], rs[i]
		if a.path > b.path || (a.path == b.path && a.method >= b.method) {
			t.Errorf("route %s %s sorts before %s %s", b.method, b.path, a.method, a.path)
		}
	}
}
