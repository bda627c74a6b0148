package testkit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cas-proxy/cas/pki"
)

// Sizes of the Upstream's fixed bodies.
const (
	UpstreamPageSize = 100 << 10 // /page.html
	UpstreamJSONSize = 1 << 10   // /data.json
	UpstreamBigSize  = 64 << 20  // /big.bin
)

// UpstreamCards are valid payment card numbers that /bytes/N?cards=1 puts
// at the start of its body, for a content-inspection hit.
var UpstreamCards = []string{"4111 1111 1111 1111", "5500-0000-0000-0004", "3782 822463 10005"}

// Upstream is a stand-in app for load and memory runs: HTTPS (HTTP/1.1 and
// HTTP/2) on a loopback port, with a certificate for its hosts from casd's
// internal CA, so that casd's upstream transport trusts it. It serves
//
//	/page.html  a 100 KiB HTML page with a few hundred absolute links to
//	            app.<domain> and static.<domain>
//	/data.json  a 1 KiB JSON document with a few URLs (plain and \/-escaped)
//	/big.bin    64 MiB of application/octet-stream, generated as it is sent
//	/bytes/N    N bytes likewise; ?cards=1 starts the body with UpstreamCards
//	POST /acs   200, whatever is posted (the app's SAML ACS)
//
// Generated bodies are PatternReader's bytes, carry a Content-Length and
// no Content-Disposition. It needs no testing.T, so that the whole-system
// benchmark (bench/) uses it too.
type Upstream struct {
	Domain string // the app's hosts are app.<Domain> and static.<Domain>
	Port   int
	// Cert is the server certificate, for another server standing in
	// front of the same hosts (the benchmark's nginx).
	Cert *tls.Certificate
	CA   *pki.CA

	page, json []byte
	srv        *http.Server
}

// StartUpstream serves the app for domain (such as "bench.localhost") on a
// free loopback port, with a certificate issued by the internal TLS CA in
// casd's state directory (tls-ca.crt, tls-ca.key).
func StartUpstream(casdStateDir, domain string) (*Upstream, error) {
	return StartUpstreamConfig(UpstreamConfig{CasdStateDir: casdStateDir, Domain: domain})
}

// UpstreamConfig configures StartUpstreamConfig.
type UpstreamConfig struct {
	CasdStateDir string // casd's state directory, holding its internal TLS CA
	Domain       string // such as "bench.localhost"
	// HTTP1Only leaves HTTP/2 out of the TLS handshake (ALPN), as many
	// servers behind load balancers do.
	HTTP1Only bool
}

// StartUpstreamConfig is StartUpstream with more choices.
func StartUpstreamConfig(cfg UpstreamConfig) (*Upstream, error) {
	casdStateDir, domain := cfg.CasdStateDir, cfg.Domain
	certPEM, err := os.ReadFile(filepath.Join(casdStateDir, "tls-ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(casdStateDir, "tls-ca.key"))
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	cert, err := ca.IssueServer([]string{"app." + domain, "static." + domain, "127.0.0.1"}, 24*time.Hour, time.Now())
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	u := &Upstream{Domain: domain, Port: ln.Addr().(*net.TCPAddr).Port, Cert: cert, CA: ca}
	u.page = UpstreamPage(domain)
	u.json = UpstreamJSON(domain)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page.html", u.fixed("text/html; charset=utf-8", u.page))
	mux.HandleFunc("GET /data.json", u.fixed("application/json", u.json))
	mux.HandleFunc("GET /big.bin", func(w http.ResponseWriter, r *http.Request) { serveBytes(w, r, UpstreamBigSize, false) })
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
		if err != nil || n < 0 || n > 8<<30 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		serveBytes(w, r, n, r.URL.Query().Get("cards") == "1")
	})
	mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><title>bench app</title><p>signed in</p>\n")
	})
	u.srv = &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"h2", "http/1.1"}},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if cfg.HTTP1Only {
		u.srv.TLSConfig.NextProtos = []string{"http/1.1"}
		u.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	go u.srv.ServeTLS(ln, "", "")
	return u, nil
}

