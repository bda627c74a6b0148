package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The issue's reference point for a Go proxy: "a naive Go
// httputil.ReverseProxy (default transport, whole-body bytes.ReplaceAll)".
// casbench runs it as a process of its own (casbench naive ...), so that
// its CPU is not the app's, and measures it beside casd and nginx: its
// ratios to nginx here against those the issue gives (2,700 / 3,900 req/s
// on the page, 14,000 / 41,000 on the JSON) tell how this machine and
// setup compare with the issue's.

// naiveMain serves the naive proxy: TLS with the certificate in dir on
// 127.0.0.1:port, in front of the app on 127.0.0.1:upstream, rewriting
// the app's host names in whole text bodies.
func naiveMain(args []string) {
	fs := flag.NewFlagSet("naive", flag.ExitOnError)
	port := fs.Int("port", 0, "port to listen on (127.0.0.1)")
	upstream := fs.Int("upstream", 0, "the app's port (127.0.0.1)")
	dir := fs.String("dir", "", "directory holding cert.pem and key.pem")
	hosts := fs.String("hosts", "", "comma-separated app host names to map; the first is the app's")
	fs.Parse(args)
	appHost, _, _ := strings.Cut(*hosts, ",")
	target := &url.URL{Scheme: "https", Host: "127.0.0.1:" + strconv.Itoa(*upstream)}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// As nginx's proxy_pass, which does not verify upstream certificates
	// unless told to.
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true, ServerName: appHost}
	var olds, news [][]byte
	for h := range strings.SplitSeq(*hosts, ",") {
		olds = append(olds, []byte(h))
		news = append(news, []byte(h+"."+suffix))
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = appHost // as nginx's proxy_set_header Host
		},
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			ct := resp.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "json") && !strings.Contains(ct, "javascript") {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			for i := range olds {
				body = bytes.ReplaceAll(body, olds[i], news[i])
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
	}
	srv := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(*port), Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServeTLS(filepath.Join(*dir, "cert.pem"), filepath.Join(*dir, "key.pem")))
}

// startNaive runs casbench's naive proxy as a child process.
func startNaive(dir string, upstreamPort, port int, hosts []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "naive", "-port", strconv.Itoa(port), "-upstream", strconv.Itoa(upstreamPort),
		"-dir", dir, "-hosts", strings.Join(hosts, ","))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the naive proxy: %w", err)
	}
	for range 500 { // 10 s
		if listening(port) {
			return cmd, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("the naive proxy did not listen on %d", port)
}
