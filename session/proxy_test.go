package session

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/andybalholm/brotli"
)

type fakeSessions map[string]Session

func (f fakeSessions) Lookup(_ *http.Request, c string) (Session, bool, error) {
	if c == "broken" {
		return Session{}, false, errors.New("store down")
	}
	s, ok := f[c]
	return s, ok, nil
}

type deciderFunc func(s Session, r *http.Request, a Activity) Decision

func (f deciderFunc) Decide(_ context.Context, s Session, r *http.Request, a Activity) (Decision, error) {
	return f(s, r, a), nil
}

type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) Record(_ context.Context, e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = append(l.ev, e)
}

func (l *eventLog) all() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.ev...)
}

// routeAll returns a transport that dials addr whatever the host.
func routeAll(addr string) *http.Transport {
	t := NewTransport()
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return t
}

type harness struct {
	t       testing.TB
	app     *fakeApp
	proxy   *Proxy
	events  *eventLog
	client  *http.Client
	decide  func(a Activity) Decision
	noSess  []string
	tmp     string
	scanned int
}

func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, app: &fakeApp{}, events: &eventLog{}, tmp: t.TempDir()}
	h.decide = func(Activity) Decision { return Decision{Action: ActionAllow} }
	upstream := httptest.NewServer(h.app)
	t.Cleanup(upstream.Close)
	cfg := Config{
		Rewriter: NewRewriter(mustMapper(t, ModeSuffix)),
		Sessions: fakeSessions{
			"tok-sf":  {ID: "s1", App: "salesforce", User: "alice@corp.example"},
			"tok-box": {ID: "s2", App: "box", User: "alice@corp.example"},
		},
		Decider: deciderFunc(func(_ Session, _ *http.Request, a Activity) Decision { return h.decide(a) }),
		Events:  h.events,
		Scanner: func(_ context.Context, _ Session, _ Activity, body io.ReaderAt, size int64) (Decision, map[string]int, error) {
			h.scanned++
			b, err := io.ReadAll(io.NewSectionReader(body, 0, size))
			if err != nil {
				return Decision{}, nil, err
			}
			if n := bytes.Count(b, []byte("CONFIDENTIAL")); n > 0 {
				return Decision{Action: ActionBlock, Message: "confidential content", Policies: []string{"dlp"}}, map[string]int{"confidential": n}, nil
			}
			return Decision{Action: ActionAllow}, nil, nil
		},
		Patterns:       func(string) AppPatterns { return salesforcePatterns() },
		Transport:      routeAll(upstream.Listener.Addr().String()),
		UpstreamScheme: "http",
		NoSession: func(w http.ResponseWriter, r *http.Request, app string) {
			h.noSess = append(h.noSess, app)
			http.Redirect(w, r, "https://portal.cas.example.net/login?app="+app, http.StatusFound)
		},
		Reserved: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reserved") }),
		TempDir:  h.tmp,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.proxy = p
	front := httptest.NewServer(p)
	t.Cleanup(front.Close)
	tr := routeAll(front.Listener.Addr().String())
	tr.DisableCompression = true
	h.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

func (h *harness) do(method, rawURL string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Cookie", "__cas_session=tok-sf; BrowserId=b1")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, b
}

const sf = "http://acme.my.salesforce.com.cas.example.net"

func TestProxyPage(t *testing.T) {
	h := newHarness(t, nil)
	resp, plain := h.do("GET", sf+"/home", nil, map[string]string{"Sec-Fetch-Dest": "document"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, plain)
	}
	golden(t, "proxy/home", plain)
	if got := resp.Header.Values("Set-Cookie"); len(got) != 2 || !strings.Contains(got[0], "Domain=salesforce.com.cas.example.net;") || got[1] != "__Host-ERIC=1; Path=/; Secure; HttpOnly" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if resp.Header.Get("Etag") != `W/"v1"` {
		t.Errorf("ETag = %q, want the weak form", resp.Header.Get("Etag"))
	}
	if resp.Header.Get("Strict-Transport-Security") != "" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "https://*.force.com.cas.example.net") {
		t.Errorf("security headers not rewritten: %v", resp.Header)
	}
	ev := h.events.all()
	if len(ev) != 1 || ev[0].Activity.Kind != KindView || ev[0].Host != "acme.my.salesforce.com" || ev[0].User != "alice@corp.example" || ev[0].Action != ActionAllow || ev[0].Status != 200 {
		t.Errorf("events = %+v", ev)
	}
	for _, enc := range []string{"gzip", "br"} {
		path := map[string]string{"gzip": "/home.gz", "br": "/home.br"}[enc]
		resp, b := h.do("GET", sf+path, nil, map[string]string{"Accept-Encoding": "gzip, br"})
		if ce := resp.Header.Get("Content-Encoding"); ce != enc {
			t.Fatalf("%s: Content-Encoding %q", enc, ce)
		}
		var r io.Reader
		if enc == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		} else {
			r = brotli.NewReader(bytes.NewReader(b))
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("%s: decoded page differs from the plain rewrite:\n%s", enc, got)
		}
	}
}

