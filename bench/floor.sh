#!/bin/bash
# bench/floor.sh — what a reverse proxy's per-request CPU is made of, on the
# 1 KiB JSON of bench/run.sh: the same Go app behind four proxies, each
# under wrk -t2 -c32 while perf stat counts the proxy's CPU time.
#
#   raw    a hand-rolled Go loop: TLS in, TLS out, no HTTP library (the floor)
#   front  casd's front server + casd's H1Transport, copying (no casd logic)
#          (raw and front make raw socket calls through netio, as casd does)
#   h1     net/http's server + casd's H1Transport, copying (no casd logic)
#   nginx  nginx proxy_pass, keep-alive upstream
#
#   bench/floor.sh            # 2 rounds of 5 s per proxy
#   ROUNDS=3 DUR=10 bench/floor.sh
set -eu
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/sbin"
for c in nginx wrk perf openssl; do
	command -v $c >/dev/null || { echo "floor: needs $c" >&2; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/casfloor-XXXXXX")
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
go build -o "$dir/floor" ./bench/cmd/floor
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 1 -subj /CN=localhost 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
app=$(port)
declare -A PORT PID
"$dir/floor" app -port "$app" & pids+=($!)
for m in raw front h1; do
	PORT[$m]=$(port)
	"$dir/floor" proxy -port "${PORT[$m]}" -app "$app" -mode $m & PID[$m]=$!; pids+=($!)
done
PORT[nginx]=$(port)
mkdir -p "$dir/tmp"
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat > "$dir/nginx.conf" <<CONF
daemon off; master_process on; worker_processes auto; pid $dir/nginx.pid; error_log $dir/error.log warn; $user
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    ssl_certificate $dir/cert.pem; ssl_certificate_key $dir/key.pem;
    keepalive_requests 1000000;
    upstream app { server 127.0.0.1:$app; keepalive 64; keepalive_requests 1000000; }
    proxy_http_version 1.1; proxy_ssl_session_reuse on;
    server {
        listen 127.0.0.1:${PORT[nginx]} ssl;
        location / { proxy_pass https://app; proxy_set_header Host app.bench.localhost; proxy_set_header Connection ""; }
    }
}
CONF
nginx -c "$dir/nginx.conf" & ngpid=$!; pids+=($ngpid)
sleep 1
PID[nginx]="$ngpid,$(pgrep -P $ngpid | paste -sd,)"
echo "| round | proxy | req/s | proxy CPU µs/req |"
echo "|---:|---|---:|---:|"
for round in $(seq "${ROUNDS:-2}"); do
	for m in raw front h1 nginx; do
		perf stat -x, -e task-clock -p "${PID[$m]}" -o "$dir/stat" -- sleep "${DUR:-5}" &
		sp=$!
		out=$(wrk -t2 -c32 -d"${DUR:-5}"s "https://127.0.0.1:${PORT[$m]}/data.json")
		wait $sp
		rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
		ms=$(awk -F, '/task-clock/ {print $1}' "$dir/stat")
		printf '| %s | %s | %.0f | %.1f |\n' "$round" "$m" "$rps" "$(echo "$ms*1000/($rps*${DUR:-5})" | bc -l)"
	done
done
