package session

import (
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// NewSessionCookie returns the proxy's session cookie for a proxied host:
// host-only (no Domain, so it never reaches another app's hosts), Secure,
// HttpOnly, SameSite=Lax, Path=/, and a session cookie (no expiry; the
// server-side session carries the idle timeout and lifetime). An empty name
// means DefaultSessionCookie. The Proxy strips it from every request it
// forwards and drops any Set-Cookie of the same name an app sends.
func NewSessionCookie(name, value string) *http.Cookie {
	if name == "" {
		name = DefaultSessionCookie
	}
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// maxCookies is net/http's default bound on the cookies of a request
// (GODEBUG httpcookiemaxnum): beyond it, Request.Cookie finds none.
const maxCookies = 3000

// requestCookie returns the value of the cookie called name in r, and
// whether there is one, as r.Cookie(name) does: the first pair of that
// name (an exact, case-sensitive match) whose value is valid, with
// surrounding double quotes removed. Unlike r.Cookie it allocates nothing,
// as it has no Cookie to build. Requests with more than maxCookies pairs
// go to r.Cookie, which applies net/http's bound (a GODEBUG setting below
// the default is not seen here).
func requestCookie(r *http.Request, name string) (string, bool) {
	lines := r.Header["Cookie"]
	if len(lines) == 0 || !validCookieName(name) {
		return "", false
	}
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxCookies {
		c, err := r.Cookie(name)
		if err != nil {
			return "", false
		}
		return c.Value, true
	}
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if validCookieValue(v) {
				return v, true
			}
		}
	}
	return "", false
}

// validCookieName reports whether name is an HTTP token, the only cookie
// names net/http reads.
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !httpguts.IsTokenRune(rune(name[i])) {
			return false
		}
	}
	return true
}

// validCookieValue reports whether v has only the bytes net/http accepts in
// a cookie value.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}
