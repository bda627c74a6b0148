package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profileProxy records a proxy's processes with perf (call graphs by frame
// pointers, which Go keeps) during one more wrk run of the workload through
// it, and writes perf's flat and caller reports into dir as NAME.flat.txt
// and NAME.callers.txt (NAME.data is the recording).
func profileProxy(dir, wdir string, pids []int, t target, name, path string, threads, conns int, d time.Duration) error {
	data := filepath.Join(dir, name+".data")
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	var ps []string
	for _, p := range pids {
		ps = append(ps, strconv.Itoa(p))
	}
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "999", "-g", "-p", strings.Join(ps, ","), "-o", data, "--", "sleep", strconv.Itoa(int(d.Seconds())))
	rec.Stdout, rec.Stderr = os.Stderr, os.Stderr
	if err := rec.Start(); err != nil {
		return fmt.Errorf("perf record: %w", err)
	}
	progress(fmt.Sprintf("perf: %s (wrk -t%d -c%d -d%v)", name, threads, conns, d))
	_, werr := wrk(wdir, t.base+path, threads, conns, d, t.headers...)
	if err := rec.Wait(); err != nil {
		return fmt.Errorf("perf record: %w", err)
	}
	if werr != nil {
		return werr
	}
	for _, r := range []struct {
		suffix string
		args   []string
	}{
		{"flat", []string{"--no-children", "--sort", "symbol", "-g", "none", "--percent-limit", "0.5"}},
		{"callers", []string{"--children", "--sort", "symbol", "-g", "none", "--percent-limit", "2"}},
	} {
		out, err := exec.Command("perf", append([]string{"report", "-i", data, "--stdio"}, r.args...)...).Output()
		if err != nil {
			return fmt.Errorf("perf report: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"."+r.suffix+".txt"), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// costs are a proxy's per-request system costs during one wrk run.
type costs struct {
	target, workload string
	cpuMs            float64 // CPU time (task-clock) per request, ms
	writes, reads    float64 // write and read system calls per request
	futex, switches  float64 // futex calls and context switches per request
	idle             float64 // the machine's idle share during the run, percent
	appMs            float64 // the app's CPU time per request (it runs in casbench), ms
	appSwitches      float64 // the app's context switches per request (voluntary: it slept)
	wrkMs            float64 // wrk's CPU time per request, ms
	reqPerSec        float64
}

// countCosts runs wrk once on path through t while perf stat counts the
// system calls and CPU time of pids, and returns them per request.
func countCosts(wdir string, pids []int, t target, workload, path string, threads, conns int, d time.Duration) (costs, error) {
	var ps []string
	for _, p := range pids {
		ps = append(ps, strconv.Itoa(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	var out bytes.Buffer
	st := exec.CommandContext(ctx, "perf", "stat", "-x", ",", "-e", "task-clock,context-switches,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_futex",
		"-p", strings.Join(ps, ","), "--", "sleep", strconv.Itoa(int(d.Seconds())))
	st.Stderr = &out
	if err := st.Start(); err != nil {
		return costs{}, fmt.Errorf("perf stat: %w", err)
	}
	progress(fmt.Sprintf("perf stat: %s through %s", workload, t.name))
	busy0, idle0 := cpuTimes()
	app0, sw0 := selfCPU()
	r, werr := wrk(wdir, t.base+path, threads, conns, d, t.headers...)
	app1, sw1 := selfCPU()
	busy1, idle1 := cpuTimes()
	if err := st.Wait(); err != nil {
		return costs{}, fmt.Errorf("perf stat: %w\n%s", err, out.String())
	}
	if werr != nil {
		return costs{}, werr
	}
	c := costs{target: t.name, workload: workload, reqPerSec: r.ReqPerSec}
	if total := (busy1 - busy0) + (idle1 - idle0); total > 0 {
		c.idle = 100 * float64(idle1-idle0) / float64(total)
	}
	n := float64(r.Requests)
	c.appMs = float64(app1-app0) / float64(time.Millisecond) / n
	c.appSwitches = float64(sw1-sw0) / n
	c.wrkMs = float64(r.CPU) / float64(time.Millisecond) / n
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		switch f[2] {
		case "task-clock":
			c.cpuMs = v / n // perf reports msec
		case "context-switches":
			c.switches = v / n
		case "syscalls:sys_enter_write":
			c.writes = v / n
		case "syscalls:sys_enter_read":
			c.reads = v / n
		case "syscalls:sys_enter_futex":
			c.futex = v / n
		}
	}
	return c, nil
}

// children returns the processes whose parent is pid (nginx's workers).
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(pid) {
				out = append(out, p)
			}
		}
	}
	return out
}

// cpuTimes reads the machine's busy and idle (with iowait) jiffies from
// /proc/stat.
func cpuTimes() (busy, idle int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4: // idle, iowait
			idle += n
		case 8, 9: // guest time is counted in user already
		default:
			busy += n
		}
	}
	return busy, idle
}

// selfCPU is this process's CPU time (user and system), where the app
// runs, and its voluntary context switches (its threads going to sleep).
func selfCPU() (time.Duration, int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw
}
