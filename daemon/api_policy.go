package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"strings"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/policy"
	"github.com/cas-proxy/cas/store"
)

func toPolicyInfo(r *store.Policy) (api.PolicyInfo, error) {
	p, err := decodePolicy(r)
	if err != nil {
		return api.PolicyInfo{}, err
	}
	return api.PolicyInfo{Policy: p, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}, nil
}

func (d *Daemon) listPolicies(w http.ResponseWriter, r *http.Request) error {
	recs, err := d.db.Policies(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.PolicyInfo, 0, len(recs))
	for _, rec := range recs {
		pi, err := toPolicyInfo(rec)
		if err != nil {
			return err
		}
		out = append(out, pi)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) showPolicy(w http.ResponseWriter, r *http.Request) error {
	rec, err := d.db.Policy(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	pi, err := toPolicyInfo(rec)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pi)
}

// validatePolicy checks one policy against the live references, returning
// warnings that do not prevent storing it.
func (d *Daemon) validatePolicy(r *http.Request, p *policy.Policy) ([]string, error) {
	env, err := d.policyEnv(r.Context())
	if err != nil {
		return nil, err
	}
	if err := p.Validate(env); err != nil {
		return nil, invalid("%v", err)
	}
	return warningStrings(p.Warnings(env)), nil
}

// storePolicy writes a new or changed policy and swaps in the new set.
func (d *Daemon) storePolicy(r *http.Request, p policy.Policy, create bool) (api.PolicyWrite, error) {
	warnings, err := d.validatePolicy(r, &p)
	if err != nil {
		return api.PolicyWrite{}, err
	}
	if err := d.compileWith(r.Context(), []policy.Policy{p}, nil); err != nil {
		return api.PolicyWrite{}, invalid("%v", err)
	}
	rec, err := encodePolicy(p)
	if err != nil {
		return api.PolicyWrite{}, err
	}
	if create {
		err = d.db.CreatePolicy(r.Context(), rec)
	} else {
		err = d.db.UpdatePolicy(r.Context(), rec)
	}
	if err != nil {
		return api.PolicyWrite{}, err
	}
	if err := d.recompile(r.Context()); err != nil {
		return api.PolicyWrite{}, err
	}
	got, err := d.db.Policy(r.Context(), p.Name)
	if err != nil {
		return api.PolicyWrite{}, err
	}
	pi, err := toPolicyInfo(got)
	return api.PolicyWrite{Policy: pi, Warnings: warnings}, err
}

func (d *Daemon) addPolicy(w http.ResponseWriter, r *http.Request) error {
	var p policy.Policy
	if err := readJSON(r, &p); err != nil {
		return err
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	out, err := d.storePolicy(r, p, true)
	if err != nil {
		return err
	}
	d.audit(r, "policy.add", p.Name, p)
	return writeJSON(w, http.StatusCreated, out)
}

func (d *Daemon) removePolicy(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if err := d.db.DeletePolicy(r.Context(), name); err != nil {
		return err
	}
	if err := d.recompile(r.Context()); err != nil {
		return err
	}
	d.audit(r, "policy.rm", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) setEnabled(w http.ResponseWriter, r *http.Request, enabled bool) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	rec, err := d.db.Policy(r.Context(), name)
	if err != nil {
		return err
	}
	p, err := decodePolicy(rec)
	if err != nil {
		return err
	}
	if enabled {
		p.Enabled = nil // the default
	} else {
		f := false
		p.Enabled = &f
	}
	out, err := d.storePolicy(r, p, false)
	if err != nil {
		return err
	}
	d.audit(r, map[bool]string{true: "policy.enable", false: "policy.disable"}[enabled], name, nil)
	return writeJSON(w, http.StatusOK, out)
}

func (d *Daemon) enablePolicy(w http.ResponseWriter, r *http.Request) error {
	return d.setEnabled(w, r, true)
}

func (d *Daemon) disablePolicy(w http.ResponseWriter, r *http.Request) error {
	return d.setEnabled(w, r, false)
}

// applyPolicies makes the stored policies match a declarative document:
// all of it or nothing, in one transaction.
func (d *Daemon) applyPolicies(w http.ResponseWriter, r *http.Request) error {
	var req api.ApplyRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	desired, err := policy.ParseDocument([]byte(req.Document))
	if err != nil {
		return invalid("%v", err)
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	env, err := d.policyEnv(r.Context())
	if err != nil {
		return err
	}
	var warnings []string
	for i := range desired {
		if err := desired[i].Validate(env); err != nil {
			return invalid("%v", err)
		}
		warnings = append(warnings, warningStrings(desired[i].Warnings(env))...)
	}
	current, err := d.loadPolicies(r.Context())
	if err != nil {
		return err
	}
	plan := policy.PlanChanges(current, desired, req.Prune)
	var upserts []policy.Policy
	upserts = append(upserts, plan.Add...)
	for _, ch := range plan.Change {
		upserts = append(upserts, ch.To)
	}
	deletes := make([]string, 0, len(plan.Remove))
	for _, p := range plan.Remove {
		deletes = append(deletes, p.Name)
	}
	if err := d.compileWith(r.Context(), upserts, deletes); err != nil {
		return invalid("%v", err)
	}
	res := api.ApplyResult{Plan: plan, Warnings: warnings}
	if req.DryRun || plan.Empty() {
		return writeJSON(w, http.StatusOK, res)
	}
	recs := make([]*store.Policy, 0, len(upserts))
	for _, p := range upserts {
		rec, err := encodePolicy(p)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if err := d.db.ApplyPolicies(r.Context(), recs, deletes); err != nil {
		return err
	}
	if err := d.recompile(r.Context()); err != nil {
		return err
	}
	res.Applied = true
	d.audit(r, "policy.apply", fmt.Sprintf("%d added, %d changed, %d removed", len(plan.Add), len(plan.Change), len(plan.Remove)), plan)
	return writeJSON(w, http.StatusOK, res)
}

func (d *Daemon) exportPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, err := d.loadPolicies(r.Context())
	if err != nil {
		return err
	}
	doc, err := policy.MarshalDocument(ps)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, err = w.Write(doc)
	return err
}

// testPolicies evaluates a hypothetical login or activity against the live
// set and explains the outcome.
func (d *Daemon) testPolicies(w http.ResponseWriter, r *http.Request) error {
	var req api.PolicyTestRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ps := d.policies.Load()
	kind := policy.Kind(req.Kind)
	if kind == "" {
		kind = policy.KindAccess
	}
	if kind != policy.KindAccess && kind != policy.KindSession {
		return invalid("kind: %q is not one of access, session", req.Kind)
	}
	ip, err := netip.ParseAddr(req.IP)
	if err != nil {
		return invalid("ip: %q is not an IP address", req.IP)
	}
	if req.App != "" && !ps.env.Apps[req.App] {
		return invalid("app: no app named %q (cas app list)", req.App)
	}
	switch req.Device {
	case "", "managed", "unmanaged":
	default:
		return invalid("device: %q is not one of managed, unmanaged", req.Device)
	}
	if req.Device == "" {
		req.Device = "unmanaged"
	}
	country := strings.ToUpper(req.Country)
	switch country {
	case "":
		country = d.geo.country(ip)
	case "UNKNOWN":
		country = "unknown"
	}
	c := &policy.Context{
		Kind: kind, App: req.App, User: req.User, Groups: req.Groups, IP: ip, Country: country,
		UserAgent: req.UserAgent, UA: ps.set.ParseUA(req.UserAgent),
		Device: policy.DeviceState(req.Device),
	}
	if strings.Contains(req.User, "@") {
		c.Email = req.User
	}
	if kind == policy.KindSession {
		if req.Activity == "" {
			return invalid("activity: a session test needs an activity (view, download, upload, export, send)")
		}
		c.Activity = req.Activity
		if req.FileName != "" || req.FileSize != 0 || req.MIME != "" {
			size := req.FileSize
			if size == 0 {
				size = -1
			}
			c.File = &policy.FileInfo{Name: req.FileName, Ext: strings.TrimPrefix(strings.ToLower(path.Ext(req.FileName)), "."), Size: size, MIME: req.MIME}
		}
		if req.Content != nil {
			hits, err := policy.ScanReader(bytes.NewReader(req.Content), ps.set.Detectors())
			if err != nil {
				return err
			}
			c.Content = &hits
		}
	}
	var tags []string
	for name, prefixes := range ps.env.IPTags {
		if inPrefixes(ip, prefixes) {
			tags = append(tags, name)
		}
	}
	return writeJSON(w, http.StatusOK, api.PolicyTestResult{
		Decision:    ps.set.Decide(c),
		Explanation: ps.set.Explain(c),
		Country:     c.Country,
		IPTags:      tags,
	})
}

func warningStrings(ws []policy.Warning) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.String())
	}
	return out
}
