package cli

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

var testStatus = api.Status{
	Version: "1.2.3", PID: 4242, StartedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), UptimeSecs: 2*86400 + 3*3600 + 4*60 + 5.4,
	StateDir: "/var/lib/cas", Database: "/var/lib/cas/cas.db", Socket: "/run/cas/casd.sock", PortalURL: "https://cas.localhost:8443",
	Listeners: []api.Listener{{Name: "api", Addr: "/run/cas/casd.sock"}, {Name: "proxy", Addr: "127.0.0.1:8443"}},
	Counts:    api.Counts{Apps: 2, IdPs: 1, Policies: 5, CAs: 1, IPTags: 3, Events: 123456, Sessions: 7},
}

func TestStatus(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/status", http.StatusOK, testStatus)
	r := run(t, fake.socket, "status")
	wantCode(t, r, ExitOK)
	want := `Version:    1.2.3
PID:        4242
Uptime:     2d3h4m5s (since 2026-11-25T09:00:00Z)
State dir:  /var/lib/cas
Database:   /var/lib/cas/cas.db
Socket:     /run/cas/casd.sock
Portal:     https://cas.localhost:8443
Listeners:  api    /run/cas/casd.sock
            proxy  127.0.0.1:8443
Apps:       2
IdPs:       1
Policies:   5
CAs:        1
IP tags:    3
Sessions:   7
Events:     123456
`
	if r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	r = run(t, fake.socket, "status", "--json")
	var got api.Status
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || got.Counts.Events != 123456 || got.Listeners[1].Addr != "127.0.0.1:8443" {
		t.Errorf("--json: %v %+v", err, got)
	}
}

func TestVersion(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("GET /v0/status", http.StatusOK, testStatus)
	r := run(t, fake.socket, "version")
	wantCode(t, r, ExitOK)
	if want := "cas version " + api.Version + "\ncasd version 1.2.3\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	// The fake sends its version header as api.Version, so no mismatch warning.
	if r.Stderr != "" {
		t.Errorf("stderr = %q", r.Stderr)
	}
}

func TestVersionWithoutDaemon(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no.sock")
	r := run(t, missing, "version")
	wantCode(t, r, ExitOK)
	if want := "cas version " + api.Version + "\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	if !strings.HasPrefix(r.Stderr, "casd: unknown (casd is not running (socket "+missing) {
		t.Errorf("stderr = %q", r.Stderr)
	}
	r = run(t, missing, "version", "--json")
	wantCode(t, r, ExitOK)
	var v VersionInfo
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || v.Client != api.Version || v.Daemon != "" || v.DaemonError == "" {
		t.Errorf("--json: %v %+v", err, v)
	}
}

func TestVersionMismatchWarns(t *testing.T) {
	fake := newFakeCasd(t)
	fake.mux.HandleFunc("GET /v0/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.VersionHeader, "9.9.9")
		writeFakeJSON(w, http.StatusOK, testStatus)
	})
	r := run(t, fake.socket, "status", "--json")
	wantCode(t, r, ExitOK)
	if want := "cas: warning: casd is version 9.9.9, cas is version " + api.Version + "\n"; r.Stderr != want {
		t.Errorf("stderr:\n%s", diff(r.Stderr, want))
	}
}
