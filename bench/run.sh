#!/bin/sh
# bench/run.sh — the whole-system load run of issue 6: the same app served
# directly, through casd (a monitored session), through nginx proxy_pass,
# through nginx + sub_filter and through the issue's naive Go proxy,
# measured with wrk in one run on this machine.
# Prints a markdown report; with -out FILE also writes it there. Extra
# arguments go to casbench (see bench/cmd/casbench: -d, -dl-d, -runs, -c).
#
#   bench/run.sh                      # about 5 minutes
#   bench/run.sh -out /tmp/run.md
#   bench/run.sh -d 3s -dl-d 2s -runs 1   # a quick look
#   bench/run.sh -perf DIR            # also perf profiles and per-request costs
#   bench/run.sh -hold                # set up, print each target's wrk command, wait
#
# To compare two casd builds, hold both and alternate short runs: bench/ab.sh.
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
if [ -n "$missing" ]; then
	echo "bench: installing$missing" >&2
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2
fi
PATH="$PATH:/usr/sbin"
export PATH

bin=$(mktemp -d "${TMPDIR:-/tmp}/casbench-bin-XXXXXX")
trap 'rm -rf "$bin"' EXIT INT TERM
echo "bench: building casd, cas and casbench" >&2
go build -o "$bin/casd" ./cmd/casd
go build -o "$bin/cas" ./cmd/cas
go build -o "$bin/casbench" ./bench/cmd/casbench
"$bin/casbench" -bin "$bin" -cmdline "bench/run.sh${*:+ $*}" "$@"
