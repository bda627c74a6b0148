package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memFigures is a process's resident memory over a phase.
type memFigures struct {
	peak    int64 // VmHWM after the mark was reset at the phase's start, or the largest sample
	sampled int64 // largest VmRSS sample (every 50 ms)
	reset   bool  // clear_refs reset the high-water mark
}

// measureRSS runs f while following pid's resident memory.
func measureRSS(pid int, f func() error) (memFigures, error) {
	var m memFigures
	m.reset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	stop, done := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				mu.Lock()
				m.sampled = max(m.sampled, v)
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	err := f()
	close(stop)
	<-done
	m.peak = m.sampled
	if m.reset {
		if hwm, err := procStatus(pid, "VmHWM"); err == nil {
			m.peak = max(m.peak, hwm)
		}
	}
	return m, err
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
		if ok && name == field {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func uptime() string {
	b, err := exec.Command("uptime").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// render is the markdown report.
func render(o options, targets []target, res map[string]map[string]figures, memWork, memDL memFigures, samePage bool, started time.Time, loadBefore string, cs []costs) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	cmd := o.cmdline
	if cmd == "" {
		cmd = strings.Join(os.Args, " ")
	}
	w("## Run of %s\n\n", started.UTC().Format("2006-01-02 15:04 MST"))
	w("- Command: `%s` (%v in all)\n", cmd, time.Since(started).Round(time.Second))
	w("- Load: wrk -t2 -c%d -d%v --latency on the page and the JSON; wrk -t1 -c1 -d%v --latency on the download (MiB/s is wrk's Transfer/sec); %d runs per cell, runs of the targets interleaved, medians reported\n", o.conns, o.dur, o.dlDur, o.runs)
	for _, m := range machine() {
		w("- Machine: %s\n", m)
	}
	w("- Load before: `%s`\n- Load after: `%s`\n", loadBefore, uptime())
	w("- Everything on this machine, over loopback TLS: wrk, the app (Go, HTTP/1.1 and HTTP/2), casd (default configuration, log level info, a monitored session, no session policy), nginx (generated configuration, upstream keepalive; sub_filter for app.%[1]s and static.%[1]s), the issue's naive Go proxy (casbench naive: httputil.ReverseProxy, default transport, bytes.ReplaceAll of the same two hosts in whole text bodies)\n\n", domain)

	w("| workload | ")
	for _, t := range targets {
		w("%s | ", t.name)
	}
	w("\n|---|")
	for range targets {
		w("---:|")
	}
	w("\n")
	rows := []struct{ key, label string }{
		{"html", "100 KiB HTML page, 320 app-host links: req/s (p50 / p99)"},
		{"json", "1 KiB JSON: req/s (p50 / p99)"},
		{"download", "64 MiB download, 1 client: MiB/s (p50 per download)"},
	}
	for _, row := range rows {
		w("| %s | ", row.label)
		for _, t := range targets {
			f, ok := res[row.key][t.name]
			switch {
			case !ok:
				w("— | ")
			case row.key == "download":
				w("%.0f (%s)%s | ", f.mibPerSec, ms(f.p50), errNote(f))
			default:
				w("%.0f (%s / %s)%s | ", f.reqPerSec, ms(f.p50), ms(f.p99), errNote(f))
			}
		}
		w("\n")
	}

	casd := func(k string) figures { return res[k]["casd"] }
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	yes := func(ok bool) string {
		if ok {
			return "**yes**"
		}
		return "**no**"
	}
	html := ratio(casd("html").reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec)
	js := ratio(casd("json").reqPerSec, res["json"]["nginx proxy_pass"].reqPerSec)
	dl := ratio(casd("download").mibPerSec, res["download"]["nginx proxy_pass"].mibPerSec)
	w("\n| goal (issue 6) | measured in this run | met |\n|---|---|---|\n")
	w("| casd serves the HTML page at 1.5× nginx + sub_filter | casd / nginx+sub_filter = %.2f× (%.0f / %.0f req/s) | %s |\n", html, casd("html").reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec, yes(html >= 1.5))
	w("| casd serves the JSON at least at nginx proxy_pass's rate | casd / nginx = %.2f× (%.0f / %.0f req/s) | %s |\n", js, casd("json").reqPerSec, res["json"]["nginx proxy_pass"].reqPerSec, yes(js >= 1))
	w("| casd downloads at least at nginx's throughput | casd / nginx = %.2f× (%.0f / %.0f MiB/s) | %s |\n", dl, casd("download").mibPerSec, res["download"]["nginx proxy_pass"].mibPerSec, yes(dl >= 1))
	w("| casd's peak RSS during the download stays under 100 MiB | %.1f MiB %s | %s |\n", mib(memDL.peak), peakHow(memDL), yes(memDL.peak < 100<<20))
	w("\ncasd's peak RSS during the page and JSON runs: %.1f MiB %s. casd's rewritten page is byte for byte nginx sub_filter's: %s.\n", mib(memWork.peak), peakHow(memWork), map[bool]string{true: "yes", false: "no"}[samePage])
	// What the page goal can be on this machine: nginx proxy_pass forwards
	// the page without rewriting it, so a proxy that rewrote for free at
	// nginx's cost of forwarding would reach this ratio, and no more.
	free := ratio(res["html"]["nginx proxy_pass"].reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec)
	w("Ceiling of the page goal on this machine: nginx proxy_pass, which forwards the page without rewriting it, serves %.2f× nginx + sub_filter (%.0f / %.0f req/s); casd, which rewrites it, serves %.2f× nginx proxy_pass.\n",
		free, res["html"]["nginx proxy_pass"].reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec, ratio(casd("html").reqPerSec, res["html"]["nginx proxy_pass"].reqPerSec))
	w("Direct-to-app figures are the ceiling of this machine: wrk and the app share its 2 cores with the proxy under test.\n")
	// The issue's own figures for a naive Go proxy against nginx, re-measured
	// here: how this machine and setup compare with the issue's.
	nv := func(k string) figures { return res[k][naiveName] }
	w("The issue's naive Go proxy (httputil.ReverseProxy, default transport, whole-body bytes.ReplaceAll) against nginx, here and in the issue: page %.2f× nginx + sub_filter (%.0f / %.0f req/s; issue 0.69×, 2,700 / 3,900), JSON %.2f× nginx proxy_pass (%.0f / %.0f; issue 0.34×, 14,000 / 41,000), download %.2f× nginx (%.0f / %.0f MiB/s; issue 1.11×, 720 / 650).\n",
		ratio(nv("html").reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec), nv("html").reqPerSec, res["html"]["nginx + sub_filter"].reqPerSec,
		ratio(nv("json").reqPerSec, res["json"]["nginx proxy_pass"].reqPerSec), nv("json").reqPerSec, res["json"]["nginx proxy_pass"].reqPerSec,
		ratio(nv("download").mibPerSec, res["download"]["nginx proxy_pass"].mibPerSec), nv("download").mibPerSec, res["download"]["nginx proxy_pass"].mibPerSec)
	if len(cs) > 0 {
		w("\nPer-request costs (perf stat over one more run each, `-perf %s`; proxy CPU is its task-clock, all threads; app CPU is the app's, in casbench, and wrk CPU wrk's; system calls and switches are the proxy's; app sleeps are the app's voluntary context switches):\n\n", o.perf)
		w("| workload | proxy | req/s in this run | machine idle | proxy CPU ms/req | app CPU ms/req | wrk CPU ms/req | write/req | read/req | futex/req | context switches/req | app sleeps/req |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, c := range cs {
			w("| %s | %s | %.0f | %.0f%% | %.3f | %.3f | %.3f | %.1f | %.1f | %.1f | %.1f | %.2f |\n", c.workload, c.target, c.reqPerSec, c.idle, c.cpuMs, c.appMs, c.wrkMs, c.writes, c.reads, c.futex, c.switches, c.appSwitches)
		}
	}
	return b.String()
}

func peakHow(m memFigures) string {
	if m.reset {
		return "(VmHWM, reset at the phase's start)"
	}
	return "(largest 50 ms VmRSS sample)"
}

func errNote(f figures) string {
	if f.errs == "" {
		return ""
	}
	return " ⚠ " + f.errs
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
