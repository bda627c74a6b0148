#!/usr/bin/env bash
# bench/ab.sh — compare two casd builds held side by side, and nginx, in
# alternating short wrk runs: less noisy than two bench/run.sh runs, since
# every round meets the machine in the same state.
#
#   go build -o /tmp/a/casd ./cmd/casd && go build -o /tmp/a/cas ./cmd/cas   # build A
#   go build -o /tmp/b/casd ./cmd/casd && go build -o /tmp/b/cas ./cmd/cas   # build B
#   go build -o /tmp/casbench ./bench/cmd/casbench
#   /tmp/casbench -bin /tmp/a -hold > /tmp/a.hold &
#   /tmp/casbench -bin /tmp/b -hold > /tmp/b.hold &
#   bench/ab.sh -path /page.html /tmp/a.hold /tmp/b.hold
#   kill -INT %1 %2
#
# Each round runs wrk (-t2 -c32) on casd A, casd B, nginx proxy_pass and
# nginx + sub_filter (those of A's setup) and prints, per request, the
# proxy's CPU and context switches (perf stat), the app's and wrk's CPU and
# the machine's idle time (from /proc).
set -eu

rounds=3 secs=4 path=/data.json
while [ $# -gt 2 ]; do
	case "$1" in
	-rounds) rounds=$2; shift 2 ;;
	-secs) secs=$2; shift 2 ;;
	-path) path=$2; shift 2 ;;
	*) echo "usage: bench/ab.sh [-rounds N] [-secs S] [-path /data.json|/page.html|/big.bin] A.hold B.hold" >&2; exit 2 ;;
	esac
done
[ $# -eq 2 ] || { echo "usage: bench/ab.sh [-rounds N] [-secs S] [-path P] A.hold B.hold" >&2; exit 2; }
holdA=$1 holdB=$2
PATH="$PATH:/usr/sbin"
for tool in wrk perf; do
	command -v "$tool" >/dev/null || { echo "bench/ab.sh: $tool is missing (apt-get install wrk linux-perf)" >&2; exit 1; }
done

casdPID() { awk 'NR==1 {gsub(";", "", $3); print $3}' "$1"; }
nginxPIDs() { head -1 "$1" | sed 's/.*\[//; s/\]//'; }
# ticks sums the user and system clock ticks of the given pids.
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
idle() { awk '/^cpu / {print $5+$6}' /proc/stat; }

# one NAME HOLD TARGET: a wrk run on TARGET's command in HOLD, measured.
one() {
	local name=$1 hold=$2 target=$3 cmd pids app hz
	cmd=$(grep "^$target:" "$hold" | sed "s/^$target: *//; s/-d10s/-d${secs}s/; s#/data.json#$path#")
	[ -n "$cmd" ] || { echo "bench/ab.sh: no '$target' line in $hold" >&2; exit 1; }
	if [ "$target" = casd ]; then pids=$(casdPID "$hold"); else pids=$(nginxPIDs "$hold"); fi
	app=$(ps -o ppid= -p "$(casdPID "$hold")" | tr -d ' ')
	hz=$(getconf CLK_TCK)
	local a0 i0 w r out
	a0=$(ticks "$app") i0=$(idle)
	perf stat -x, -e task-clock,context-switches -p "${pids// /,}" -o "$tmp/stat" -- sleep "$secs" &
	eval "$cmd" >"$tmp/wrk" &
	sleep 0.3
	w=$(pgrep -n -x wrk || true)
	local w0=0 w1=0
	[ -n "$w" ] && w0=$(ticks "$w")
	sleep "$(echo "$secs - 0.8" | bc)"
	[ -n "$w" ] && w1=$(ticks "$w")
	wait
	r=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk")
	local a1 i1 tc cs
	a1=$(ticks "$app") i1=$(idle)
	tc=$(awk -F, '$3=="task-clock" {print $1}' "$tmp/stat")
	cs=$(awk -F, '$3=="context-switches" {print $1}' "$tmp/stat")
	# µs per request; wrk's ticks were read over secs-0.8 s of its run.
	awk -v n="$name" -v r="$r" -v s="$secs" -v tc="$tc" -v cs="$cs" -v app=$((a1 - a0)) -v wt=$((w1 - w0)) -v id=$((i1 - i0)) -v hz="$hz" 'BEGIN {
		q = r * s; us = 1e6 / hz
		printf "%-8s %8.0f req/s  proxy %6.1f µs  %5.2f cs  app %6.1f µs  wrk %6.1f µs  idle %5.1f µs\n",
			n, r, tc * 1000 / q, cs / q, app * us / q, wt * us / (r * (s - 0.8)), id * us / q
	}'
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ab-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "bench/ab.sh: $rounds rounds of ${secs}s on $path; per request:"
for i in $(seq "$rounds"); do
	one "A" "$holdA" casd
	one "B" "$holdB" casd
	one "pass" "$holdA" "nginx proxy_pass"
	one "sub" "$holdA" "nginx + sub_filter"
done
