// Command casbench is the whole-system load run of bench/: the same app
// served directly, through casd's session proxy (a monitored session),
// through nginx proxy_pass, through nginx with sub_filter doing casd's
// host rewriting and through the naive Go proxy (naive.go),
// measured with wrk on this machine in one run. It prints
// a markdown report. bench/run.sh builds casd, cas and casbench and runs
// it; no test runs it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

const (
	domain = "bench.localhost"
	suffix = "cas.localhost"
	// naiveName is the target of the naive Go proxy (naive.go).
	naiveName = "naive Go (httputil)"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "naive" {
		naiveMain(os.Args[2:]) // a child process of the run: naive.go
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "", "directory holding the casd and cas binaries (required)")
	flag.DurationVar(&o.dur, "d", 10*time.Second, "duration of each wrk run on the page and the JSON")
	flag.DurationVar(&o.dlDur, "dl-d", 5*time.Second, "duration of each single-client download run")
	flag.IntVar(&o.runs, "runs", 3, "runs per target and workload (the median is reported)")
	flag.IntVar(&o.conns, "c", 32, "wrk connections on the page and the JSON")
	flag.StringVar(&o.out, "out", "", "also write the report to this file")
	flag.StringVar(&o.cmdline, "cmdline", "", "the command to show in the report")
	flag.BoolVar(&o.h1, "upstream-h1", false, "the app speaks HTTP/1.1 only (casd then reaches it over HTTP/1.1, as nginx does)")
	flag.BoolVar(&o.hold, "hold", false, "set everything up, print how to reach each target (for wrk or perf by hand), and wait for Ctrl-C instead of measuring")
	flag.StringVar(&o.perf, "perf", "", "after the measured runs, record casd with perf during one more run of each workload and write the reports into this directory")
	flag.Parse()
	if o.bin == "" || o.runs < 1 || o.dur < time.Second || o.dlDur < time.Second {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "casbench:", err)
		os.Exit(1)
	}
}

type options struct {
	bin          string
	dur, dlDur   time.Duration
	runs, conns  int
	out, cmdline string
	perf         string
	h1, hold     bool
}

// target is one way to reach the app.
type target struct {
	name    string
	base    string // https://host:port
	headers []string
	rewrite bool // host names in bodies are mapped to the proxy's
}

// figures are the medians of one target on one workload.
type figures struct {
	reqPerSec, mibPerSec float64
	p50, p99             time.Duration
	errs                 string
}

