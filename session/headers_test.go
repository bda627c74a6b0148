package session

import (
	"bytes"
	"net/http"
	"testing"
)

func TestRewriteSetCookie(t *testing.T) {
	tests := []struct {
		name, mode, in, want string
	}{
		{"host only untouched", "suffix", "sid=1; Path=/; Secure; HttpOnly", "sid=1; Path=/; Secure; HttpOnly"},
		{"__Host- untouched", "suffix", "__Host-x=1; Path=/; Secure", "__Host-x=1; Path=/; Secure"},
		{"ancestor domain", "suffix", "BrowserId=a; Domain=.salesforce.com; Path=/; Expires=Sat, 27 Nov 2027 03:00:00 GMT; Max-Age=31536000; Secure; SameSite=None; Partitioned; Priority=High",
			"BrowserId=a; Domain=salesforce.com.cas.example.net; Path=/; Expires=Sat, 27 Nov 2027 03:00:00 GMT; Max-Age=31536000; Secure; SameSite=None; Partitioned; Priority=High"},
		{"exact domain case", "suffix", "a=b; domain=Acme.My.Salesforce.com; HttpOnly", "a=b; domain=acme.my.salesforce.com.cas.example.net; HttpOnly"},
		{"unrelated domain dropped", "suffix", "a=b; Domain=example.org", ""},
		{"suffix domain dropped", "suffix", "a=b; Domain=.cas.example.net", ""},
		{"suffix domain dropped flat", "flat", "a=b; Domain=cas.example.net", ""},
		{"tld dropped", "suffix", "a=b; Domain=com", ""},
		{"empty domain is host-only", "suffix", "a=b; Domain=; Secure", "a=b; Domain=; Secure"},
		{"flat drops domain", "flat", "a=b; Domain=.force.com; Secure; SameSite=Lax", "a=b; Secure; SameSite=Lax"},
		{"value with equals", "suffix", "a=b=c; Domain=force.com", "a=b=c; Domain=force.com.cas.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRewriter(mustMapper(t, Mode(tt.mode)))
			if got := r.RewriteSetCookie(tt.in); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRewriteCSP(t *testing.T) {
	tests := []struct {
		name, mode, in, want string
	}{
		{"sources", "suffix", "default-src 'self' https://*.force.com acme.my.salesforce.com:443; img-src data: *.my.salesforce.com; report-uri https://acme.my.salesforce.com/csp",
			"default-src 'self' https://*.force.com.cas.example.net acme.my.salesforce.com.cas.example.net:443; img-src data: *.my.salesforce.com.cas.example.net; report-uri https://acme.my.salesforce.com.cas.example.net/csp"},
		{"ancestor wildcard", "suffix", "frame-ancestors *.salesforce.com", "frame-ancestors *.salesforce.com.cas.example.net"},
		{"unrelated kept", "suffix", "script-src 'nonce-abc' https://*.example.org 'strict-dynamic'", "script-src 'nonce-abc' https://*.example.org 'strict-dynamic'"},
		{"flat wildcard", "flat", "connect-src wss://*.force.com https://acme.my.salesforce.com", "connect-src wss://*.cas.example.net https://acme--my--salesforce--com.cas.example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRewriter(mustMapper(t, Mode(tt.mode)))
			if got := r.RewriteCSP(tt.in); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func sampleResponseHeader() http.Header {
	h := http.Header{}
	h.Set("Location", "https://acme.my.salesforce.com/home/home.jsp?source=lex")
	h.Set("Content-Location", "https://acme.lightning.force.com/one/one.app")
	h.Set("Refresh", "0; url=https://acme.my.salesforce.com/secur/frontdoor.jsp")
	h.Set("Link", `<https://static.sfdc-static.com/app.css>; rel=preload; as=style, </rel.js>; rel=preload`)
	h.Add("Set-Cookie", "sid=00D; Domain=.my.salesforce.com; Path=/; Secure; HttpOnly; SameSite=None")
	h.Add("Set-Cookie", "__Host-ERIC_PROD=1; Path=/; Secure; HttpOnly")
	h.Add("Set-Cookie", "__cas_session=evil; Path=/")
	h.Add("Set-Cookie", "toss=1; Domain=cas.example.net; Path=/")
	h.Add("Set-Cookie", "oinfo=c; Domain=salesforce.com; Max-Age=0; Priority=Medium; Partitioned; Secure")
	h.Set("Content-Security-Policy", "upgrade-insecure-requests; frame-ancestors 'self' https://*.force.com; connect-src 'self' https://acme.my.salesforce.com wss://*.my.salesforce.com")
	h.Set("Content-Security-Policy-Report-Only", "script-src 'self' https://*.sfdc-static.com; report-uri /_/csp")
	h.Set("Access-Control-Allow-Origin", "https://acme.lightning.force.com")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload")
	h.Set("Alt-Svc", `h3=":443"`)
	h.Set("Connection", "keep-alive, X-Hop")
	h.Set("X-Hop", "1")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	return h
}

func TestRewriteResponseHeaderGolden(t *testing.T) {
	for _, mode := range []Mode{ModeSuffix, ModeFlat} {
		r := NewRewriter(mustMapper(t, mode))
		h := sampleResponseHeader()
		r.RewriteResponseHeader(h, "__cas_session")
		var b bytes.Buffer
		if err := h.Write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, "headers/response-"+string(mode), b.Bytes())
	}
}

func TestRewriteRequestHeader(t *testing.T) {
	tests := []struct {
		name string
		opts RequestOptions
		in   http.Header
		want http.Header
	}{
		{
			name: "map back and strip",
			opts: RequestOptions{SessionCookie: "__cas_session"},
			in: http.Header{
				"Origin":          {"https://acme.my.salesforce.com.cas.example.net"},
				"Referer":         {"https://acme.lightning.force.com.cas.example.net/one/one.app?x=https%3A%2F%2Facme.my.salesforce.com.cas.example.net"},
				"Cookie":          {"sid=00D; __cas_session=secret", "BrowserId=x"},
				"Connection":      {"Upgrade, X-Private"},
				"X-Private":       {"1"},
				"Te":              {"trailers"},
				"X-Forwarded-For": {"6.6.6.6"},
				"Accept":          {"text/html"},
			},
			want: http.Header{
				"Origin":  {"https://acme.my.salesforce.com"},
				"Referer": {"https://acme.lightning.force.com/one/one.app?x=https%3A%2F%2Facme.my.salesforce.com"},
				"Cookie":  {"sid=00D; BrowserId=x"},
				"Accept":  {"text/html"},
			},
		},
		{
			name: "only session cookie",
			opts: RequestOptions{SessionCookie: "__cas_session", ForwardedFor: ForwardedForAppend, ClientIP: "10.0.0.1"},
			in:   http.Header{"Cookie": {"__cas_session=secret"}, "X-Forwarded-For": {"6.6.6.6"}},
			want: http.Header{"X-Forwarded-For": {"6.6.6.6, 10.0.0.1"}},
		},
		{
			name: "replace xff",
			opts: RequestOptions{ForwardedFor: ForwardedForReplace, ClientIP: "10.0.0.1"},
			in:   http.Header{"X-Forwarded-For": {"6.6.6.6"}, "Forwarded": {"for=6.6.6.6"}, "X-Forwarded-Host": {"a.cas.example.net"}, "X-Real-Ip": {"1.2.3.4"}},
			want: http.Header{"X-Forwarded-For": {"10.0.0.1"}},
		},
	}
	r := NewRewriter(mustMapper(t, ModeSuffix))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.RewriteRequestHeader(tt.in, tt.opts)
			var got, want bytes.Buffer
			tt.in.Write(&got)
			tt.want.Write(&want)
			if got.String() != want.String() {
				t.Errorf("got\n%s\nwant\n%s", got.String(), want.String())
			}
		})
	}
}
