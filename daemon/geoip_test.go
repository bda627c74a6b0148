package daemon

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/policy"
)

// writeCountryDB writes a MaxMind-format country database mapping each
// network to an ISO country code.
func writeCountryDB(t *testing.T, nets map[string]string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, cc := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(cc)}}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestGeoIPCountryFilter(t *testing.T) {
	ctx := context.Background()
	// Without a database, a country filter is accepted with a warning and
	// every address is in country "unknown".
	td := startTestDaemon(t, testConfig(t))
	deny := policy.Policy{Name: "no-de", Kind: policy.KindAccess, Action: policy.ActionBlock, Filters: policy.Filters{Countries: policy.StringFilter{Include: []string{"DE"}}}}
	w, err := td.client.AddPolicy(ctx, deny)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Warnings) == 0 || !strings.Contains(strings.Join(w.Warnings, " "), "countries") {
		t.Errorf("no warning for a country filter without a database: %v", w.Warnings)
	}
	res, err := td.client.TestPolicies(ctx, api.PolicyTestRequest{User: "a@example.com", IP: "203.0.113.5"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Country != "unknown" || res.Decision.Action != policy.ActionAllow {
		t.Fatalf("without a database: %+v", res)
	}
	td.stop()

	// With one, addresses resolve and the filter applies.
	cfg := testConfig(t)
	cfg.GeoIP.Database = writeCountryDB(t, map[string]string{"81.2.69.0/24": "DE", "2a01:4f8::/32": "FR"})
	td = startTestDaemon(t, cfg)
	if _, err := td.client.AddPolicy(ctx, deny); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]struct {
		country string
		action  policy.Action
	}{
		"81.2.69.5":    {"DE", policy.ActionBlock},
		"2a01:4f8::1":  {"FR", policy.ActionAllow},
		"198.51.100.9": {"unknown", policy.ActionAllow},
	} {
		res, err := td.client.TestPolicies(ctx, api.PolicyTestRequest{User: "a@example.com", IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		if res.Country != want.country || res.Decision.Action != want.action {
			t.Errorf("%s: country %q decision %s, want %s %s", ip, res.Country, res.Decision.Action, want.country, want.action)
		}
	}
}
