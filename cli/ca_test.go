package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cas-proxy/cas/api"
)

const testPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

var testCA = api.CA{
	Name: "pilot", Subject: "CN=cas device CA pilot", Fingerprint: "0123456789abcdef0123456789abcdef", Serial: "7f",
	NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
	HasKey: true, PEM: testPEM, CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
}

func TestCAAdd(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/cas", http.StatusCreated, testCA)
	dir := t.TempDir()
	cert, crl := filepath.Join(dir, "root.pem"), filepath.Join(dir, "root.crl")
	os.WriteFile(cert, []byte(testPEM), 0o644)
	os.WriteFile(crl, []byte("crl"), 0o644)

	r := run(t, fake.socket, "ca", "add", "pilot", "--cert", cert, "--crl", crl)
	wantCode(t, r, ExitOK)
	if want := "Added CA pilot (CN=cas device CA pilot, SHA-256 0123456789abcdef0123456789abcdef)\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	var req api.AddCARequest
	fake.only("POST", "/v0/cas").Decode(t, &req)
	if want := (api.AddCARequest{Name: "pilot", CertPEM: testPEM, CRLPath: crl}); req != want {
		t.Errorf("request = %+v, want %+v", req, want)
	}

	r = run(t, fake.socket, "ca", "add", "pilot", "--cert", filepath.Join(dir, "nope.pem"))
	wantCode(t, r, ExitError)
	if !strings.Contains(r.Stderr, "nope.pem") {
		t.Errorf("stderr does not name the file: %q", r.Stderr)
	}
	wantCode(t, run(t, fake.socket, "ca", "add", "pilot"), ExitUsage)
}

func TestCAListShow(t *testing.T) {
	fake := newFakeCasd(t)
	listed := testCA
	listed.PEM = ""
	fake.reply("GET /v0/cas", http.StatusOK, []api.CA{listed})
	fake.reply("GET /v0/cas/pilot", http.StatusOK, testCA)

	r := run(t, fake.socket, "ca", "list")
	want := `NAME   SUBJECT                 EXPIRES     SHA-256            CRL  KEY
pilot  CN=cas device CA pilot  2036-01-01  0123456789abcdef…  -    yes
`
	if r.Stdout != want {
		t.Errorf("list:\n%s", diff(r.Stdout, want))
	}
	r = run(t, fake.socket, "ca", "show", "pilot", "--pem")
	if r.Stdout != testPEM {
		t.Errorf("--pem:\n%s", diff(r.Stdout, testPEM))
	}
	r = run(t, fake.socket, "ca", "show", "pilot")
	want = `Name:       pilot
Subject:    CN=cas device CA pilot
Serial:     7f
Valid:      2026-01-01T00:00:00Z to 2036-01-01T00:00:00Z
SHA-256:    0123456789abcdef0123456789abcdef
CRL:        -
Can issue:  yes
Added:      2026-11-01T00:00:00Z
`
	if r.Stdout != want {
		t.Errorf("show:\n%s", diff(r.Stdout, want))
	}
	wantCode(t, run(t, fake.socket, "ca", "show", "pilot", "--pem", "--json"), ExitUsage)
}

func TestCACreateWritesCert(t *testing.T) {
	fake := newFakeCasd(t)
	fake.reply("POST /v0/cas", http.StatusCreated, testCA)
	dir := t.TempDir()
	r := run(t, fake.socket, "ca", "create", "pilot", "--out", dir)
	wantCode(t, r, ExitOK)
	path := filepath.Join(dir, "pilot.crt")
	if got, _ := os.ReadFile(path); string(got) != testPEM {
		t.Errorf("%s = %q", path, got)
	}
	if want := "Created CA pilot (CN=cas device CA pilot)\nWrote " + path + "\n"; r.Stdout != want {
		t.Errorf("stdout:\n%s", diff(r.Stdout, want))
	}
	var req api.AddCARequest
	fake.only("POST", "/v0/cas").Decode(t, &req)
	if want := (api.AddCARequest{Name: "pilot", Create: true}); req != want {
		t.Errorf("request = %+v", req)
	}
	// A missing --out directory is refused before anything is created.
	r = run(t, fake.socket, "ca", "create", "other", "--out", filepath.Join(dir, "missing"))
	wantCode(t, r, ExitError)
	if n := len(fake.requests("POST", "/v0/cas")); n != 1 {
		t.Errorf("%d create requests, want 1", n)
	}
}

