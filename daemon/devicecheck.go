package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/cas-proxy/cas/device"
	"github.com/cas-proxy/cas/store"
)

// ticketDevice holds a device check's result until the portal takes it.
const ticketDevice = "device"

// deviceResult is the outcome of a device check, as kept with a login and
// recorded in its event.
type deviceResult struct {
	State   string `json:"state"`        // managed | unmanaged
	Reason  string `json:"reason"`       // managed, no_certificate, untrusted_issuer, expired, revoked, wrong_usage, not_checked…
	CA      string `json:"ca,omitempty"` // the root CA it chains to
	Subject string `json:"subject,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Serial  string `json:"serial,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
}

// deviceUnchecked is the device state of a login no device policy asked
// about.
func deviceUnchecked() deviceResult {
	return deviceResult{State: "unmanaged", Reason: "not_checked"}
}

// devicePool holds the current pool of root CAs.
type devicePool struct{ p atomic.Pointer[device.Pool] }

// reloadDevicePool rebuilds the pool of root CAs from the store, reading CRL
// files. A CA whose CRL file cannot be read or parsed is left out of the
// pool (fail closed: its devices count as unmanaged) and logged.
func (d *Daemon) reloadDevicePool(ctx context.Context) {
	cas, err := d.db.CAs(ctx)
	if err != nil {
		d.log.Error("device pool: list CAs", "err", err)
		return
	}
	var roots []device.Root
	var crlFiles []string
	for _, c := range cas {
		cert, err := device.ParseRootCA([]byte(c.CertPEM))
		if err != nil {
			d.log.Error("device pool: CA left out", "ca", c.Name, "err", err)
			continue
		}
		root := device.Root{Name: c.Name, Cert: cert}
		crlData := []byte(c.CRLPEM)
		if c.CRLPath != "" {
			crlFiles = append(crlFiles, c.CRLPath)
			crlData, err = os.ReadFile(c.CRLPath)
			if err != nil {
				d.log.Error("device pool: CA left out: CRL unreadable", "ca", c.Name, "crl", c.CRLPath, "err", err)
				continue
			}
		}
		if len(crlData) > 0 {
			crl, err := device.ParseCRL(crlData)
			if err != nil {
				d.log.Error("device pool: CA left out: bad CRL", "ca", c.Name, "err", err)
				continue
			}
			root.CRL = crl
		}
		roots = append(roots, root)
	}
	pool, err := device.NewPool(roots)
	if err != nil {
		d.log.Error("device pool", "err", err)
		return
	}
	d.devices.p.Store(pool)
	d.crlWatch.set(crlFiles)
}

// crlWatcher notices when a CRL file changes, by its modification time and
// size, so that a revocation takes effect without a restart.
type crlWatcher struct {
	files atomic.Pointer[map[string]string]
}

func (w *crlWatcher) set(files []string) {
	m := map[string]string{}
	for _, f := range files {
		m[f] = fileStamp(f)
	}
	w.files.Store(&m)
}

func fileStamp(f string) string {
	fi, err := os.Stat(f)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
}

// changed reports whether any watched file differs from when it was read.
func (w *crlWatcher) changed() bool {
	m := w.files.Load()
	if m == nil {
		return false
	}
	for f, stamp := range *m {
		if fileStamp(f) != stamp {
			return true
		}
	}
	return false
}

// watchCRLs reloads the device pool when a CRL file changes.
func (d *Daemon) watchCRLs(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d.crlWatch.changed() {
				d.log.Info("device pool: a CRL file changed; reloading")
				d.reloadDevicePool(ctx)
			}
		}
	}
}

// parkForDevice keeps a validated login aside and sends the browser to the
// device host, whose TLS handshake asks for a client certificate.
func (d *Daemon) parkForDevice(w http.ResponseWriter, r *http.Request, app *appRuntime, lg *login) {
	var b [32]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	lg.Browser = d.browserID(w, r)
	data, err := json.Marshal(lg)
	if err == nil {
		err = d.db.PutTicket(r.Context(), ticketPending, hashToken(id), data, d.now().Add(pendingTTL))
	}
	if err != nil {
		d.loginRefused(w, r, app, lg, "internal_error", err)
		return
	}
	q := url.Values{"p": {id}, "app": {app.app.Name}}
	securityHeaders(w)
	http.Redirect(w, r, d.hostURL(d.config().DeviceHost)+"/check?"+q.Encode(), http.StatusSeeOther)
}

