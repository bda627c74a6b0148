package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/test/testkit"
)

func TestStatusAndVersion(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	var st api.Status
	c.JSON(&st, "status")
	if st.Socket != c.Socket || st.StateDir != c.StateDir || st.PID == 0 {
		t.Errorf("status = %+v", st)
	}
	if _, err := os.Stat(filepath.Join(c.StateDir, "cas.db")); err != nil {
		t.Errorf("no database in the state dir: %v", err)
	}
	out := c.OK("status")
	for _, want := range []string{c.Socket, c.StateDir} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour escapes in non-terminal output:\n%q", out)
	}
	if v := c.OK("version"); !strings.Contains(v, api.Version) {
		t.Errorf("version = %q", v)
	}
}

func TestUnreachableDaemonExitCode(t *testing.T) {
	c := testkit.NewCasd(t, "") // never started
	r := c.Cas("status")
	if r.Code != 3 || !strings.Contains(r.Stderr, "casd is not running") {
		t.Fatalf("exit %d, stderr %q; want 3 and a hint", r.Code, r.Stderr)
	}
	if r := c.Cas("idp", "add"); r.Code != 2 {
		t.Errorf("usage error: exit %d, want 2 (%s)", r.Code, r.Stderr)
	}
}

func TestIdPLifecycleAndBadInput(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	md, _, _ := testkit.IdPMetadata(t, "https://idp.example.com/saml", "https://idp.example.com/sso", 365*24*time.Hour)
	mdFile := testkit.WriteTemp(t, "idp.xml", md)
	c.OK("idp", "add", "corp", "--metadata", mdFile)

	var list []api.IdP
	c.JSON(&list, "idp", "list")
	if len(list) != 1 || list[0].Name != "corp" || list[0].EntityID != "https://idp.example.com/saml" || len(list[0].Certs) != 1 {
		t.Fatalf("idp list = %+v", list)
	}
	if len(list[0].GroupsAttrs) == 0 {
		t.Errorf("default group attributes missing: %+v", list[0])
	}
	var one api.IdP
	c.JSON(&one, "idp", "show", "corp")
	if len(one.SSO) != 2 || one.Certs[0].PEM == "" {
		t.Errorf("idp show = %+v", one)
	}

	expired, _, _ := testkit.IdPMetadata(t, "https://old.example.com", "https://old.example.com/sso", -24*time.Hour)
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"malformed", []string{"idp", "add", "x", "--metadata", testkit.WriteTemp(t, "bad.xml", "<md:EntityDescriptor")}, "metadata"},
		{"no idp descriptor", []string{"idp", "add", "x", "--metadata", testkit.WriteTemp(t, "sp.xml", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`)}, "IDPSSODescriptor"},
		{"expired without force", []string{"idp", "add", "old", "--metadata", testkit.WriteTemp(t, "old.xml", expired)}, "--force"},
		{"duplicate", []string{"idp", "add", "corp", "--metadata", mdFile}, "already exists"},
		{"unreadable file", []string{"idp", "add", "x", "--metadata", "/nonexistent/idp.xml"}, "/nonexistent/idp.xml"},
		{"bad name", []string{"idp", "add", "Bad Name!", "--metadata", mdFile}, "name"},
		{"unknown", []string{"idp", "show", "nope"}, "nope"},
		{"rm unknown", []string{"idp", "rm", "nope"}, "nope"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c.Fails(1, tc.want, tc.args...)
		})
	}
	c.JSON(&list, "idp", "list")
	if len(list) != 1 {
		t.Fatalf("bad input changed the IdPs: %+v", list)
	}
	// --force imports expired metadata with a warning.
	r := c.Cas("idp", "add", "old", "--metadata", testkit.WriteTemp(t, "old2.xml", expired), "--force")
	if r.Code != 0 {
		t.Fatalf("--force: %d %s", r.Code, r.Stderr)
	}
	c.OK("idp", "rm", "old")
	c.OK("idp", "rm", "corp")
	c.JSON(&list, "idp", "list")
	if len(list) != 0 {
		t.Fatalf("after rm: %+v", list)
	}
}

func TestCALifecycleAndBadInput(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	_, caPEM := testkit.RootCAPEM(t, "Corp Device Root")
	c.OK("ca", "add", "corp", "--cert", testkit.WriteTemp(t, "ca.pem", caPEM))
	var list []api.CA
	c.JSON(&list, "ca", "list")
	if len(list) != 1 || !strings.Contains(list[0].Subject, "Corp Device Root") || len(list[0].Fingerprint) != 64 {
		t.Fatalf("ca list = %+v", list)
	}
	c.Fails(1, "CA", "ca", "add", "leaf", "--cert", testkit.WriteTemp(t, "leaf.pem", testkit.LeafPEM(t)))
	c.Fails(1, "cert", "ca", "add", "junk", "--cert", testkit.WriteTemp(t, "junk.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	c.Fails(1, "already exists", "ca", "add", "corp", "--cert", testkit.WriteTemp(t, "ca2.pem", caPEM))
	c.Fails(1, "nope", "ca", "show", "nope")
	c.JSON(&list, "ca", "list")
	if len(list) != 1 {
		t.Fatalf("bad input changed the CAs: %+v", list)
	}
	c.OK("ca", "rm", "corp")
	c.JSON(&list, "ca", "list")
	if len(list) != 0 {
		t.Fatalf("after rm: %+v", list)
	}
}

func TestIPTagsAndBadInput(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	c.OK("iptag", "set", "corporate", "10.0.0.0/8", "2001:db8::/32", "192.168.1.7")
	var tags []api.IPTag
	c.JSON(&tags, "iptag", "list")
	if len(tags) != 1 || strings.Join(tags[0].CIDRs, ",") != "10.0.0.0/8,2001:db8::/32,192.168.1.7/32" {
		t.Fatalf("iptag list = %+v", tags)
	}
	c.Fails(1, "10.0.0.0/33", "iptag", "set", "corporate", "10.0.0.0/33")
	c.Fails(1, "not-an-ip", "iptag", "set", "other", "not-an-ip")
	c.JSON(&tags, "iptag", "list")
	if len(tags) != 1 || len(tags[0].CIDRs) != 3 {
		t.Fatalf("bad input changed the tags: %+v", tags)
	}
	c.Fails(1, "nope", "iptag", "rm", "nope")
	c.OK("iptag", "rm", "corporate")
}

func TestAdminEventsTailFollowAndExport(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	c.OK("iptag", "set", "a", "10.1.0.0/16")
	c.OK("iptag", "set", "b", "10.2.0.0/16")

	var evs []api.Event
	out := c.OK("events", "tail", "--kind", "admin", "--json")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e api.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("tail --json line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	if len(evs) != 2 || evs[0].Action != "iptag.set" || evs[0].Object != "a" || evs[1].Object != "b" {
		t.Fatalf("admin events = %+v", evs)
	}
	if !strings.HasPrefix(evs[0].User, "uid:") {
		t.Errorf("admin event lacks the caller's uid: %+v", evs[0])
	}

	// Follow: a change made after tail -f started arrives on its stdout.
	// casd subscribes before it backfills, so once the two backfilled
	// events are out, the stream is live: no sleeping and hoping.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(testkit.BinDir, "cas"), "events", "tail", "-f", "-n", "2", "--kind", "admin", "--json")
	cmd.Env = c.Env
	stdout, _ := cmd.StdoutPipe()
	var tailErr testkit.LockedBuffer
	cmd.Stderr = &tailErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() api.Event {
		t.Helper()
		select {
		case line := <-lines:
			var e api.Event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("followed line %q: %v", line, err)
			}
			return e
		case <-ctx.Done():
			t.Fatal("no event on the followed stream")
		}
		return api.Event{}
	}
	if a, b := next(), next(); a.Object != "a" || b.Object != "b" {
		t.Fatalf("backfill = %s, %s", a.Object, b.Object)
	}
	c.OK("iptag", "set", "live", "10.9.0.0/16")
	if e := next(); e.Object != "live" {
		t.Fatalf("followed event = %+v", e)
	}

	// casd restarts: tail -f waits for it and resumes after the last event
	// it printed. The change made right after the restart, likely before
	// the follower is back, still arrives, once.
	c.Stop()
	c.Start()
	c.OK("iptag", "set", "restarted", "10.8.0.0/16")
	if e := next(); e.Object != "restarted" {
		t.Fatalf("event after the restart = %+v", e)
	}
	c.OK("iptag", "set", "live2", "10.7.0.0/16")
	if e := next(); e.Object != "live2" {
		t.Fatalf("live event after the restart = %+v", e)
	}
	if !strings.Contains(tailErr.String(), "reconnecting (resuming after event") || !strings.Contains(tailErr.String(), "reconnected to casd") {
		t.Errorf("tail -f's stderr does not tell of the reconnect:\n%s", tailErr.String())
	}

	// The API's resume query: every matching event after an ID, oldest
	// first, whatever -n would have been.
	resumed, err := api.NewClient(c.Socket).Events(ctx, api.EventQuery{Kinds: []string{"admin"}, After: evs[0].ID, HasAfter: true})
	if err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, e := range resumed {
		objs = append(objs, e.Object)
	}
	if want := []string{"b", "live", "restarted", "live2"}; !slices.Equal(objs, want) {
		t.Errorf("events after %d = %v, want %v", evs[0].ID, objs, want)
	}

	// Export as CSV holds the five admin events.
	csvOut := c.OK("events", "export", "--since", "1h", "--format", "csv", "--kind", "admin")
	rows, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, csvOut)
	}
	if len(rows) != 6 || rows[0][0] != "id" {
		t.Fatalf("csv rows = %v", rows)
	}
	jsonl := c.OK("events", "export", "--since", "1h", "--format", "jsonl", "--kind", "admin")
	if n := strings.Count(strings.TrimSpace(jsonl), "\n") + 1; n != 5 {
		t.Fatalf("jsonl export has %d lines:\n%s", n, jsonl)
	}
}

// TestEventsSurviveKill9: every change the API acknowledged is an admin
// event on disk, even when casd is killed without warning right after.
func TestEventsSurviveKill9(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	client := api.NewClient(c.Socket)
	const n = 200
	for i := 0; i < n; i++ {
		if _, err := client.SetIPTag(context.Background(), api.IPTag{Name: fmt.Sprintf("t%d", i), CIDRs: []string{fmt.Sprintf("10.%d.0.0/16", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	c.Kill()
	c.Start()
	evs, err := client.Events(context.Background(), api.EventQuery{Kinds: []string{"admin"}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Object] = true
	}
	for i := 0; i < n; i++ {
		if !seen[fmt.Sprintf("t%d", i)] {
			t.Fatalf("acknowledged change t%d has no event after kill -9 (%d events)", i, len(evs))
		}
	}
}

func TestPrintConfigAndBadConfig(t *testing.T) {
	c := testkit.NewCasd(t, "events:\n  retention: 30d\n")
	cmd := exec.Command(filepath.Join(testkit.BinDir, "casd"), "--config", c.Config, "--print-config")
	cmd.Env = c.Env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "retention: 720h0m0s") || !strings.Contains(string(out), c.Socket) {
		t.Fatalf("--print-config: %v\n%s", err, out)
	}
	bad := testkit.WriteTemp(t, "bad.yaml", "listen: 127.0.0.1:0\nevents:\n  retenion: 3d\n")
	cmd = exec.Command(filepath.Join(testkit.BinDir, "casd"), "--config", bad)
	cmd.Env = c.Env
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown key "events.retenion"`) {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
}

func TestReloadKeepsGoodConfig(t *testing.T) {
	c := testkit.NewCasd(t, "")
	c.Start()
	os.WriteFile(c.Config, []byte("listen: 127.0.0.1:0\nlog_level: debug\nevents:\n  retention: nonsense\n"), 0o600)
	c.Cmd.Process.Signal(syscallHUP)
	waitFor(t, func() bool { return strings.Contains(c.Stderr.String(), "keeping the current configuration") })
	os.WriteFile(c.Config, []byte("listen: 127.0.0.1:0\nlog_level: debug\nevents:\n  retention: 7d\n"), 0o600)
	c.Cmd.Process.Signal(syscallHUP)
	waitFor(t, func() bool { return strings.Contains(c.Stderr.String(), "events.retention") })
	c.OK("status")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met in time")
}
