package session

import "net/http"

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