// checkDevice verifies the connection's client certificate, if any.
func (d *Daemon) checkDevice(r *http.Request) deviceResult {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return deviceResult{State: "unmanaged", Reason: "no_certificate"}
	}
	pool := d.devices.p.Load()
	if pool == nil {
		return deviceResult{State: "unmanaged", Reason: "untrusted_issuer"}
	}
	res := pool.Verify(r.TLS.PeerCertificates, d.now())
	return deviceResult{State: res.State, Reason: res.Reason, CA: res.CA, Subject: res.Subject, Issuer: res.Issuer, Serial: res.Serial, SHA256: res.SHA256}
}

// serveDevice is the device host: /check records the device state of a
// parked login and returns the browser to the portal; / shows a person
// what casd sees of this device.
func (d *Daemon) serveDevice(w http.ResponseWriter, r *http.Request) {
	res := d.checkDevice(r)
	switch r.URL.Path {
	case "/check":
		p, app := r.URL.Query().Get("p"), r.URL.Query().Get("app")
		if len(p) != 64 || d.app(app) == nil {
			d.errorPage(w, http.StatusBadRequest, "", "Invalid device check", "This device check link is not valid. Start the sign-in again.")
			return
		}
		data, _ := json.Marshal(res)
		if err := d.db.PutTicket(r.Context(), ticketDevice, hashToken(p), data, d.now().Add(pendingTTL)); err != nil {
			d.errorPage(w, http.StatusInternalServerError, app, "Device check failed", "The device check could not be recorded. Start the sign-in again.")
			return
		}
		q := url.Values{"p": {p}}
		http.Redirect(w, r, d.portalURL()+"/saml/"+url.PathEscape(app)+"/finish?"+q.Encode(), http.StatusSeeOther)
	case "/":
		msg := "This device is unmanaged (" + res.Reason + ")."
		if res.State == "managed" {
			msg = "This device is managed: its certificate " + res.Subject + " chains to the root CA " + res.CA + "."
		}
		renderPage(w, page{Kind: "notice", Badge: "Device", Title: "Device check", Message: msg})
	default:
		d.errorPage(w, http.StatusNotFound, "", "Not found", "There is nothing at this address.")
	}
}

// finishAfterDevice takes a parked login and its device result, both single
// use, checks the browser is the one that started it, and decides.
func (d *Daemon) finishAfterDevice(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app")
	app := d.app(name)
	if app == nil {
		d.errorPage(w, http.StatusNotFound, "", "Unknown app", "This sign-in address is not configured.")
		return
	}
	p := r.URL.Query().Get("p")
	if len(p) != 64 {
		d.loginRefused(w, r, app, nil, "pending_invalid", fmt.Errorf("finish without a valid pending id"))
		return
	}
	data, err := d.db.TakeTicket(r.Context(), ticketPending, hashToken(p))
	if err != nil {
		reason := "pending_expired"
		if store.ErrorCode(err) != store.ENOTFOUND {
			reason = "internal_error"
		}
		d.loginRefused(w, r, app, nil, reason, err)
		return
	}
	var lg login
	if err := json.Unmarshal(data, &lg); err != nil || lg.App != name || lg.Identity == nil {
		d.loginRefused(w, r, app, nil, "pending_invalid", fmt.Errorf("parked login does not decode or is for another app: %v", err))
		return
	}
	if b := existingBrowserID(r); b == "" || b != lg.Browser {
		d.loginRefused(w, r, app, &lg, "pending_wrong_browser", fmt.Errorf("parked login finished by another browser"))
		return
	}
	lg.Device = deviceResult{State: "unmanaged", Reason: "no_check"}
	if dd, err := d.db.TakeTicket(r.Context(), ticketDevice, hashToken(p)); err == nil {
		var res deviceResult
		if json.Unmarshal(dd, &res) == nil && (res.State == "managed" || res.State == "unmanaged") {
			lg.Device = res
		}
	}
	d.events.Append(store.Event{Time: d.now(), Kind: "device", App: name, User: lg.Identity.User, SourceIP: lg.IP, UserAgent: lg.UserAgent, Device: lg.Device.State, Action: "device.check", Reason: lg.Device.Reason, Object: lg.Device.Subject})
	d.decideLogin(w, r, app, &lg)
}
