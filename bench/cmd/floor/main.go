// Command floor measures what a Go TLS-to-TLS reverse proxy spends per
// request on this machine, to put casd's per-request cost (and nginx's) in
// context. It runs the bench app's JSON endpoint, or one of three proxies
// in front of it that do no more than pass requests through:
//
//	floor app   -port P                     # the app (net/http, TLS, /data.json)
//	floor proxy -port P -app A -mode raw    # hand-rolled HTTP/1.1 loop, no HTTP library
//	floor proxy -port P -app A -mode front  # casd's front server + H1Transport
//	floor proxy -port P -app A -mode h1     # net/http's server + H1Transport
//
// raw and front read and write their sockets through netio, as casd does;
// h1 through net/http's own connections.
//
// bench/floor.sh drives them with wrk and perf stat.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/cas-proxy/cas/front"
	"github.com/cas-proxy/cas/netio"
	"github.com/cas-proxy/cas/pki"
	"github.com/cas-proxy/cas/session"
	"github.com/cas-proxy/cas/test/testkit"
)

const domain = "bench.localhost"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: floor app|proxy [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	port := fs.Int("port", 0, "port to listen on (127.0.0.1)")
	app := fs.Int("app", 0, "the app's port (proxy)")
	mode := fs.String("mode", "raw", "raw, front or h1 (proxy)")
	fs.Parse(os.Args[2:])

	ca, err := pki.NewRootCA("floor", time.Hour, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	cert, err := ca.IssueServer([]string{"app." + domain, "127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(*port))
	if err != nil {
		log.Fatal(err)
	}
	switch os.Args[1] {
	case "app":
		body := testkit.UpstreamJSON(domain)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /data.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		})
		srv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}},
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		log.Fatal(srv.ServeTLS(ln, "", ""))
	case "proxy":
		upTLS := &tls.Config{InsecureSkipVerify: true, ServerName: "app." + domain, ClientSessionCache: tls.NewLRUClientSessionCache(64)}
		upAddr := "127.0.0.1:" + strconv.Itoa(*app)
		tlsCfg := &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}}
		switch *mode {
		case "raw":
			for {
				c, err := ln.Accept()
				if err != nil {
					log.Fatal(err)
				}
				go raw(tls.Server(netio.Wrap(c), tlsCfg), upAddr, upTLS)
			}
		case "h1", "front":
			var d net.Dialer
			dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return netio.Wrap(c), nil // as casd dials apps (daemon/upstream.go)
			}
			tr := &session.H1Transport{DialContext: dial, TLSConfig: upTLS, MaxIdlePerHost: 64, IdleTimeout: time.Minute}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				out := r.Clone(r.Context())
				out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = "https", upAddr, "app."+domain, ""
				resp, err := tr.RoundTrip(out)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				for k, v := range resp.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(resp.StatusCode)
				io.Copy(w, resp.Body)
			})
			if *mode == "front" {
				fs := &front.Server{Handler: h, ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 2 * time.Minute}
				for {
					rc, err := ln.Accept()
					if err != nil {
						log.Fatal(err)
					}
					c := tls.Server(netio.Wrap(rc), tlsCfg) // as casd's listener (daemon/listener.go)
					go func() {
						if err := c.Handshake(); err == nil {
							fs.ServeConn(c)
						}
					}()
				}
			}
			srv := &http.Server{TLSConfig: tlsCfg, TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
				ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 2 * time.Minute, Handler: h}
			log.Fatal(srv.ServeTLS(ln, "", ""))
		default:
			log.Fatalf("unknown mode %q", *mode)
		}
	default:
		log.Fatalf("unknown command %q", os.Args[1])
	}
}

// raw proxies GET requests without bodies on c over one upstream TLS
// connection of its own: the least a Go proxy can do per request (two TLS
// reads, two TLS writes, header scanning), with no net/http.
func raw(c net.Conn, upAddr string, upTLS *tls.Config) {
	defer c.Close()
	tc, err := net.Dial("tcp", upAddr)
	if err != nil {
		return
	}
	uc := tls.Client(netio.Wrap(tc), upTLS)
	defer uc.Close()
	cr, ur := bufio.NewReaderSize(c, 16<<10), bufio.NewReaderSize(uc, 16<<10)
	out := make([]byte, 0, 16<<10)
	for {
		head, err := readHead(cr)
		if err != nil {
			return
		}
		// Request: the request line and headers, with Host replaced.
		out = out[:0]
		for i, line := range bytes.Split(head, []byte("\r\n")) {
			if i > 0 && len(line) > 5 && bytes.EqualFold(line[:5], []byte("host:")) {
				line = []byte("Host: app." + domain)
			}
			if len(line) > 0 {
				out = append(out, line...)
				out = append(out, '\r', '\n')
			}
		}
		out = append(out, '\r', '\n')
		if _, err := uc.Write(out); err != nil {
			return
		}
		rhead, err := readHead(ur)
		if err != nil {
			return
		}
		n := contentLength(rhead)
		if n < 0 {
			return
		}
		out = append(out[:0], rhead...)
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := io.ReadFull(ur, out[start:]); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func readHead(r *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		head = append(head, line...)
		if len(line) <= 2 {
			return head, nil
		}
		if len(head) > 64<<10 {
			return nil, errors.New("head too large")
		}
	}
}

func contentLength(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(line[15:])))
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
