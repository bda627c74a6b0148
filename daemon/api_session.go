package daemon

import (
	"net/http"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/store"
)

func toAPISession(s *store.Session) api.Session {
	return api.Session{
		ID: s.ID, App: s.App, User: s.User, Device: s.Device, IP: s.IP, UserAgent: s.UserAgent,
		CreatedAt: s.CreatedAt.UTC(), LastSeen: s.LastSeen.UTC(), ExpiresAt: s.ExpiresAt.UTC(), Revoked: s.Revoked,
	}
}

func (d *Daemon) listSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ss, err := d.db.Sessions(r.Context(), store.SessionFilter{App: q.Get("app"), User: q.Get("user"), Active: q.Get("all") == ""})
	if err != nil {
		return err
	}
	now := d.now()
	idle := d.config().Session.IdleTimeout
	out := make([]api.Session, 0, len(ss))
	for _, s := range ss {
		if q.Get("all") == "" && now.Sub(s.LastSeen) > idle {
			continue // idle past the timeout: no longer usable
		}
		out = append(out, toAPISession(s))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) revokeSessions(w http.ResponseWriter, r *http.Request) error {
	var req api.RevokeRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	set := 0
	for _, v := range []string{req.ID, req.User, req.App} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return invalid("give exactly one of a session id, --user or --app")
	}
	n, err := d.db.RevokeSessions(r.Context(), store.SessionFilter{ID: req.ID, User: req.User, App: req.App})
	d.sessions.clear() // a revoked session stops on its next request
	if err != nil {
		return err
	}
	if req.ID != "" && n == 0 {
		return notFound("no session %q", req.ID)
	}
	d.audit(r, "session.revoke", req.ID+req.User+req.App, req)
	return writeJSON(w, http.StatusOK, api.RevokeResult{Revoked: n})
}
