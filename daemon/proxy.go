package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cas-proxy/cas/front"
)

// startProxy opens the HTTPS listener that serves the portal, the device
// host and the proxied app hosts: HTTP/1.1 through front, HTTP/2 through
// net/http.
func (d *Daemon) startProxy(ctx context.Context, errc chan<- error) (*proxyServer, error) {
	cfg := d.config()
	tlsCfg, err := d.proxyTLSConfig()
	if err != nil {
		return nil, err
	}
	ln, err := listenTCP(cfg.Listen)
	if err != nil {
		return nil, err
	}
	d.proxyAddr = ln.Addr().(*net.TCPAddr)
	base := context.WithoutCancel(ctx)
	const headerTimeout = 15 * time.Second
	handler := d.proxyHandler()
	p := &proxyServer{
		ln:               ln,
		tlsCfg:           tlsCfg,
		handshakeTimeout: headerTimeout,
		h1: &front.Server{
			Handler:           handler,
			ReadHeaderTimeout: headerTimeout,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			BaseContext:       base,
			ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
		},
		h2: &http.Server{
			Handler:           handler,
			TLSConfig:         tlsCfg,
			ReadHeaderTimeout: headerTimeout,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return base },
		},
		h2conns: newConnQueue(ln.Addr()),
		log:     d.log,
		ctx:     base,
	}
	go func() { errc <- serveErr("proxy listener", p.serve()) }()
	d.addListener("proxy", "https://"+ln.Addr().String())
	return p, nil
}

// publicPort is the port browsers use to reach casd: public_port when set
// (casd behind a port mapping), else the listener's.
func (d *Daemon) publicPort() int {
	if p := d.config().PublicPort; p != 0 {
		return p
	}
	if d.proxyAddr != nil {
		return d.proxyAddr.Port
	}
	_, port, _ := net.SplitHostPort(d.config().Listen)
	n, _ := strconv.Atoi(port)
	return n
}

// hostURL is https://host with the public port when it is not 443.
func (d *Daemon) hostURL(host string) string {
	if p := d.publicPort(); p != 443 && p != 0 {
		return "https://" + host + ":" + strconv.Itoa(p)
	}
	return "https://" + host
}

// portalURL is the portal's base URL.
func (d *Daemon) portalURL() string { return d.hostURL(d.config().PortalHost) }

// proxyHandler routes by Host: the portal, the device host, proxied app
// hosts under the suffix; anything else is misdirected.
func (d *Daemon) proxyHandler() http.Handler {
	portal := d.portalMux()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		// Without a colon SplitHostPort can only fail, and its error
		// costs an allocation on every request to port 443.
		if strings.IndexByte(host, ':') >= 0 {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
		}
		host = strings.TrimSuffix(host, ".")
		cfg := d.config()
		switch {
		case host == cfg.PortalHost:
			securityHeaders(w)
			portal.ServeHTTP(w, r)
		case host == cfg.DeviceHost:
			securityHeaders(w)
			d.serveDevice(w, r)
		case strings.HasSuffix(host, "."+cfg.Suffix):
			d.serveProxied(w, r, host)
		case d.demoHandler(host) != nil:
			d.demoHandler(host).ServeHTTP(w, r)
		default:
			http.Error(w, "misdirected request", http.StatusMisdirectedRequest)
		}
	})
}

func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// newRef returns a short reference id that the user can quote and the admin
// can find in the logs and events.
func newRef() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newNonce returns a CSP nonce.
func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
main{max-width:36rem;margin:12vh auto;background:#fff;border-radius:10px;padding:2rem 2.25rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.35rem;margin:0 0 .75rem}
.badge{display:inline-block;font-size:.75rem;letter-spacing:.04em;text-transform:uppercase;color:#fff;background:{{.Color}};border-radius:4px;padding:.1rem .5rem;margin-bottom:.75rem}
.msg{white-space:pre-wrap}
.ref{color:#5b6475;font-size:.85rem;margin-top:1.5rem}
button,a.button{font:inherit;background:#1f5fd6;color:#fff;border:0;border-radius:6px;padding:.55rem 1.2rem;cursor:pointer;text-decoration:none;display:inline-block}
</style></head>
<body><main id="cas-page" data-kind="{{.Kind}}">
<div class="badge">{{.Badge}}</div>
<h1 id="cas-title">{{.Title}}</h1>
<p class="msg" id="cas-message">{{.Message}}</p>
{{if .Action}}<form method="{{.Method}}" action="{{.Action}}">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}<button type="submit" id="cas-continue">{{.Button}}</button></form>{{end}}
{{if .Ref}}<p class="ref">Reference: <code id="cas-ref">{{.Ref}}</code>{{if .App}} · App: {{.App}}{{end}}</p>{{end}}
</main></body></html>
`))

// page is what the proxy shows a person: a block, an error, a notice.
type page struct {
	Status  int
	Kind    string // "block", "error", "notice"
	Badge   string
	Color   string
	Title   string
	Message string
	App     string
	Ref     string
	Action  string
	Method  string
	Button  string
	Fields  map[string]string
	Nonce   string
}

// renderPage writes p with a strict CSP; the only place pages are rendered.
func renderPage(w http.ResponseWriter, p page) {
	if p.Nonce == "" {
		p.Nonce = newNonce()
	}
	if p.Color == "" {
		p.Color = map[string]string{"block": "#c0392b", "error": "#7f8c8d", "notice": "#1f5fd6"}[p.Kind]
	}
	if p.Method == "" {
		p.Method = "post"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+p.Nonce+"'; form-action 'self' https:; frame-ancestors 'none'; base-uri 'none'")
	securityHeaders(w)
	if p.Status == 0 {
		p.Status = http.StatusOK
	}
	w.WriteHeader(p.Status)
	pageTmpl.Execute(w, p)
}

// errorPage shows a plain error with a reference id; details go to the log
// only.
func (d *Daemon) errorPage(w http.ResponseWriter, status int, app, title, msg string) string {
	ref := newRef()
	renderPage(w, page{Status: status, Kind: "error", Badge: "Error", Title: title, Message: msg, App: app, Ref: ref})
	return ref
}