func run(o options) error {
	started := time.Now()
	loadBefore := uptime()
	tmp, err := os.MkdirTemp("", "casbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, d := range []string{"casd", "nginx"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o700); err != nil {
			return err
		}
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	casdPort, plainPort, subPort, naivePort := ports[0], ports[1], ports[2], ports[3]

	progress("starting casd")
	c, err := startCasd(o.bin, filepath.Join(tmp, "casd"), casdPort)
	if err != nil {
		return err
	}
	defer c.stop()
	up, err := testkit.StartUpstreamConfig(testkit.UpstreamConfig{CasdStateDir: c.stateDir(), Domain: domain, HTTP1Only: o.h1})
	if err != nil {
		return err
	}
	defer up.Close()
	p, err := newIdP("https://idp.bench.test/metadata")
	if err != nil {
		return err
	}
	md := filepath.Join(tmp, "idp.xml")
	if err := os.WriteFile(md, []byte(p.metadata), 0o600); err != nil {
		return err
	}
	entityID := up.URL("/sp")
	for _, args := range [][]string{
		{"idp", "add", "bench", "--metadata", md},
		{"app", "onboard", "custom", "--name", "bench", "--idp", "bench", "--entity-id", entityID, "--acs-url", up.URL("/acs"), "--domain", "*." + domain},
		{"app", "set", "bench", "--no-monitor-notice"},
		{"policy", "add", "mon", "--kind", "access", "--app", "bench", "--action", "monitor"},
	} {
		if err := c.cas(args...); err != nil {
			return err
		}
	}
	hc, err := c.client()
	if err != nil {
		return err
	}
	proxied := up.AppHost() + "." + suffix
	token, err := c.login(p, "bench", entityID, proxied, hc)
	if err != nil {
		return fmt.Errorf("%w\ncasd:\n%s", err, c.out.String())
	}

	progress("starting nginx")
	ng, err := startNginx(filepath.Join(tmp, "nginx"), up.Cert, domain, suffix, up.Port, plainPort, subPort)
	if err != nil {
		return err
	}
	defer ng.stop()
	progress("starting the naive Go proxy")
	naive, err := startNaive(filepath.Join(tmp, "nginx"), up.Port, naivePort, []string{up.AppHost(), "static." + domain})
	if err != nil {
		return err
	}
	defer func() { naive.Process.Kill(); naive.Wait() }()

	targets := []target{
		{name: "direct", base: fmt.Sprintf("https://%s:%d", up.AppHost(), up.Port)},
		{name: "casd", base: fmt.Sprintf("https://%s:%d", proxied, casdPort), headers: []string{"Cookie: __cas_session=" + token}, rewrite: true},
		{name: "nginx proxy_pass", base: fmt.Sprintf("https://%s:%d", up.AppHost(), plainPort)},
		{name: "nginx + sub_filter", base: fmt.Sprintf("https://%s:%d", up.AppHost(), subPort), rewrite: true},
		{name: naiveName, base: fmt.Sprintf("https://%s:%d", up.AppHost(), naivePort), rewrite: true},
	}
	same, err := check(hc, targets)
	if err != nil {
		return fmt.Errorf("%w\ncasd:\n%s", err, tail(c.out.String(), 3000))
	}

	if o.hold {
		return hold(tmp, targets, c.pid(), ng)
	}

	wdir := filepath.Join(tmp, "wrk")
	if err := os.Mkdir(wdir, 0o700); err != nil {
		return err
	}
	res := map[string]map[string]figures{}
	memWork, err := measureRSS(c.pid(), func() error {
		for _, w := range []struct{ name, path string }{{"html", "/page.html"}, {"json", "/data.json"}} {
			r, err := phase(wdir, targets, w.name, w.path, 2, o.conns, o.dur, o.runs)
			if err != nil {
				return err
			}
			res[w.name] = r
		}
		return nil
	})
	if err != nil {
		return err
	}
	// nginx + sub_filter would run its filter over the binary
	// (sub_filter_types *): not a download anyone configures.
	dlTargets := slices.DeleteFunc(slices.Clone(targets), func(t target) bool { return t.name == "nginx + sub_filter" })
	memDL, err := measureRSS(c.pid(), func() error {
		r, err := phase(wdir, dlTargets, "download", "/big.bin", 1, 1, o.dlDur, o.runs)
		res["download"] = r
		return err
	})
	if err != nil {
		return err
	}
	var cs []costs
	if o.perf != "" {
		if cs, err = profile(o, wdir, c.pid(), ng, targets); err != nil {
			return err
		}
	}
	report := render(o, targets, res, memWork, memDL, same, started, loadBefore, cs)
	fmt.Print(report)
	if o.out != "" {
		return os.WriteFile(o.out, []byte(report), 0o644)
	}
	return nil
}

