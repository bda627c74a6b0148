package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

// memRig is casd with an app of its own (testkit.Upstream) in a monitored
// session: downloads go through casd's session proxy.
type memRig struct {
	c    *testkit.Casd
	up   *testkit.Upstream
	b    *testkit.Browser
	port int
}

// newMemRig starts casd and the app, onboards it with a monitor policy and
// signs alice in through casd's ACS; policies are extra session policies
// (cas policy add arguments) added before the login.
func newMemRig(t *testing.T, policies ...[]string) *memRig {
	t.Helper()
	port := testkit.FreePort(t)
	c := testkit.NewCasd(t, fmt.Sprintf("listen: 127.0.0.1:%d\n", port))
	c.Start()
	up, err := testkit.StartUpstream(c.StateDir, "mem.localhost")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	idp := testkit.NewTestIdP(t, "https://idp.mem.test/metadata", "https://idp.mem.test/sso")
	c.OK("idp", "add", "mem", "--metadata", testkit.WriteTemp(t, "idp.xml", idp.Metadata))
	c.OK("app", "onboard", "custom", "--name", "mem", "--idp", "mem", "--entity-id", up.URL("/sp"), "--acs-url", up.URL("/acs"), "--domain", "*.mem.localhost")
	c.OK("app", "set", "mem", "--no-monitor-notice")
	c.OK("policy", "add", "mon", "--kind", "access", "--app", "mem", "--action", "monitor")
	for _, p := range policies {
		c.OK(append([]string{"policy", "add"}, p...)...)
	}
	r := &memRig{c: c, up: up, b: testkit.NewBrowser(t, testkit.CasdCA(t, c.StateDir)), port: port}
	portal := fmt.Sprintf("https://cas.localhost:%d", port)
	resp := idp.Mint(testkit.Login{User: "alice@example.com", Audience: up.URL("/sp"), ACSURL: portal + "/saml/mem/acs"})
	p := r.b.PostForm(portal+"/saml/mem/acs", url.Values{"SAMLResponse": {resp}})
	if p.URL.Hostname() != testkit.Proxied(up.AppHost()) || !r.hasSession() {
		t.Fatalf("no monitored session: %s (%d)\n%s\ncasd:\n%s", p.URL, p.Status, p.Body, tail(c.Stderr.String(), 3000))
	}
	return r
}

// url is path on the app's proxied host.
func (r *memRig) url(path string) string {
	return fmt.Sprintf("https://%s:%d%s", testkit.Proxied(r.up.AppHost()), r.port, path)
}

func (r *memRig) hasSession() bool {
	u, _ := url.Parse(r.url("/"))
	for _, c := range r.b.Jar.Cookies(u) {
		if c.Name == "__cas_session" {
			return true
		}
	}
	return false
}

// memWatch follows a process's resident memory: it resets the kernel's
// high-water mark (clear_refs) and samples VmRSS every 50 ms until stopped.
type memWatch struct {
	pid     int
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	maxRSS  int64 // bytes, largest sample
	samples int
	hwmOK   bool // the high-water mark was reset, so VmHWM is this window's peak
}

