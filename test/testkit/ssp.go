package testkit

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cas-proxy/cas/pki"
)

// SSPWWW is Debian's SimpleSAMLphp document root.
const SSPWWW = "/usr/share/simplesamlphp/www"

// SSP is a SimpleSAMLphp IdP (Debian's package) served by `php -S` on
// loopback, with its own configuration directory: /etc is left alone, and
// several can run at once.
type SSP struct {
	Port     int
	Base     string // http://127.0.0.1:PORT/
	EntityID string
	SSOURL   string
	Dir      string
	cmd      *exec.Cmd
}

// RequireSSP fails under CI and skips locally when SimpleSAMLphp or PHP is
// missing.
func RequireSSP(t *testing.T) {
	t.Helper()
	RequireTool(t, "php", "apt-get install php-cli")
	if _, err := os.Stat(SSPWWW); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SimpleSAMLphp is missing (%v); make test installs it", err)
		}
		t.Skip("SimpleSAMLphp is missing; run make test (scripts/test-deps.sh installs it)")
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// SSPUser is one of the IdP's users.
type SSPUser struct {
	Name, Password, Email string
	Groups                []string
}

// DefaultSSPUsers are alice (groups sales, users) and bob (contractors).
var DefaultSSPUsers = []SSPUser{
	{"alice", "alicepass", "alice@example.com", []string{"sales", "users"}},
	{"bob", "bobpass", "bob@example.com", []string{"contractors"}},
}

// StartSSP configures and starts SimpleSAMLphp as an IdP for one SP
// (spEntityID, posting to spACS), and stops it when the test ends.
func StartSSP(t *testing.T, spEntityID, spACS string) *SSP {
	t.Helper()
	RequireSSP(t)
	dir := t.TempDir()
	port := FreePort(t)
	s := &SSP{Port: port, Base: fmt.Sprintf("http://127.0.0.1:%d/", port), Dir: dir}
	s.EntityID = s.Base + "saml2/idp/metadata.php"
	s.SSOURL = s.Base + "saml2/idp/SSOService.php"
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{etc, filepath.Join(etc, "cert"), filepath.Join(etc, "metadata"), filepath.Join(dir, "log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "sessions")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's config.php, with the overrides the interop recipe verified.
	orig, err := os.ReadFile("/etc/simplesamlphp/config.php.orig")
	if err != nil {
		orig, err = os.ReadFile("/etc/simplesamlphp/config.php")
	}
	if err != nil {
		t.Fatalf("read Debian's SimpleSAMLphp config: %v", err)
	}
	// Its attribute maps and the like come along.
	for _, sub := range []string{"attributemap"} {
		exec.Command("cp", "-a", "/etc/simplesamlphp/"+sub, etc).Run()
	}
	overrides := fmt.Sprintf(`
// ---- cas interop overrides ----
$config['baseurlpath'] = '%[1]s';
$config['certdir'] = '%[2]s/cert/';
$config['metadatadir'] = '%[2]s/metadata/';
$config['loggingdir'] = '%[3]s/log/';
$config['logging.handler'] = 'file';
$config['logging.logfile'] = 'simplesamlphp.log';
$config['tempdir'] = '%[3]s/tmp';
$config['session.phpsession.savepath'] = '%[3]s/sessions';
$config['enable.saml20-idp'] = true;
$config['module.enable']['exampleauth'] = true;
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = null;
$config['timezone'] = 'UTC';
$config['trusted.url.domains'] = ['127.0.0.1', 'localhost', '127.0.0.1:%[4]d'];
$config['auth.adminpassword'] = 'adminpass';
$config['secretsalt'] = 'cas-interop-secret-salt';
`, s.Base, etc, dir, port)
	config := strings.Replace(string(orig), "require_once('/var/lib/simplesamlphp/secrets.inc.php');", "", 1) + overrides
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.php", config)
	var users strings.Builder
	for _, u := range DefaultSSPUsers {
		fmt.Fprintf(&users, "        '%s:%s' => ['uid' => ['%s'], 'email' => ['%s'], 'displayName' => ['%s'], 'groups' => [", u.Name, u.Password, u.Name, u.Email, strings.ToUpper(u.Name[:1])+u.Name[1:])
		for i, g := range u.Groups {
			if i > 0 {
				users.WriteString(", ")
			}
			fmt.Fprintf(&users, "'%s'", g)
		}
		users.WriteString("]],\n")
	}
	write("authsources.php", "<?php\n$config = [\n    'admin' => ['core:AdminPassword'],\n    'example-userpass' => [\n        'exampleauth:UserPass',\n"+users.String()+"    ],\n];\n")
	certPEM, keyPEM, _, err := pki.NewSigningCert("SimpleSAMLphp interop IdP", 2048, 365*24*time.Hour, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	write("cert/idp.crt", string(certPEM))
	write("cert/idp.key", string(keyPEM))
	write("metadata/saml20-idp-hosted.php", fmt.Sprintf(`<?php
$metadata['%s'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
];
`, s.EntityID))
	s.SetSP(t, spEntityID, spACS)

	logf, err := os.Create(filepath.Join(dir, "log", "php-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command("php", "-S", "127.0.0.1:"+strconv.Itoa(port), "-t", SSPWWW)
	s.cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+etc, "PHP_CLI_SERVER_WORKERS=4")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Its own process group, so the workers go with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		s.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.EntityID)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "php-server.log"))
			t.Fatalf("SimpleSAMLphp did not start: %v\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SetSP (re)configures the SP the IdP serves; SimpleSAMLphp reads metadata
// on every request.
func (s *SSP) SetSP(t *testing.T, spEntityID, spACS string) {
	t.Helper()
	content := fmt.Sprintf(`<?php
$metadata['%s'] = [
    'AssertionConsumerService' => [
        ['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => '%s', 'index' => 0],
    ],
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    'simplesaml.nameidattribute' => 'email',
    'simplesaml.attributes' => true,
];
`, spEntityID, spACS)
	if err := os.WriteFile(filepath.Join(s.Dir, "etc", "metadata", "saml20-sp-remote.php"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Metadata returns the IdP's metadata XML.
func (s *SSP) Metadata(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(s.EntityID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// IdPInitiatedURL is where a user starts an IdP-initiated login to sp.
func (s *SSP) IdPInitiatedURL(spEntityID, relayState string) string {
	u := s.SSOURL + "?spentityid=" + urlQueryEscape(spEntityID)
	if relayState != "" {
		u += "&RelayState=" + urlQueryEscape(relayState)
	}
	return u
}
