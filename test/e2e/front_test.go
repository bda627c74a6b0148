package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cas-proxy/cas/test/testkit"
)

// TestWebSocketThroughCasd: a browser opens WebSockets over HTTP/1.1 (casd's
// front server hands the connection to the session proxy, which tunnels it
// to the app); without a session the upgrade is not tunnelled.
func TestWebSocketThroughCasd(t *testing.T) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	b := testkit.NewBrowserProto(t, "http/1.1", ca)
	demoSession(t, d, b, "alice")
	wsURL := "wss://" + testkit.Proxied(testkit.DemoMyHost) + ":" + strconv.Itoa(d.Port) + "/cometd/ws"
	origin := d.URL(testkit.Proxied(testkit.DemoLightHost), "")

	resp, ws := dialWS(t, ca, d.Port, b, wsURL, origin)
	if ws == nil {
		t.Fatalf("handshake through casd: %s", resp.Status)
	}
	ws.Send(t, true, 0x1, []byte("hello through casd"))
	if op, p := ws.Recv(t); op != 0x1 || string(p) != "hello through casd" {
		t.Fatalf("echo: op %d %q", op, p)
	}
	big := bytes.Repeat([]byte("0123456789"), 20000) // 200,000 bytes: a 64-bit length
	ws.Send(t, true, 0x2, big)
	if op, p := ws.Recv(t); op != 0x2 || !bytes.Equal(p, big) {
		t.Fatalf("big echo: op %d, %d bytes", op, len(p))
	}

	// No session cookie: casd answers itself (a login redirect), the app
	// never sees the upgrade.
	anon := testkit.NewBrowserProto(t, "http/1.1", ca)
	resp, ws = dialWS(t, ca, d.Port, anon, wsURL, origin)
	if ws != nil || resp.StatusCode == http.StatusSwitchingProtocols {
		t.Fatalf("upgrade without a session: %s", resp.Status)
	}
}

// TestHTTP1KeepAliveAndPipelining: several requests on one HTTP/1.1
// connection to a proxied host, the second sent before the first answer is
// read, each answered in order with its own page.
func TestHTTP1KeepAliveAndPipelining(t *testing.T) {
	d := testkit.StartDemo(t)
	ca := testkit.CasdCA(t, d.StateDir)
	b := testkit.NewBrowserProto(t, "http/1.1", ca)
	demoSession(t, d, b, "alice")
	host := testkit.Proxied(testkit.DemoMyHost)
	conn := dialCasd(t, ca, d.Port, host)
	cookies := cookieHeader(b, "https://"+host+"/")
	paths := []string{"/home/home.jsp", "/00O000000000001", "/home/home.jsp"}
	titles := []string{`id="home-title"`, `id="report-title"`, `id="home-title"`}
	var reqs bytes.Buffer
	for _, p := range paths {
		reqs.WriteString("GET " + p + " HTTP/1.1\r\nHost: " + host + ":" + strconv.Itoa(d.Port) + "\r\nCookie: " + cookies + "\r\n\r\n")
	}
	if _, err := conn.Write(reqs.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	for i, p := range paths {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response to %s: %v", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("%s: %d close=%v err=%v\n%.300s", p, resp.StatusCode, resp.Close, err, body)
		}
		if !bytes.Contains(body, []byte(titles[i])) {
			t.Errorf("response %d is not %s's page (want %s):\n%.300s", i+1, p, titles[i], body)
		}
		if m := unmappedAppHost.Find(body); m != nil {
			t.Errorf("%s: app host left unmapped: %s", p, m)
		}
	}
}

// unmappedAppHost is a demo app host name not followed by casd's suffix.
var unmappedAppHost = regexp.MustCompile(`[a-z0-9.-]*demo-salesforce\.localhost\b(?:[^.]|$)`)

func dialCasd(t *testing.T, caPEM []byte, port int, host string) *tls.Conn {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{ServerName: host, RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("negotiated %q", p)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return conn
}

func cookieHeader(b *testkit.Browser, u string) string {
	pu, _ := url.Parse(u)
	req := &http.Request{Header: http.Header{}}
	for _, c := range b.Jar.Cookies(pu) {
		req.AddCookie(c)
	}
	return req.Header.Get("Cookie")
}

// dialWS opens a WebSocket through casd with b's cookies and the Origin a
// browser would send; on 101 it returns the connection.
func dialWS(t *testing.T, caPEM []byte, port int, b *testkit.Browser, u, origin string) (*http.Response, *testkit.WSConn) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	conn := dialCasd(t, caPEM, port, pu.Hostname())
	return testkit.DialWS(t, conn, u, origin, cookieHeader(b, "https://"+pu.Host+"/"))
}