func TestProxyRequestRewrite(t *testing.T) {
	h := newHarness(t, nil)
	form := url.Values{"message": {`{"url":"https:\/\/acme.my.salesforce.com.cas.example.net\/x"}`}, "ret": {"https://acme.lightning.force.com.cas.example.net/one"}}
	resp, b := h.do("POST", sf+"/aura?r=1&ret=https%3A%2F%2Facme.my.salesforce.com.cas.example.net%2Fhome", strings.NewReader(form.Encode()), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded",
		"Origin":       "https://acme.my.salesforce.com.cas.example.net",
		"Referer":      "https://acme.lightning.force.com.cas.example.net/one/one.app",
		"Connection":   "X-Hop",
		"X-Hop":        "secret",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var envelope struct{ Seen, Next string }
	if err := json.Unmarshal(b, &envelope); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	raw, _ := base64.StdEncoding.DecodeString(envelope.Seen)
	var seen map[string]string
	if err := json.Unmarshal(raw, &seen); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if envelope.Next != "https://acme.lightning.force.com.cas.example.net/aura?x=1" || !bytes.Contains(b, []byte(`https:\/\/acme.lightning.force.com.cas.example.net\/aura`)) {
		t.Errorf("response JSON not rewritten: %s", b)
	}
	body, _ := url.ParseQuery(seen["body"])
	want := map[string]string{
		"host":    "acme.my.salesforce.com",
		"origin":  "https://acme.my.salesforce.com",
		"referer": "https://acme.lightning.force.com/one/one.app",
		"cookies": "BrowserId",
		"query":   "r=1&ret=https%3A%2F%2Facme.my.salesforce.com%2Fhome",
		"hop":     "",
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("app saw %s = %q, want %q", k, seen[k], v)
		}
	}
	if body.Get("message") != `{"url":"https:\/\/acme.my.salesforce.com\/x"}` || body.Get("ret") != "https://acme.lightning.force.com/one" {
		t.Errorf("app saw body %q", seen["body"])
	}
	if len(h.events.all()) != 0 {
		t.Errorf("an API call made events: %+v", h.events.all())
	}
	resp, _ = h.do("GET", sf+"/redirect", nil, nil)
	if loc := resp.Header.Get("Location"); loc != "https://acme.lightning.force.com.cas.example.net/one/one.app?src=https%3A%2F%2Facme.my.salesforce.com.cas.example.net" {
		t.Errorf("Location = %q", loc)
	}
}

