package session

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// FuzzMapper checks that ToUpstream never panics and that whatever it
// accepts maps back to the same (lower-case) proxy host.
func FuzzMapper(f *testing.F) {
	for _, s := range []string{"acme.my.salesforce.com.cas.example.net", "acme-0-0c--vf--force--com.cas.example.net:443", "[::1]:80", "--.cas.example.net", ".cas.example.net"} {
		f.Add(s)
	}
	ms := []*Mapper{mustMapper(f, ModeSuffix), mustMapper(f, ModeFlat)}
	f.Fuzz(func(t *testing.T, host string) {
		for _, m := range ms {
			up, app, ok := m.ToUpstream(host)
			if !ok {
				continue
			}
			back, ok := m.ToProxy(up)
			h, port := splitPort(host)
			if !ok || back != joinPort(strings.TrimSuffix(strings.ToLower(h), "."), port) || app == "" {
				t.Errorf("%s: ToUpstream(%q) = %q; ToProxy = %q, %v", m.mode, host, up, back, ok)
			}
		}
	})
}

// FuzzHeaders checks that the header rewriters never panic and keep every
// Set-Cookie attribute but Domain.
func FuzzHeaders(f *testing.F) {
	f.Add("a=b; Domain=.force.com; Secure; SameSite=None", "default-src https://*.force.com 'self'; report-uri https://a.force.com/r")
	f.Add("=;;domain=;", ";;  ;*.:/")
	rs := []*Rewriter{NewRewriter(mustMapper(f, ModeSuffix)), NewRewriter(mustMapper(f, ModeFlat))}
	f.Fuzz(func(t *testing.T, cookie, csp string) {
		for _, r := range rs {
			got := r.RewriteSetCookie(cookie)
			if got != "" && strings.Count(got, ";") > strings.Count(cookie, ";") {
				t.Errorf("attributes added: %q -> %q", cookie, got)
			}
			r.RewriteCSP(csp)
			h := http.Header{"Set-Cookie": {cookie}, "Content-Security-Policy": {csp}, "Location": {csp}, "Connection": {cookie}}
			r.RewriteResponseHeader(h, "__cas_session")
			r.RewriteRequestHeader(h, RequestOptions{SessionCookie: "__cas_session"})
		}
	})
}

// heapGrowth returns the bytes allocated while fn runs.
func heapGrowth(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
