package daemon

import (
	"net/http"
)

// portalMux serves the portal host: the SAML endpoints of every app, and a
// health check.
func (d *Daemon) portalMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			d.errorPage(w, http.StatusNotFound, "", "Not found", "There is nothing at this address.")
			return
		}
		renderPage(w, page{Kind: "notice", Badge: "cas", Title: "cas — cloud app security proxy", Message: "This is the sign-in proxy of your organisation's cloud apps. Open your app from your identity provider's portal."})
	})
	d.addSAMLRoutes(mux)
	return mux
}