func TestProxyRouting(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name   string
		url    string
		cookie string
		status int
		body   string
		noSess string
	}{
		{"no cookie", sf + "/home", "BrowserId=1", http.StatusFound, "", "salesforce"},
		{"unknown session", sf + "/home", "__cas_session=nope", http.StatusFound, "", "salesforce"},
		{"other app's session", sf + "/home", "__cas_session=tok-box", http.StatusFound, "", "salesforce"},
		{"session of the other app on its host", "http://app.box.com.cas.example.net/none", "__cas_session=tok-box", http.StatusNotFound, "404 page not found\n", ""},
		{"salesforce session on box", "http://app.box.com.cas.example.net/none", "__cas_session=tok-sf", http.StatusFound, "", "box"},
		{"another salesforce host", "http://acme.lightning.force.com.cas.example.net/home", "__cas_session=tok-sf", http.StatusOK, "", ""},
		{"store failure", sf + "/home", "__cas_session=broken", http.StatusInternalServerError, "", ""},
		{"unknown host", "http://www.example.com.cas.example.net/", "__cas_session=tok-sf", http.StatusNotFound, "", ""},
		{"reserved", sf + "/.cas/handoff?code=1", "", http.StatusOK, "reserved", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.noSess = nil
			resp, b := h.do("GET", tt.url, nil, map[string]string{"Cookie": tt.cookie})
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.body != "" && string(b) != tt.body {
				t.Errorf("body %q", b)
			}
			if got := strings.Join(h.noSess, ","); got != tt.noSess {
				t.Errorf("NoSession called for %q, want %q", got, tt.noSess)
			}
		})
	}
}

