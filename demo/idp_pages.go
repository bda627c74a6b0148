package demo

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

type pageData struct {
	Title   string
	Message string
}

type loginForm struct {
	Action      string
	SAMLRequest string
	RelayState  string
	Username    string
	Error       bool
}

type portalApp struct {
	Name, Title, URL string
}

type portalData struct {
	User      User
	Apps      []portalApp
	LogoutURL string
}

const idpStyle = `<style>
body{font-family:system-ui,sans-serif;background:#f3f4f6;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem}.error{color:#b91c1c;font-weight:600}
ul{padding-left:1.2rem}li{margin:.4rem 0}
</style>`

var idpLoginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Demo IdP</title>` + idpStyle + `</head>
<body><main>
<h1>Demo IdP · Sign in</h1>
{{if .Error}}<p id="login-error" class="error" role="alert">wrong user name or password</p>{{end}}
<form method="post" action="{{.Action}}" id="login-form">
{{if .SAMLRequest}}<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<label for="username">User name</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="submit">Sign in</button>
</form>
</main></body></html>
`))

var idpPortalPage = template.Must(template.New("portal").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Apps · Demo IdP</title>` + idpStyle + `</head>
<body><main>
<h1>Demo IdP · Your apps</h1>
<p>Signed in as <strong id="signed-in-user">{{.User.Name}}</strong> ({{.User.Email}}{{range $i, $g := .User.Groups}}{{if eq $i 0}}; groups: {{else}}, {{end}}{{$g}}{{end}})</p>
{{if .Apps}}<ul id="apps">{{range .Apps}}
<li><a id="app-{{.Name}}" href="{{.URL}}">{{.Title}}</a></li>{{end}}
</ul>{{else}}<p id="no-apps">No apps are registered yet.</p>{{end}}
<form method="post" action="{{.LogoutURL}}"><button type="submit" id="logout">Sign out</button></form>
</main></body></html>
`))

var idpErrorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Demo IdP</title>` + idpStyle + `</head>
<body><main><h1>{{.Title}}</h1><p id="error-message" class="error">{{.Message}}</p></main></body></html>
`))

// renderPage executes t into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func renderPage(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// securityHeaders adds the headers every IdP page carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}
