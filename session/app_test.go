package session

import (
	"bufio"
	"compress/gzip"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/andybalholm/brotli"
)

// fakeApp behaves like a small Salesforce: several hosts, absolute links,
// cookies with Domain attributes, JSON with escaped URLs, a report export,
// downloads, uploads, a WebSocket, gzip and br responses. Every host name
// reaches it (the test transport routes them all here).
type fakeApp struct {
	uploads atomic.Int64 // bytes of file content received
}

const fakePage = `<!DOCTYPE html>
<html><head><title>Home | Salesforce</title>
<link rel="stylesheet" href="https://acme.my.salesforce.com/styles/app.css">
<script src="https://static.sfdc-static.com/lightning/app.js"></script>
</head><body>
<a href="https://acme.lightning.force.com/lightning/page/home">Lightning</a>
<a href="https://acme.my.salesforce.com/00O5e000008xyz?export=1&amp;enc=UTF-8&amp;xf=csv">Export report</a>
<a href="https://www.example.com/elsewhere">Elsewhere</a>
<form action="https://acme.my.salesforce.com/secur/logout.jsp" method="post"></form>
<script>var cfg = {"instance":"https:\/\/acme.my.salesforce.com","lightning":"https:\u002F\u002Facme.lightning.force.com\u002Fone","ret":"https%3A%2F%2Facme.my.salesforce.com%2Fhome"};</script>
<p>Host seen: HOST</p>
</body></html>
`

func (a *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Proto", r.Proto)
	switch r.URL.Path {
	case "/home", "/home.gz", "/home.br":
		page := strings.Replace(fakePage, "HOST", r.Host, 1)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Add("Set-Cookie", "sid=00Dxx!AQ; Domain=.salesforce.com; Path=/; Secure; HttpOnly; SameSite=None")
		w.Header().Add("Set-Cookie", "__Host-ERIC=1; Path=/; Secure; HttpOnly")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'self' https://*.force.com; connect-src 'self' wss://*.my.salesforce.com")
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		w.Header().Set("ETag", `"v1"`)
		var out io.Writer = w
		var closer io.Closer
		switch {
		case strings.HasSuffix(r.URL.Path, ".gz"):
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			out, closer = zw, zw
		case strings.HasSuffix(r.URL.Path, ".br"):
			w.Header().Set("Content-Encoding", "br")
			bw := brotli.NewWriter(w)
			out, closer = bw, bw
		default:
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		}
		io.WriteString(out, page)
		if closer != nil {
			closer.Close()
		}
	case "/redirect":
		http.Redirect(w, r, "https://acme.lightning.force.com/one/one.app?src=https%3A%2F%2Facme.my.salesforce.com", http.StatusFound)
	case "/aura":
		body, _ := io.ReadAll(r.Body)
		var cookies []string
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Name)
		}
		// What the app saw travels base64-encoded, or the response rewrite
		// would map it again on the way back.
		seen, _ := json.Marshal(map[string]any{
			"host":    r.Host,
			"origin":  r.Header.Get("Origin"),
			"referer": r.Header.Get("Referer"),
			"cookies": strings.Join(cookies, ","),
			"query":   r.URL.RawQuery,
			"body":    string(body),
			"hop":     r.Header.Get("X-Hop"),
		})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"seen":%q,"next":"https:\/\/acme.lightning.force.com\/aura?x=1"}`+"\n", base64.StdEncoding.EncodeToString(seen))
	case "/00O5e000008xyz":
		w.Header().Set("Content-Type", "text/csv; charset=UTF-8")
		w.Header().Set("Content-Disposition", `attachment; filename="Pipeline report.csv"`)
		io.WriteString(w, "Account,Amount\nacme.my.salesforce.com,100\nGlobex,2000\n")
	case "/sfc/servlet.shepherd/version/download/068xx":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		content := r.URL.Query().Get("content")
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="contract.pdf"`)
		w.Header().Set("Content-Length", strconv.Itoa(n+len(content)))
		io.WriteString(w, content)
		io.Copy(w, io.LimitReader(&patternReader{}, int64(n)))
	case "/upload":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := io.Copy(io.Discard, f)
		a.uploads.Add(n)
		fmt.Fprintf(w, "received %d\n", n)
	case "/ws":
		a.echoWebSocket(w, r)
	default:
		http.NotFound(w, r)
	}
}

// echoWebSocket completes a WebSocket handshake and echoes raw bytes: the
// proxy copies frames untouched, so echoing bytes is enough to test it.
func (a *fakeApp) echoWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "https://acme.my.salesforce.com" {
		http.Error(w, "bad origin "+r.Header.Get("Origin"), http.StatusForbidden)
		return
	}
	h := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Url: https://acme.my.salesforce.com/ws\r\n\r\n",
		base64.StdEncoding.EncodeToString(h[:]))
	brw.Flush()
	line, err := bufio.NewReader(brw).ReadString('\n')
	if err != nil {
		return
	}
	io.WriteString(conn, "echo: "+line)
}

// patternReader yields an endless non-compressible-looking byte pattern.
type patternReader struct{ off int }

func (r *patternReader) Read(p []byte) (int, error) {
	for i := range p {
		o := r.off + i
		p[i] = byte(o*7 + o>>8)
	}
	r.off += len(p)
	return len(p), nil
}