func TestProxyEnforcement(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	download := sf + "/sfc/servlet.shepherd/version/download/068xx?n=300000&content=hello"
	tests := []struct {
		name     string
		url      string
		decision Decision
		max      int64
		check    func(t *testing.T, resp *http.Response, b []byte)
		action   Action
		reason   string
	}{
		{"allow download", download, Decision{Action: ActionAllow}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			want := append([]byte("hello"), readN(300000)...)
			if !bytes.Equal(b, want) || resp.ContentLength != int64(len(want)) {
				t.Errorf("download altered: %d bytes, Content-Length %d", len(b), resp.ContentLength)
			}
		}, ActionAllow, ""},
		{"block download", download, Decision{Action: ActionBlock, Message: "Downloads are blocked on unmanaged devices."}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if string(b) != "Downloads are blocked on unmanaged devices.\n" || resp.Header.Get("Content-Disposition") != `attachment; filename=contract.pdf.blocked.txt` {
				t.Errorf("got %q, %q", b, resp.Header.Get("Content-Disposition"))
			}
		}, ActionBlock, ""},
		{"block export", sf + "/00O5e000008xyz?export=1&enc=UTF-8&xf=csv", Decision{Action: ActionBlock, Message: "No exports."}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if string(b) != "No exports.\n" || !strings.Contains(resp.Header.Get("Content-Disposition"), `"Pipeline report.csv.blocked.txt"`) {
				t.Errorf("got %q, %q", b, resp.Header.Get("Content-Disposition"))
			}
		}, ActionBlock, ""},
		{"export allowed untouched", sf + "/00O5e000008xyz?export=1&xf=csv", Decision{Action: ActionLog}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if string(b) != "Account,Amount\nacme.my.salesforce.com,100\nGlobex,2000\n" {
				t.Errorf("export altered: %q", b)
			}
		}, ActionLog, ""},
		{"protect", download, Decision{Action: ActionProtect, Recipients: []age.Recipient{id.Recipient()}}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if cd := resp.Header.Get("Content-Disposition"); cd != "attachment; filename=contract.pdf.age" {
				t.Errorf("Content-Disposition %q", cd)
			}
			r, err := age.Decrypt(bytes.NewReader(b), id)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, append([]byte("hello"), readN(300000)...)) {
				t.Error("decrypted file differs from the original")
			}
		}, ActionProtect, ""},
		{"block view", sf + "/home", Decision{Action: ActionBlock, Message: "<No> access"}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if resp.StatusCode != 403 || !strings.Contains(string(b), "&lt;No&gt; access") {
				t.Errorf("status %d, %s", resp.StatusCode, b)
			}
		}, ActionBlock, ""},
		{"inspect hit", sf + "/sfc/servlet.shepherd/version/download/068xx?n=1000&content=CONFIDENTIAL", Decision{Action: ActionAllow, Inspect: true}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if string(b) != "confidential content\n" {
				t.Errorf("got %q", b)
			}
		}, ActionBlock, ""},
		{"inspect miss", sf + "/sfc/servlet.shepherd/version/download/068xx?n=100000&content=public", Decision{Action: ActionAllow, Inspect: true}, 0, func(t *testing.T, resp *http.Response, b []byte) {
			if !bytes.Equal(b, append([]byte("public"), readN(100000)...)) {
				t.Errorf("released file differs (%d bytes)", len(b))
			}
		}, ActionAllow, ""},
		{"inspect over bound", download, Decision{Action: ActionAllow, Inspect: true, Message: "too big to check"}, 1000, func(t *testing.T, resp *http.Response, b []byte) {
			if string(b) != "too big to check\n" {
				t.Errorf("got %q", b)
			}
		}, ActionBlock, "inspection fallback: body larger than 1000 bytes"},
		{"inspect over bound allowed", download, Decision{Action: ActionAllow, Inspect: true, Fallback: ActionAllow}, 1000, func(t *testing.T, resp *http.Response, b []byte) {
			if !bytes.Equal(b, append([]byte("hello"), readN(300000)...)) {
				t.Errorf("fallback allow altered the file (%d bytes)", len(b))
			}
		}, ActionAllow, "inspection fallback: body larger than 1000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.InspectMax = tt.max })
			h.decide = func(Activity) Decision { return tt.decision }
			resp, b := h.do("GET", tt.url, nil, map[string]string{"Sec-Fetch-Dest": "document"})
			tt.check(t, resp, b)
			ev := h.events.all()
			if len(ev) != 1 || ev[0].Action != tt.action || ev[0].Reason != tt.reason {
				t.Errorf("events = %+v", ev)
			}
			if tt.name == "inspect hit" && (ev[0].Hits["confidential"] != 1 || strings.Join(ev[0].Policies, ",") != "dlp") {
				t.Errorf("inspection event = %+v", ev[0])
			}
			if left, _ := os.ReadDir(h.tmp); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

func readN(n int) []byte {
	b, _ := io.ReadAll(io.LimitReader(&patternReader{}, int64(n)))
	return b
}

func TestProxyUpload(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		decision Decision
		max      int64
		status   int
		received int64
		action   Action
	}{
		{"allowed", "plain data", Decision{Action: ActionAllow}, 0, 200, 10 + 200000, ActionAllow},
		{"blocked", "plain data", Decision{Action: ActionBlock, Message: "Uploads are blocked."}, 0, 403, 0, ActionBlock},
		{"protect fails closed", "plain data", Decision{Action: ActionProtect}, 0, 403, 0, ActionBlock},
		{"inspected clean", "plain data", Decision{Action: ActionAllow, Inspect: true}, 0, 200, 10 + 200000, ActionAllow},
		{"inspected hit", "CONFIDENTIAL", Decision{Action: ActionAllow, Inspect: true}, 0, 403, 0, ActionBlock},
		{"over bound blocked", "plain data", Decision{Action: ActionAllow, Inspect: true}, 5000, 403, 0, ActionBlock},
		{"over bound allowed", "plain data", Decision{Action: ActionAllow, Inspect: true, Fallback: ActionLog}, 5000, 200, 10 + 200000, ActionLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.InspectMax = tt.max })
			var got Activity
			h.decide = func(a Activity) Decision { got = a; return tt.decision }
			ct, body := multipartBody(t, 10, "plan.txt", append([]byte(tt.content), readN(200000)...))
			resp, b := h.do("POST", sf+"/upload", bytes.NewReader(body), map[string]string{"Content-Type": ct})
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if n := h.app.uploads.Load(); n != tt.received {
				t.Errorf("app received %d bytes, want %d", n, tt.received)
			}
			if got.Kind != KindUpload || got.FileName != "plan.txt" {
				t.Errorf("activity %+v", got)
			}
			if ev := h.events.all(); len(ev) != 1 || ev[0].Action != tt.action || ev[0].Status != tt.status {
				t.Errorf("events %+v", ev)
			}
			if tt.status == 403 && tt.decision.Message != "" && !strings.Contains(string(b), tt.decision.Message) {
				t.Errorf("block message missing: %q", b)
			}
			if left, _ := os.ReadDir(h.tmp); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

func TestProxyWebSocket(t *testing.T) {
	h := newHarness(t, nil)
	tr := h.client.Transport.(*http.Transport)
	conn, err := tr.DialContext(context.Background(), "tcp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: acme.my.salesforce.com.cas.example.net\r\n"+
		"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Origin: https://acme.my.salesforce.com.cas.example.net\r\nCookie: __cas_session=tok-sf\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("handshake: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	io.WriteString(conn, "frame bytes\n")
	line, err := br.ReadString('\n')
	if err != nil || line != "echo: frame bytes\n" {
		t.Errorf("echo = %q, %v", line, err)
	}
}

// TestProxyMemoryBounded sends 64 MiB bodies through the handler (copied,
// rewritten, protected and inspected) and checks that what was allocated
// meanwhile is a small fraction of the body: nothing holds it whole.
func TestProxyMemoryBounded(t *testing.T) {
	const size = 64 << 20
	id, _ := age.GenerateX25519Identity()
	page := samplePage(1 << 20)
	tests := []struct {
		name     string
		header   http.Header
		body     func() io.Reader
		decision Decision
	}{
		{"download", http.Header{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {"attachment"}},
			func() io.Reader { return io.LimitReader(zeroReader{}, size) }, Decision{Action: ActionAllow}},
		{"protected download", http.Header{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {"attachment"}},
			func() io.Reader { return io.LimitReader(zeroReader{}, size) }, Decision{Action: ActionProtect, Recipients: []age.Recipient{id.Recipient()}}},
		{"inspected download", http.Header{"Content-Type": {"application/octet-stream"}, "Content-Disposition": {"attachment"}},
			func() io.Reader { return io.LimitReader(zeroReader{}, size) }, Decision{Action: ActionAllow, Inspect: true}},
		{"rewritten html", http.Header{"Content-Type": {"text/html"}},
			func() io.Reader {
				rs := make([]io.Reader, 64)
				for i := range rs {
					rs[i] = bytes.NewReader(page)
				}
				return io.MultiReader(rs...)
			}, Decision{Action: ActionAllow}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			p, err := New(Config{
				Rewriter:  NewRewriter(mustMapper(t, ModeSuffix)),
				Sessions:  fakeSessions{"tok-sf": {ID: "s1", App: "salesforce"}},
				Decider:   deciderFunc(func(Session, *http.Request, Activity) Decision { return tt.decision }),
				Events:    &eventLog{},
				Transport: &cannedTransport{header: tt.header, body: tt.body, size: -1},
				Scanner: func(_ context.Context, _ Session, _ Activity, body io.ReaderAt, size int64) (Decision, map[string]int, error) {
					_, err := io.Copy(io.Discard, io.NewSectionReader(body, 0, size))
					return Decision{Action: ActionAllow}, nil, err
				},
				InspectMax: 100 << 20,
				TempDir:    tmp,
			})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", sf+"/f", nil)
			r.Header.Set("Cookie", "__cas_session=tok-sf")
			r.Header.Set("Sec-Fetch-Dest", "document")
			w := &discardWriter{h: http.Header{}}
			grown := heapGrowth(func() { p.ServeHTTP(w, r) })
			if w.n < size {
				t.Fatalf("only %d bytes delivered (status %d)", w.n, w.code)
			}
			if grown > 8<<20 {
				t.Errorf("allocated %d bytes for a %d-byte body", grown, w.n)
			}
			t.Logf("allocated %d KiB for %d MiB", grown>>10, w.n>>20)
		})
	}
}

// TestProxyTruncatedUpstream checks that a body cut off by the app reaches
// the client as an error, not as a complete shorter file.
func TestProxyTruncatedUpstream(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Transport = &cannedTransport{
			header: http.Header{"Content-Type": {"text/html"}},
			body: func() io.Reader {
				return io.MultiReader(bytes.NewReader(samplePage(100<<10)), iotestErrReader{})
			},
			size: -1,
		}
	})
	req, _ := http.NewRequest("GET", sf+"/home", nil)
	req.Header.Set("Cookie", "__cas_session=tok-sf")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("truncated body read without error")
	}
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestProxyOddEncodings checks that an empty encoded body and a body that
// is not the gzip its header claims pass untouched instead of failing.
func TestProxyOddEncodings(t *testing.T) {
	tests := []struct {
		name, enc, body string
	}{
		{"empty gzip", "gzip", ""},
		{"empty br", "br", ""},
		{"plain claiming gzip", "gzip", "<p>acme.my.salesforce.com</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.Transport = &cannedTransport{
					header: http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {tt.enc}},
					body:   func() io.Reader { return strings.NewReader(tt.body) },
					size:   -1,
				}
			})
			resp, b := h.do("GET", sf+"/x", nil, nil)
			if resp.StatusCode != 200 || string(b) != tt.body {
				t.Errorf("status %d, body %q", resp.StatusCode, b)
			}
		})
	}
}

