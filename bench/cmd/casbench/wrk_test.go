package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	const out = `Running 10s test @ https://app.bench.localhost.cas.localhost:40111/page.html
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.63ms    4.93ms  71.45ms   75.14%
    Req/Sec     1.53k   150.11     1.90k    71.00%
  Latency Distribution
     50%    9.87ms
     75%   12.79ms
     90%   16.52ms
     99%  750.00us
  30512 requests in 10.01s, 2.92GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   3048.20
Transfer/sec:    298.91MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkRun{ReqPerSec: 3048.20, BytesPerSec: 298.91 * (1 << 20), Requests: 30512, BytesRead: 2.92 * (1 << 30), P50: 9870 * time.Microsecond, P99: 750 * time.Microsecond, Non2xx: 4, SocketErrs: 3}
	r.Output = ""
	if r != want {
		t.Errorf("parseWrk = %+v\nwant %+v", r, want)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("parseWrk accepted a failed run")
	}
}
