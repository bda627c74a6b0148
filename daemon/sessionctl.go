package daemon

import (
	"encoding/json"
	"net/http"

	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/store"
)

// startMonitoredSession hands a monitored login to session control. Until
// session control is wired in, it reports false and the login is delivered
// as allowed, with the event saying session control is not active.
func (d *Daemon) startMonitoredSession(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login, pc *policy.Context, ev *store.Event) bool {
	var details map[string]any
	_ = json.Unmarshal(ev.Details, &details)
	if details == nil {
		details = map[string]any{}
	}
	details["session_control"] = "not active: delivered as allow"
	ev.Details, _ = json.Marshal(details)
	return false
}

// serveProxied serves a proxied app host under the suffix.
func (d *Daemon) serveProxied(w http.ResponseWriter, r *http.Request, host string) {
	d.errorPage(w, http.StatusNotFound, "", "Not found", "Session control is not active for this address.")
}

// rebuildMapper rebuilds the host mapping of proxied apps.
func (d *Daemon) rebuildMapper() {}
