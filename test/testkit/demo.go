package testkit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Demo is a casd --demo with its own state and port.
type Demo struct {
	*Casd
	Port      int
	Passwords map[string]string
}

// StartDemo runs casd --demo on a free loopback port with a fresh state;
// extraConfig is added to its configuration file.
func StartDemo(t *testing.T, extraConfig ...string) *Demo {
	t.Helper()
	port := FreePort(t)
	c := NewCasd(t, fmt.Sprintf("listen: 127.0.0.1:%d\n", port)+strings.Join(extraConfig, ""))
	c.Args = []string{"--demo", "--demo-state", c.StateDir}
	c.Start()
	b, err := os.ReadFile(filepath.Join(c.StateDir, "demo-users.json"))
	if err != nil {
		t.Fatalf("demo users: %v", err)
	}
	d := &Demo{Casd: c, Port: port, Passwords: map[string]string{}}
	if err := json.Unmarshal(b, &d.Passwords); err != nil {
		t.Fatal(err)
	}
	return d
}

// URL returns https://host:port + path for a demo host.
func (d *Demo) URL(host, path string) string {
	return fmt.Sprintf("https://%s:%d%s", host, d.Port, path)
}

// Proxied is the proxied name of a demo app host (suffix mapping).
func Proxied(host string) string { return host + ".cas.localhost" }

// Demo hosts.
const (
	DemoIdPHost   = "idp.demo.localhost"
	DemoMyHost    = "acme.my.demo-salesforce.localhost"
	DemoLightHost = "acme.lightning.demo-salesforce.localhost"
	DemoFileHost  = "acme.file.demo-salesforce.localhost"
)