func TestCAIssueWritesPrivateFiles(t *testing.T) {
	fake := newFakeCasd(t)
	issued := api.IssuedDevice{
		Device: "alice-laptop", Cert: api.CertInfo{Serial: "99", NotAfter: time.Date(2027, 11, 27, 0, 0, 0, 0, time.UTC)},
		CertPEM: testPEM, KeyPEM: "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----", PKCS12: []byte{0x30, 0x82, 0x01},
	}
	fake.reply("POST /v0/cas/{name}/issue", http.StatusCreated, issued)
	dir := t.TempDir()
	out := filepath.Join(dir, "alice.p12")
	os.WriteFile(filepath.Join(dir, "alice.key"), []byte("old"), 0o644) // an existing file is tightened too

	r := run(t, fake.socket, "ca", "issue", "pilot", "--device", "alice-laptop", "--out", out, "--password", "pw", "--days", "30")
	wantCode(t, r, ExitOK)
	files := map[string]string{
		"alice.p12": "\x30\x82\x01",
		"alice.pem": testPEM,
		"alice.key": "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n",
	}
	for name, want := range files {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, st.Mode().Perm())
		}
	}
	var req api.IssueDeviceRequest
	fake.only("POST", "/v0/cas/pilot/issue").Decode(t, &req)
	if want := (api.IssueDeviceRequest{Device: "alice-laptop", Password: "pw", Days: 30}); req != want {
		t.Errorf("request = %+v", req)
	}
	r = run(t, fake.socket, "ca", "issue", "pilot", "--device", "d", "--out", filepath.Join(dir, "d.p12"), "--json")
	wantCode(t, r, ExitOK)
	if strings.Contains(r.Stdout, "PRIVATE KEY") {
		t.Errorf("--json prints the private key:\n%s", r.Stdout)
	}
	var got struct{ Files []string }
	json.Unmarshal([]byte(r.Stdout), &got)
	if want := []string{filepath.Join(dir, "d.p12"), filepath.Join(dir, "d.pem"), filepath.Join(dir, "d.key")}; !reflect.DeepEqual(got.Files, want) {
		t.Errorf("files = %v, want %v", got.Files, want)
	}
}

func TestCAIssueUsage(t *testing.T) {
	wantCode(t, run(t, "/nonexistent.sock", "ca", "issue", "pilot", "--out", "x.p12"), ExitUsage)
	wantCode(t, run(t, "/nonexistent.sock", "ca", "issue", "pilot", "--device", "d"), ExitUsage)
}

func TestIssuedFiles(t *testing.T) {
	for in, want := range map[string][3]string{
		"a.p12":     {"a.p12", "a.pem", "a.key"},
		"dir/b.PFX": {"dir/b.PFX", "dir/b.pem", "dir/b.key"},
		"c":         {"c.p12", "c.pem", "c.key"},
	} {
		p, c, k := issuedFiles(in)
		if [3]string{p, c, k} != want {
			t.Errorf("issuedFiles(%q) = %v, want %v", in, [3]string{p, c, k}, want)
		}
	}
}

func TestIPTag(t *testing.T) {
	fake := newFakeCasd(t)
	tag := api.IPTag{Name: "corporate", CIDRs: []string{"203.0.113.0/24", "2001:db8::/32"}, UpdatedAt: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
	fake.reply("PUT /v0/iptags/{name}", http.StatusOK, tag)
	fake.reply("GET /v0/iptags", http.StatusOK, []api.IPTag{tag})
	fake.fail("DELETE /v0/iptags/{name}", http.StatusConflict, api.CodeConflict, `ip tag "corporate" is used by policy "office"`)

	r := run(t, fake.socket, "iptag", "set", "corporate", "203.0.113.0/24,2001:db8::/32")
	wantCode(t, r, ExitOK)
	if want := "Set IP tag corporate: 203.0.113.0/24, 2001:db8::/32\n"; r.Stdout != want {
		t.Errorf("set:\n%s", diff(r.Stdout, want))
	}
	var sent api.IPTag
	fake.only("PUT", "/v0/iptags/corporate").Decode(t, &sent)
	if !reflect.DeepEqual(sent.CIDRs, tag.CIDRs) {
		t.Errorf("sent %v", sent.CIDRs)
	}
	r = run(t, fake.socket, "iptag", "list")
	if want := "NAME       CIDRS                         UPDATED\ncorporate  203.0.113.0/24,2001:db8::/32  2026-11-02T00:00:00Z\n"; r.Stdout != want {
		t.Errorf("list:\n%s", diff(r.Stdout, want))
	}
	r = run(t, fake.socket, "iptag", "rm", "corporate")
	wantCode(t, r, ExitError)
	if r.Stderr != "cas: ip tag \"corporate\" is used by policy \"office\"\n" {
		t.Errorf("rm stderr = %q", r.Stderr)
	}
	wantCode(t, run(t, fake.socket, "iptag", "set", "corporate"), ExitUsage)
}