// TestProxyLargeRequestBody checks the streaming (chunked) request rewrite
// of a body too large to rewrite in memory.
func TestProxyLargeRequestBody(t *testing.T) {
	h := newHarness(t, nil)
	body := `{"pad":"` + strings.Repeat("x", maxBufferedRequest) + `","url":"https:\/\/acme.my.salesforce.com.cas.example.net\/x"}`
	resp, b := h.do("POST", sf+"/aura", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var envelope struct{ Seen string }
	if err := json.Unmarshal(b, &envelope); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(envelope.Seen)
	var seen map[string]string
	if err := json.Unmarshal(raw, &seen); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(body, "acme.my.salesforce.com.cas.example.net", "acme.my.salesforce.com", 1)
	if seen["body"] != want {
		t.Errorf("app saw a body of %d bytes ending %q", len(seen["body"]), seen["body"][max(0, len(seen["body"])-60):])
	}
}

// TestProxyBufferedBodies covers small bodies rewritten in memory: read to
// the app's Content-Length and no further, a failed read answered 502
// before anything is sent, and coded bodies through the decoder.
func TestProxyBufferedBodies(t *testing.T) {
	const js = `{"u":"https://acme.my.salesforce.com/x"}`
	const want = `{"u":"https://acme.my.salesforce.com.cas.example.net/x"}`
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, js)
	zw.Close()
	gz := zb.Bytes()
	tests := []struct {
		name   string
		enc    string
		body   func() io.Reader
		size   int64
		status int
		want   string
	}{
		{"exact", "", func() io.Reader { return strings.NewReader(js) }, int64(len(js)), 200, want},
		{"identity", "identity", func() io.Reader { return strings.NewReader(js) }, int64(len(js)), 200, want},
		{"longer than said", "", func() io.Reader { return strings.NewReader(js + "trailing https://acme.my.salesforce.com") }, int64(len(js)), 200, want},
		{"shorter than said", "", func() io.Reader { return strings.NewReader(js) }, 1000, 200, want},
		{"read error", "", func() io.Reader { return io.MultiReader(strings.NewReader(js), iotestErrReader{}) }, 1000, 502, ""},
		{"gzip", "gzip", func() io.Reader { return bytes.NewReader(gz) }, int64(len(gz)), 200, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.FormatInt(tt.size, 10)}}
			if tt.enc != "" {
				hdr.Set("Content-Encoding", tt.enc)
			}
			h := newHarness(t, func(c *Config) {
				c.Transport = &cannedTransport{header: hdr, body: tt.body, size: tt.size}
			})
			resp, b := h.do("GET", sf+"/data", nil, map[string]string{"Accept-Encoding": "gzip"})
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if resp.ContentLength != int64(len(b)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(b))
			}
			if tt.enc == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				if b, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(b) != tt.want {
				t.Errorf("body %q, want %q", b, tt.want)
			}
		})
	}
}

