package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/store"
)

// route is one entry of the local API's route table.
type route struct {
	method string
	path   string
	h      func(w http.ResponseWriter, r *http.Request) error
}

// routes is the local API, sorted by path then method; a test keeps it so.
func (d *Daemon) routes() []route {
	return []route{
		{"GET", api.RouteApps, d.listApps},
		{"POST", api.RouteApps, d.onboardApp},
		{"DELETE", api.RouteApp, d.removeApp},
		{"GET", api.RouteApp, d.showApp},
		{"PATCH", api.RouteApp, d.patchApp},
		{"POST", api.RouteAppCertRetire, d.retireAppCert},
		{"POST", api.RouteAppCertRotate, d.rotateAppCert},
		{"GET", api.RouteAppMetadata, d.appMetadata},
		{"GET", api.RouteCAs, d.listCAs},
		{"POST", api.RouteCAs, d.addCA},
		{"DELETE", api.RouteCA, d.removeCA},
		{"GET", api.RouteCA, d.showCA},
		{"POST", api.RouteCAIssue, d.issueDevice},
		{"GET", api.RouteCatalog, d.listCatalog},
		{"GET", api.RouteEvents, d.tailEvents},
		{"GET", api.RouteEventsExport, d.exportEvents},
		{"GET", api.RouteIdPs, d.listIdPs},
		{"POST", api.RouteIdPs, d.addIdP},
		{"DELETE", api.RouteIdP, d.removeIdP},
		{"GET", api.RouteIdP, d.showIdP},
		{"GET", api.RouteIPTags, d.listIPTags},
		{"DELETE", api.RouteIPTag, d.removeIPTag},
		{"PUT", api.RouteIPTag, d.setIPTag},
		{"GET", api.RoutePolicies, d.listPolicies},
		{"POST", api.RoutePolicies, d.addPolicy},
		{"DELETE", api.RoutePolicy, d.removePolicy},
		{"GET", api.RoutePolicy, d.showPolicy},
		{"POST", api.RoutePolicyDisable, d.disablePolicy},
		{"POST", api.RoutePolicyEnable, d.enablePolicy},
		{"POST", api.RoutePoliciesApply, d.applyPolicies},
		{"GET", api.RoutePoliciesExport, d.exportPolicies},
		{"POST", api.RoutePoliciesTest, d.testPolicies},
		{"GET", api.RouteSessions, d.listSessions},
		{"POST", api.RouteSessionsRevoke, d.revokeSessions},
		{"GET", api.RouteStatus, d.status},
		{"GET", api.RouteTLSCA, d.tlsCAHandler},
	}
}

// apiHandler builds the local API's handler: the route table behind the guard.
func (d *Daemon) apiHandler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range d.routes() {
		mux.HandleFunc(rt.method+" "+rt.path, d.serve(rt.h))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no such API route: %s %s", r.Method, r.URL.Path), Status: http.StatusNotFound})
	})
	return d.guard(mux)
}

// guard refuses what must never reach a handler: callers without permission,
// anything a browser could send (Origin, Referer, a foreign Host), oversized
// bodies.
func (d *Daemon) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(api.VersionHeader, api.Version)
		peer := PeerFrom(r.Context())
		if !d.auth.allowed(peer) {
			d.log.Warn("local api: refused caller", "peer", peer.String(), "method", r.Method, "path", r.URL.Path)
			writeError(w, &api.Error{Code: api.CodeForbidden, Message: fmt.Sprintf("access denied: %s may not use casd (root, casd's user and members of admin_group may)", peer), Status: http.StatusForbidden})
			return
		}
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
			d.log.Warn("local api: refused browser-like request", "peer", peer.String(), "path", r.URL.Path)
			writeError(w, &api.Error{Code: api.CodeForbidden, Message: "requests with Origin or Referer are refused", Status: http.StatusForbidden})
			return
		}
		if r.Host != api.Host {
			d.log.Warn("local api: refused unexpected Host", "peer", peer.String(), "host", r.Host)
			writeError(w, &api.Error{Code: api.CodeForbidden, Message: "unexpected Host header", Status: http.StatusForbidden})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxRequestBody)
		next.ServeHTTP(w, r)
	})
}

// serve adapts a handler that returns an error; this is the one place errors
// become responses.
func (d *Daemon) serve(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e := toAPIError(err)
		if e.Status >= 500 {
			d.log.Error("local api", "method", r.Method, "path", r.URL.Path, "err", err)
		} else {
			d.log.Debug("local api", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, e)
	}
}

// toAPIError maps an error to the API's error body and status.
func toAPIError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		if ae.Status == 0 {
			ae.Status = statusOf(ae.Code)
		}
		return ae
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &api.Error{Code: api.CodeTooLarge, Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit), Status: http.StatusRequestEntityTooLarge}
	}
	code := store.ErrorCode(err)
	switch code {
	case store.ENOTFOUND:
		return &api.Error{Code: api.CodeNotFound, Message: err.Error(), Status: http.StatusNotFound}
	case store.ECONFLICT:
		return &api.Error{Code: api.CodeConflict, Message: err.Error(), Status: http.StatusConflict}
	case store.EINVALID:
		return &api.Error{Code: api.CodeInvalid, Message: err.Error(), Status: http.StatusBadRequest}
	}
	return &api.Error{Code: api.CodeInternal, Message: "internal error: " + err.Error(), Status: http.StatusInternalServerError}
}

func statusOf(code string) int {
	switch code {
	case api.CodeNotFound:
		return http.StatusNotFound
	case api.CodeConflict:
		return http.StatusConflict
	case api.CodeInvalid, api.CodeExpiredCert:
		return http.StatusBadRequest
	case api.CodeForbidden:
		return http.StatusForbidden
	case api.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case api.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, e *api.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	json.NewEncoder(w).Encode(e)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}

// invalid returns an EINVALID API error.
func invalid(format string, args ...any) error {
	return &api.Error{Code: api.CodeInvalid, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// notFound returns an ENOTFOUND API error.
func notFound(format string, args ...any) error {
	return &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf(format, args...), Status: http.StatusNotFound}
}

// readJSON decodes the request body strictly into v.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return invalid("request body is empty")
		}
		return invalid("request body: %v", err)
	}
	return nil
}

// audit records an admin event for a change made through the API, and waits
// until it is durable.
func (d *Daemon) audit(r *http.Request, action, object string, details any) {
	peer := PeerFrom(r.Context())
	ev := store.Event{
		Time:   d.now(),
		Kind:   "admin",
		Action: action,
		Object: object,
		User:   "uid:" + strings.TrimPrefix(fmt.Sprint(peer.UID), " "),
		Reason: peer.String(),
	}
	if details != nil {
		if b, err := json.Marshal(details); err == nil {
			ev.Details = b
		}
	}
	if _, err := d.events.AppendSync(r.Context(), ev); err != nil {
		d.log.Error("audit event", "action", action, "object", object, "err", err)
	}
}