// AppHost is app.<Domain>.
func (u *Upstream) AppHost() string { return "app." + u.Domain }

// URL is https://app.<Domain>:<Port><path>.
func (u *Upstream) URL(path string) string {
	return "https://" + u.AppHost() + ":" + strconv.Itoa(u.Port) + path
}

// Close stops the server at once.
func (u *Upstream) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return u.srv.Close()
}

func (u *Upstream) fixed(ctype string, body []byte) http.HandlerFunc {
	n := strconv.Itoa(len(body))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", n)
		w.Write(body)
	}
}

func serveBytes(w http.ResponseWriter, r *http.Request, n int64, cards bool) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	var src io.Reader = PatternReader(n)
	if cards {
		head := strings.Join(UpstreamCards, "\n") + "\n"
		if int64(len(head)) > n {
			head = head[:n]
		}
		src = io.MultiReader(strings.NewReader(head), PatternReader(n-int64(len(head))))
	}
	io.CopyBuffer(onlyWrite{w}, src, make([]byte, 64<<10))
}

// onlyWrite hides ReadFrom so io.CopyBuffer writes in the buffer's chunks.
type onlyWrite struct{ io.Writer }

// patternBlock is 64 KiB of fixed pseudo-random bytes: incompressible and,
// in practice, free of digit runs a card detector would flag.
var patternBlock = func() []byte {
	r := rand.New(rand.NewPCG(6, 2026))
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// PatternReader returns n bytes of the pattern the Upstream sends: a fixed
// 64 KiB pseudo-random block, repeated.
func PatternReader(n int64) io.Reader { return io.LimitReader(&patternStream{}, n) }

type patternStream struct{ off int }

func (p *patternStream) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], patternBlock[p.off:])
		n += c
		p.off = (p.off + c) % len(patternBlock)
	}
	return n, nil
}

// UpstreamPage is the Upstream's 100 KiB HTML page for domain: 320 absolute
// links alternating between app.<domain> and static.<domain>, in filler
// text.
func UpstreamPage(domain string) []byte {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Records</title>\n")
	fmt.Fprintf(&b, "<link rel=\"stylesheet\" href=\"https://static.%s/css/app.css\">\n</head><body><ul>\n", domain)
	const links = 320
	per := (UpstreamPageSize - 400) / links
	for i := 0; i < links; i++ {
		var line string
		if i%2 == 0 {
			line = fmt.Sprintf("<li><a href=\"https://app.%s/records/%06d?view=full\">Record %d</a> ", domain, i, i)
		} else {
			line = fmt.Sprintf("<li><img src=\"https://static.%s/img/%06d.png\" alt=\"\"> ", domain, i)
		}
		b.WriteString(line)
		for k := 0; len(line)+k < per-6; k++ {
			b.WriteByte(filler[(i+k)%len(filler)])
		}
		b.WriteString("</li>\n")
	}
	b.WriteString("</ul></body></html>\n")
	out := []byte(b.String())
	for len(out) < UpstreamPageSize {
		out = append(out, '\n')
	}
	return out[:UpstreamPageSize:UpstreamPageSize]
}

const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "

// UpstreamJSON is the Upstream's 1 KiB JSON document for domain.
func UpstreamJSON(domain string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"self":"https://app.%s/api/records","next":"https:\/\/app.%s\/api\/records?page=2","icon":"https://static.%s/img/icon.png","records":[`, domain, domain, domain)
	for i := 0; b.Len() < UpstreamJSONSize-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"record %d"}`, i, i)
	}
	b.WriteString(`]}`)
	out := b.String()
	for len(out) < UpstreamJSONSize {
		out += " "
	}
	return []byte(out[:UpstreamJSONSize])
}
