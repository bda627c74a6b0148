package session

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// isWebSocket reports whether r asks to upgrade to a WebSocket.
func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(headerValue(r.Header, "Upgrade"), "websocket") && headerHasToken(r.Header, "Connection", "upgrade")
}

// headerHasToken reports whether a value of h[key] (key canonical) lists
// token.
func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h[key] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// tunnel forwards a WebSocket handshake with its headers rewritten like any
// request (Origin mapped back, session cookie stripped) and, once the app
// switches protocols, copies frames both ways untouched.
func (p *Proxy) tunnel(x *exchange) error {
	out, err := p.outgoing(x)
	if err != nil {
		return err
	}
	x.out = out
	out.Header.Set("Connection", "Upgrade")
	out.Header.Set("Upgrade", "websocket")
	out.Header.Del("Accept-Encoding")
	resp, err := p.cfg.Transport.RoundTrip(out)
	if err != nil {
		return fmt.Errorf("forward websocket to %s: %w", x.upstream, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return p.respond(x, resp)
	}
	up, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return fmt.Errorf("websocket to %s: upgraded body is not writable", x.upstream)
	}
	defer up.Close()
	p.keepJarCookies(x, resp)
	p.cfg.Rewriter.RewriteResponseHeader(resp.Header, p.cfg.SessionCookie)
	conn, brw, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		return fmt.Errorf("websocket: hijack client connection: %w", err)
	}
	defer conn.Close()
	resp.Header.Set("Connection", "Upgrade")
	resp.Header.Set("Upgrade", "websocket")
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\n")
	resp.Header.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return errSent{fmt.Errorf("websocket: write handshake: %w", err)}
	}
	done := make(chan struct{}, 2)
	go func() {
		// Bytes the server already buffered from the client come first.
		io.Copy(up, brw.Reader)
		done <- struct{}{}
	}()
	go func() {
		io.Copy(conn, up)
		done <- struct{}{}
	}()
	<-done
	return nil
}
