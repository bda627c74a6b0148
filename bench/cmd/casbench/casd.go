package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

// casd is a casd process with its own state directory and socket.
type casd struct {
	bin, cli string
	dir      string
	port     int
	env      []string
	cmd      *exec.Cmd
	out      *testkit.LockedBuffer
	exited   chan struct{}
}

// startCasd runs casd from binDir on port with state under dir, at the
// default log level (info), and waits until it has started.
func startCasd(binDir, dir string, port int) (*casd, error) {
	c := &casd{bin: filepath.Join(binDir, "casd"), cli: filepath.Join(binDir, "cas"), dir: dir, port: port, out: &testkit.LockedBuffer{}}
	cfg := filepath.Join(dir, "casd.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "listen: 127.0.0.1:%d\n", port), 0o600); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "casd.sock")
	c.env = append(os.Environ(), "CAS_STATE_DIR="+c.stateDir(), "CAS_SOCKET="+sock, "NO_COLOR=1")
	c.cmd = exec.Command(c.bin, "--config", cfg)
	c.cmd.Env = c.env
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start casd: %w", err)
	}
	c.exited = make(chan struct{})
	go func() { c.cmd.Wait(); close(c.exited) }()
	for range 1500 { // 30 s
		select {
		case <-c.exited:
			return nil, fmt.Errorf("casd exited at start:\n%s", c.out.String())
		default:
		}
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			if strings.Contains(c.out.String(), "casd started") {
				return c, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("casd did not start:\n%s", c.out.String())
}

func (c *casd) stateDir() string { return filepath.Join(c.dir, "state") }
func (c *casd) pid() int         { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (c *casd) stop() {
	testkit.Terminate(c.cmd.Process, c.exited, 20*time.Second)
}

// cas runs the CLI against this casd.
func (c *casd) cas(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cli, args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cas %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// client is a browser-like client: a cookie jar, every name dialled on
// 127.0.0.1, casd's internal CA trusted.
func (c *casd) client() (*http.Client, error) {
	caPEM, err := os.ReadFile(filepath.Join(c.stateDir(), "tls-ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no certificate in casd's tls-ca.crt")
	}
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	return &http.Client{Transport: tr, Jar: jar, Timeout: time.Minute}, nil
}

// login posts a Response minted by p for the app to casd's ACS and follows
// casd to the session handoff on the app's proxied host; it returns the
// proxy session cookie's value set for that host.
func (c *casd) login(p *idp, app, entityID, proxiedHost string, hc *http.Client) (string, error) {
	portal := fmt.Sprintf("https://cas.localhost:%d", c.port)
	resp, err := p.mint("alice@example.com", entityID, portal+"/saml/"+app+"/acs")
	if err != nil {
		return "", err
	}
	r, err := hc.PostForm(portal+"/saml/"+app+"/acs", url.Values{"SAMLResponse": {resp}})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	r.Body.Close()
	u, _ := url.Parse(fmt.Sprintf("https://%s:%d/", proxiedHost, c.port))
	for _, ck := range hc.Jar.Cookies(u) {
		if ck.Name == "__cas_session" {
			return ck.Value, nil
		}
	}
	return "", fmt.Errorf("login: no session cookie for %s after %s (%d)", proxiedHost, r.Request.URL, r.StatusCode)
}