// hold prints how to reach each target and waits for an interrupt, for
// measuring by hand (wrk runs of any length, perf, pprof).
func hold(dir string, targets []target, casdPID int, ng *nginx) error {
	script := filepath.Join(dir, "resolve.lua")
	if err := os.WriteFile(script, []byte(wrkResolve), 0o600); err != nil {
		return err
	}
	fmt.Printf("casd pid %d; nginx pids %v\n", casdPID, append([]int{ng.cmd.Process.Pid}, children(ng.cmd.Process.Pid)...))
	for _, t := range targets {
		var hs []string
		for _, h := range t.headers {
			hs = append(hs, fmt.Sprintf("-H '%s'", h))
		}
		fmt.Printf("%-20s wrk -t2 -c32 -d10s -s %s %s %s/data.json\n", t.name+":", script, strings.Join(hs, " "), t.base)
	}
	fmt.Println("Ctrl-C ends it.")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

// check fetches each workload through each target once: every answer is
// 200 with the right size, the rewriting targets map every app host, and
// it reports whether casd's rewritten page is byte for byte nginx
// sub_filter's.
func check(hc *http.Client, targets []target) (samePage bool, err error) {
	pages := map[string][]byte{}
	for _, t := range targets {
		for _, path := range []string{"/page.html", "/data.json", "/big.bin"} {
			req, _ := http.NewRequest("GET", t.base+path, nil)
			for _, h := range t.headers {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return false, fmt.Errorf("check %s%s: %w", t.name, path, err)
			}
			var body []byte
			var n int64
			if path == "/big.bin" {
				n, err = io.Copy(io.Discard, resp.Body)
			} else {
				body, err = io.ReadAll(resp.Body)
				n = int64(len(body))
			}
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 {
				return false, fmt.Errorf("check %s%s: status %d, err %v", t.name, path, resp.StatusCode, err)
			}
			switch path {
			case "/page.html", "/data.json":
				mapped := bytes.Count(body, []byte("."+domain+"."+suffix))
				plain := bytes.Count(body, []byte("."+domain)) - mapped
				if t.rewrite && (plain != 0 || mapped < 3) || !t.rewrite && mapped != 0 {
					return false, fmt.Errorf("check %s%s: %d mapped and %d unmapped app hosts", t.name, path, mapped, plain)
				}
				if path == "/page.html" && t.rewrite {
					pages[t.name] = body
				}
				if !t.rewrite && n != map[string]int64{"/page.html": testkit.UpstreamPageSize, "/data.json": testkit.UpstreamJSONSize}[path] {
					return false, fmt.Errorf("check %s%s: %d bytes", t.name, path, n)
				}
			case "/big.bin":
				if n != testkit.UpstreamBigSize {
					return false, fmt.Errorf("check %s%s: %d bytes", t.name, path, n)
				}
			}
		}
	}
	return pages["casd"] != nil && bytes.Equal(pages["casd"], pages["nginx + sub_filter"]), nil
}

// phase runs wrk runs times on path for each target, interleaving the
// targets so that drift in the machine's load spreads over all of them,
// and returns each target's medians.
func phase(dir string, targets []target, name, path string, threads, conns int, d time.Duration, runs int) (map[string]figures, error) {
	all := map[string][]wrkRun{}
	for i := range runs {
		for _, t := range targets {
			progress(fmt.Sprintf("%s %d/%d: %s (wrk -t%d -c%d -d%v)", name, i+1, runs, t.name, threads, conns, d))
			r, err := wrk(dir, t.base+path, threads, conns, d, t.headers...)
			if err != nil {
				return nil, err
			}
			all[t.name] = append(all[t.name], r)
		}
	}
	out := map[string]figures{}
	for _, t := range targets {
		rs := all[t.name]
		var f figures
		f.reqPerSec = median(rs, func(r wrkRun) float64 { return r.ReqPerSec })
		f.mibPerSec = median(rs, func(r wrkRun) float64 { return r.BytesPerSec }) / (1 << 20)
		f.p50 = time.Duration(median(rs, func(r wrkRun) float64 { return float64(r.P50) }))
		f.p99 = time.Duration(median(rs, func(r wrkRun) float64 { return float64(r.P99) }))
		var non2xx, sock int64
		for _, r := range rs {
			non2xx += r.Non2xx
			sock += r.SocketErrs
			if r.Requests == 0 {
				return nil, fmt.Errorf("%s through %s: no request completed\n%s", name, t.name, r.Output)
			}
		}
		if non2xx > 0 {
			return nil, fmt.Errorf("%s through %s: %d responses not 2xx/3xx\n%s", name, t.name, non2xx, rs[0].Output)
		}
		if sock > 0 {
			f.errs = fmt.Sprintf("%d socket errors", sock)
		}
		out[t.name] = f
	}
	return out, nil
}

func median(rs []wrkRun, f func(wrkRun) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func progress(s string) {
	fmt.Fprintf(os.Stderr, "%s casbench: %s\n", time.Now().Format("15:04:05"), s)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// machine describes where the run happened.
func machine() []string {
	out := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil && len(b) == 0 { // wrk -v exits 1 after its version
			return "?"
		}
		return strings.TrimSpace(string(b))
	}
	cpu := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	wrkv := strings.SplitN(out("wrk", "-v"), "\n", 2)[0]
	return []string{
		fmt.Sprintf("%d CPUs (%s), %s, %s", runtime.NumCPU(), cpu, runtime.Version(), out("uname", "-sr")),
		out("nginx", "-v") + "; " + strings.TrimSpace(strings.Split(wrkv, "Copyright")[0]),
	}
}

// profile records casd with perf during one more run of each workload,
// and counts the per-request costs of casd and nginx.
func profile(o options, wdir string, casdPID int, ng *nginx, targets []target) ([]costs, error) {
	if err := os.MkdirAll(o.perf, 0o755); err != nil {
		return nil, err
	}
	casd, plain, sub := targets[1], targets[2], targets[3]
	works := []struct {
		name, path     string
		threads, conns int
		d              time.Duration
		nginx          target
	}{
		{"html", "/page.html", 2, o.conns, o.dur, sub},
		{"json", "/data.json", 2, o.conns, o.dur, plain},
		{"download", "/big.bin", 1, 1, o.dlDur, plain},
	}
	var cs []costs
	for _, w := range works {
		nginxPIDs := append(children(ng.cmd.Process.Pid), ng.cmd.Process.Pid)
		if err := profileProxy(o.perf, wdir, []int{casdPID}, casd, w.name, w.path, w.threads, w.conns, w.d); err != nil {
			return nil, err
		}
		if err := profileProxy(o.perf, wdir, nginxPIDs, w.nginx, "nginx-"+w.name, w.path, w.threads, w.conns, w.d); err != nil {
			return nil, err
		}
		for _, t := range []struct {
			t    target
			pids []int
		}{{casd, []int{casdPID}}, {w.nginx, nginxPIDs}} {
			c, err := countCosts(wdir, t.pids, t.t, w.name, w.path, w.threads, w.conns, w.d)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
	}
	return cs, nil
}