// pausingBody is an app's body that sends first, then waits for release
// (or the test's end) before sending rest.
type pausingBody struct {
	parts   [][]byte
	release chan struct{}
	paused  bool
}

func (b *pausingBody) Read(p []byte) (int, error) {
	if len(b.parts) == 0 {
		return 0, io.EOF
	}
	if len(b.parts) == 1 && !b.paused {
		b.paused = true
		<-b.release
	}
	n := copy(p, b.parts[0])
	if b.parts[0] = b.parts[0][n:]; len(b.parts[0]) == 0 {
		b.parts = b.parts[1:]
	}
	return n, nil
}

// TestProxyStreamPauses: when the app pauses in the middle of a streamed
// body, what it sent so far reaches the client (within FlushDelay), not
// only when the app goes on or the buffers fill: a binary stream, a
// rewritten page streamed without a length, and an event stream.
func TestProxyStreamPauses(t *testing.T) {
	for _, tc := range []struct {
		ctype, first, want string
		gzip               bool
	}{
		{"application/octet-stream", "0123456789", "0123456789", false},
		{"text/html", "<a href=\"https://acme.my.salesforce.com/x\">x</a>\n", "<a href=\"https://acme.my.salesforce.com.cas.example.net/x\">x</a>\n", false},
		{"text/html", "<a href=\"https://acme.my.salesforce.com/x\">x</a>\n", "<a href=\"https://acme.my.salesforce.com.cas.example.net/x\">x</a>\n", true},
		{"text/event-stream", "data: 1\n\n", "data: 1\n\n", false},
	} {
		name := tc.ctype
		parts := [][]byte{[]byte(tc.first), []byte("rest")}
		header := http.Header{"Content-Type": {tc.ctype}}
		if tc.gzip {
			// The app's gzip stream, flushed before its pause.
			name += ", gzip"
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			io.WriteString(zw, tc.first)
			zw.Flush()
			first := bytes.Clone(z.Bytes())
			z.Reset()
			io.WriteString(zw, "rest")
			zw.Close()
			parts = [][]byte{first, z.Bytes()}
			header.Set("Content-Encoding", "gzip")
		}
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			h := newHarness(t, func(c *Config) {
				c.Transport = &cannedTransport{
					header: header,
					body: func() io.Reader {
						return &pausingBody{parts: parts, release: release}
					},
					size: -1,
				}
			})
			t.Cleanup(free) // before the harness's: a failed test ends the handler
			req, _ := http.NewRequest("GET", sf+"/stream", nil)
			req.Header.Set("Cookie", "__cas_session=tok-sf")
			got := make([]byte, len(tc.want))
			var resp *http.Response
			var body io.Reader
			done := make(chan error, 1)
			go func() { // the head, too, waits in the buffers
				var err error
				if resp, err = h.client.Do(req); err != nil {
					done <- err
					return
				}
				body = resp.Body
				if tc.gzip {
					if body, err = gzip.NewReader(resp.Body); err != nil {
						done <- err
						return
					}
				}
				_, err = io.ReadFull(body, got)
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil || string(got) != tc.want {
					t.Fatalf("before the app went on: %q, %v; want %q", got, err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("what the app sent before pausing did not arrive")
			}
			defer resp.Body.Close()
			free()
			rest, err := io.ReadAll(body)
			if err != nil || string(rest) != "rest" {
				t.Fatalf("after the pause: %q, %v", rest, err)
			}
		})
	}
}
