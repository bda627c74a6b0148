package daemon

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "casd.yaml", "log_level: warn\nlisten: 127.0.0.1:9001\nevents:\n  retention: 30d\nportal_host: file.example\n")
	fs := pflag.NewFlagSet("casd", pflag.ContinueOnError)
	fs.String("listen", "", "")
	fs.String("state-dir", "", "")
	fs.String("socket", "", "")
	fs.String("log-level", "", "")
	if err := fs.Parse([]string{"--listen", "127.0.0.1:9003"}); err != nil {
		t.Fatal(err)
	}
	env := []string{"CAS_LISTEN=127.0.0.1:9002", "CAS_LOG_LEVEL=error", "CAS_SOCKET_UNRELATED=x", "HOME=/nowhere"}
	cfg, err := LoadConfig(file, true, fs, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9003" {
		t.Errorf("listen = %q, want the flag's", cfg.Listen)
	}
	if cfg.LogLevel != "error" {
		t.Errorf("log_level = %q, want the environment's", cfg.LogLevel)
	}
	if cfg.Events.Retention != 30*24*time.Hour {
		t.Errorf("events.retention = %v, want the file's 30d", cfg.Events.Retention)
	}
	if cfg.PortalHost != "file.example" || cfg.DeviceHost != "device.file.example" || cfg.Suffix != "file.example" {
		t.Errorf("hosts = %q %q %q", cfg.PortalHost, cfg.DeviceHost, cfg.Suffix)
	}
	if cfg.SAML.MaxSkew != 3*time.Minute || cfg.Inspect.MaxBytes != 50<<20 {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, want string
		env              []string
	}{
		{"unknown top key", "listen: 127.0.0.1:1\nlisen: x\n", `line 2: unknown key "lisen"`, nil},
		{"unknown nested key", "events:\n  retension: 3d\n", `unknown key "events.retension"`, nil},
		{"bad duration", "events:\n  retention: forever\n", `invalid duration "forever"`, nil},
		{"short retention", "events:\n  retention: 5m\n", "events.retention", nil},
		{"bad level", "log_level: loud\n", "log_level", nil},
		{"bad listen", "listen: nowhere\n", "listen", nil},
		{"bad mapping", "host_mapping: sideways\n", "host_mapping", nil},
		{"bad portal", "portal_host: 'not a host'\n", "portal_host", nil},
		{"bad trusted proxy", "trusted_proxies: [10.0.0.0/99]\n", "trusted_proxies", nil},
		{"tls half", "tls:\n  cert: /x.pem\n", "tls: cert and key go together", nil},
		{"bad size", "inspect:\n  max_bytes: lots\n", `invalid size "lots"`, nil},
		{"bad env value", "", "log_level", []string{"CAS_LOG_LEVEL=chatty"}},
		{"not a mapping", "events: 3\n", "events must be a mapping", nil},
		{"bad forwarded_for", "session:\n  forwarded_for: sometimes\n", "session.forwarded_for", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := writeFile(t, "casd.yaml", tc.yaml)
			_, err := LoadConfig(file, true, nil, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestConfigFileMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := LoadConfig(missing, true, nil, nil); err == nil {
		t.Error("an explicit missing file must be an error")
	}
	if _, err := LoadConfig(missing, false, nil, nil); err != nil {
		t.Errorf("the default file may be absent: %v", err)
	}
}

func TestConfigSizesAndDays(t *testing.T) {
	file := writeFile(t, "casd.yaml", "inspect:\n  max_bytes: 10MiB\nsession:\n  max_lifetime: 14d\n")
	cfg, err := LoadConfig(file, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Inspect.MaxBytes != 10<<20 || cfg.Session.MaxLifetime != 14*24*time.Hour {
		t.Errorf("got %d %v", cfg.Inspect.MaxBytes, cfg.Session.MaxLifetime)
	}
	// The printed configuration loads back to the same values.
	again, err := LoadConfig(writeFile(t, "printed.yaml", string(cfg.YAML())), true, nil, nil)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, cfg.YAML())
	}
	if d := cfg.diff(again); len(d) != 0 {
		t.Errorf("printed config differs on %v", d)
	}
}

func TestConfigUAThresholds(t *testing.T) {
	file := writeFile(t, "casd.yaml", "ua:\n  min_browser:\n    Chrome: 130\n  min_os:\n    macOS: \"13.1\"\n")
	cfg, err := LoadConfig(file, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ua, err := cfg.UA.policyConfig()
	if err != nil {
		t.Fatal(err)
	}
	if ua.MinBrowser["Chrome"] != 130 || ua.MinOS["macOS"].Major != 13 || ua.MinOS["macOS"].Minor != 1 || ua.MinBrowser["Firefox"] == 0 {
		t.Fatalf("thresholds = %+v", ua)
	}
	for _, bad := range []string{"ua:\n  min_browser:\n    Netscape: 4\n", "ua:\n  min_os:\n    iOS: sixteen\n"} {
		if _, err := LoadConfig(writeFile(t, "bad.yaml", bad), true, nil, nil); err == nil || !strings.Contains(err.Error(), "ua.min_") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestSourceIPTrustsOnlyConfiguredProxies(t *testing.T) {
	file := writeFile(t, "casd.yaml", "trusted_proxies: [10.0.0.0/8, 192.0.2.1]\n")
	cfg, err := LoadConfig(file, true, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{}
	d.cfg.Store(cfg)
	cases := []struct{ remote, xff, want string }{
		{"203.0.113.9:1", "1.2.3.4", "203.0.113.9"},                       // untrusted peer: its header is ignored
		{"10.1.1.1:1", "198.51.100.7", "198.51.100.7"},                    // trusted load balancer
		{"10.1.1.1:1", "6.6.6.6, 198.51.100.7, 10.2.2.2", "198.51.100.7"}, // rightmost untrusted hop
		{"192.0.2.1:1", "not-an-ip", "192.0.2.1"},                         // garbage stops the walk
		{"[::ffff:10.1.1.1]:1", "198.51.100.8", "198.51.100.8"},           // v4-mapped peer
	}
	for _, c := range cases {
		r := &http.Request{RemoteAddr: c.remote, Header: http.Header{"X-Forwarded-For": {c.xff}}}
		if got := d.sourceIP(r).String(); got != c.want {
			t.Errorf("%s with X-Forwarded-For %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}