func watchMem(t *testing.T, pid int) *memWatch {
	t.Helper()
	w := &memWatch{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	w.hwmOK = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	if _, err := procStatus(pid, "VmRSS"); err != nil {
		t.Fatalf("casd's memory: %v", err)
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				w.mu.Lock()
				w.maxRSS = max(w.maxRSS, v)
				w.samples++
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// Stop ends sampling and returns the peak: VmHWM when the mark was reset
// (it sees between samples too), else the largest sample.
func (w *memWatch) Stop(t *testing.T) (peak, sampled int64, samples int) {
	t.Helper()
	close(w.stop)
	<-w.done
	peak = w.maxRSS
	if w.hwmOK {
		hwm, err := procStatus(w.pid, "VmHWM")
		if err != nil {
			t.Fatalf("casd's memory: %v", err)
		}
		peak = max(peak, hwm)
	}
	return peak, w.maxRSS, w.samples
}

// procStatus reads a "kB" field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s in /proc/%d/status: %q", field, pid, val)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// TestDownloadThroughCasdKeepsMemoryBounded streams 1 GiB through a
// monitored session with an allow policy, over HTTP/2 (net/http's server in
// casd) and HTTP/1.1 (casd's front server): casd copies it through without
// holding it, so its resident memory stays far below the file's size.
func TestDownloadThroughCasdKeepsMemoryBounded(t *testing.T) {
	const size = 1 << 30
	const limit = 200 << 20
	r := newMemRig(t, []string{"allow-downloads", "--kind", "session", "--app", "mem", "--activity", "download", "--action", "allow"})
	pid := r.c.Cmd.Process.Pid
	h1 := testkit.NewBrowserProto(t, "http/1.1", testkit.CasdCA(t, r.c.StateDir))
	h1.Client.Jar = r.b.Client.Jar // the same session
	for _, c := range []struct {
		proto string
		b     *testkit.Browser
	}{{"HTTP/2.0", r.b}, {"HTTP/1.1", h1}} {
		before, _ := procStatus(pid, "VmRSS")
		w := watchMem(t, pid)
		start := time.Now()
		resp, err := c.b.Client.Get(r.url("/bytes/" + strconv.Itoa(size)))
		if err != nil {
			w.Stop(t)
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		elapsed := time.Since(start)
		peak, sampled, samples := w.Stop(t)
		if err != nil || resp.StatusCode != 200 || n != size || resp.Proto != c.proto {
			t.Fatalf("download through casd over %s: %s status %d, %d of %d bytes, err %v\ncasd:\n%s", c.proto, resp.Proto, resp.StatusCode, n, size, err, tail(r.c.Stderr.String(), 3000))
		}
		t.Logf("%s: 1 GiB through casd in %v (%.0f MiB/s): casd RSS %.1f MiB before, peak %.1f MiB (largest of %d samples: %.1f MiB)",
			c.proto, elapsed.Round(time.Millisecond), mib(n)/elapsed.Seconds(), mib(before), mib(peak), samples, mib(sampled))
		if peak >= limit {
			t.Errorf("%s: casd's peak RSS during a 1 GiB download was %.1f MiB; want under %d MiB", c.proto, mib(peak), limit>>20)
		}
	}
}

// TestInspectedDownloadIsSpooledNotHeld downloads 50 MiB (inspect.max_bytes)
// under a content-inspection policy: casd spools it to a temporary file,
// scans it and releases it intact, its resident memory staying well under
// the file's size. A file with card numbers is blocked, so inspection did
// run.
func TestInspectedDownloadIsSpooledNotHeld(t *testing.T) {
	const size = 50 << 20
	const limit = 150 << 20
	r := newMemRig(t, []string{"inspect", "--kind", "session", "--app", "mem", "--activity", "download", "--content", "cc", "--action", "block"})
	pid := r.c.Cmd.Process.Pid
	before, _ := procStatus(pid, "VmRSS")

	w := watchMem(t, pid)
	resp, err := r.b.Client.Get(r.url("/bytes/" + strconv.Itoa(size)))
	if err != nil {
		w.Stop(t)
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	peak, sampled, samples := w.Stop(t)
	want := sha256.New()
	io.Copy(want, testkit.PatternReader(size))
	if err != nil || resp.StatusCode != 200 || n != size || !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Fatalf("inspected download: status %d, %d of %d bytes (intact: %v), Content-Disposition %q, err %v\ncasd:\n%s",
			resp.StatusCode, n, size, bytes.Equal(h.Sum(nil), want.Sum(nil)), resp.Header.Get("Content-Disposition"), err, tail(r.c.Stderr.String(), 3000))
	}
	t.Logf("50 MiB inspected through casd: casd RSS %.1f MiB before, peak %.1f MiB (largest of %d samples: %.1f MiB)",
		mib(before), mib(peak), samples, mib(sampled))
	if peak >= limit {
		t.Errorf("casd's peak RSS while inspecting a 50 MiB download was %.1f MiB; want under %d MiB", mib(peak), limit>>20)
	}

	// The same policy blocks a file with card numbers: the body above was
	// inspected, not waved through.
	resp, err = r.b.Client.Get(r.url("/bytes/65536?cards=1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, ".blocked.txt") || bytes.Contains(body, []byte(testkit.UpstreamCards[0])) {
		t.Fatalf("download with card numbers: %d %q\n%.300s", resp.StatusCode, cd, body)
	}
}
