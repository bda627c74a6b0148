package daemon

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/store"
)

func toAPIIPTag(t *store.IPTag) api.IPTag {
	return api.IPTag{Name: t.Name, CIDRs: t.CIDRs, UpdatedAt: t.UpdatedAt.UTC()}
}

func (d *Daemon) listIPTags(w http.ResponseWriter, r *http.Request) error {
	tags, err := d.db.IPTags(r.Context())
	if err != nil {
		return err
	}
	out := make([]api.IPTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, toAPIIPTag(t))
	}
	return writeJSON(w, http.StatusOK, out)
}

// ParseCIDRs checks and canonicalises a list of networks. A bare address is
// taken as a single-host network.
func ParseCIDRs(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, invalid("cidrs: at least one CIDR is required")
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			p, err = netip.ParsePrefix(s)
			if err != nil {
				return nil, invalid("cidrs: %q is not a valid CIDR", s)
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, invalid("cidrs: %q is not a valid CIDR or address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c := p.Masked().String()
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func (d *Daemon) setIPTag(w http.ResponseWriter, r *http.Request) error {
	var req api.IPTag
	if err := readJSON(r, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	if req.Name != "" && req.Name != name {
		return invalid("name: %q in the body differs from %q in the path", req.Name, name)
	}
	cidrs, err := ParseCIDRs(req.CIDRs)
	if err != nil {
		return err
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	t := &store.IPTag{Name: name, CIDRs: cidrs}
	if err := d.db.SetIPTag(r.Context(), t); err != nil {
		return err
	}
	if err := d.recompile(r.Context()); err != nil {
		return err
	}
	d.audit(r, "iptag.set", name, map[string]any{"cidrs": cidrs})
	got, err := d.db.IPTag(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAPIIPTag(got))
}

func (d *Daemon) removeIPTag(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if users := d.policiesUsingIPTag(r.Context(), name); len(users) > 0 {
		return &api.Error{Code: api.CodeConflict, Message: "ip tag \"" + name + "\" is used by policies: " + strings.Join(users, ", "), Status: http.StatusConflict}
	}
	if err := d.db.DeleteIPTag(r.Context(), name); err != nil {
		return err
	}
	if err := d.recompile(r.Context()); err != nil {
		return err
	}
	d.audit(r, "iptag.rm", name, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
