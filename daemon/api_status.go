package daemon

import (
	"net/http"
	"os"
	"slices"

	"github.com/cas-proxy/cas/api"
)

func (d *Daemon) status(w http.ResponseWriter, r *http.Request) error {
	c, err := d.db.Counts(r.Context())
	if err != nil {
		return err
	}
	cfg := d.config()
	d.mu.Lock()
	ls := slices.Clone(d.listeners)
	d.mu.Unlock()
	now := d.now()
	return writeJSON(w, http.StatusOK, api.Status{
		Version:    api.Version,
		PID:        os.Getpid(),
		StartedAt:  d.started.UTC(),
		UptimeSecs: now.Sub(d.started).Seconds(),
		StateDir:   cfg.StateDir,
		Database:   d.dbPath(),
		Socket:     cfg.Socket,
		PortalURL:  d.portalURL(),
		Listeners:  ls,
		Counts: api.Counts{
			Apps: c.Apps, IdPs: c.IdPs, Policies: c.Policies, CAs: c.CAs, IPTags: c.IPTags, Events: c.Events, Sessions: c.Sessions,
		},
	})
}
