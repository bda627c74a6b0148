package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang"
)

// geoIP resolves addresses to ISO 3166 country codes from an optional
// MaxMind-format database. Without one, every country is "unknown".
type geoIP struct {
	mu     sync.RWMutex
	path   string
	reader *maxminddb.Reader
}

// open (re)opens the database at path; an empty path closes it.
func (g *geoIP) open(path string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if path == g.path && (g.reader != nil || path == "") {
		return nil
	}
	var r *maxminddb.Reader
	if path != "" {
		var err error
		r, err = maxminddb.Open(path)
		if err != nil {
			return fmt.Errorf("geoip.database: open %s: %w", path, err)
		}
	}
	if g.reader != nil {
		g.reader.Close()
	}
	g.path, g.reader = path, r
	return nil
}

// configured reports whether a database is loaded.
func (g *geoIP) configured() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.reader != nil
}

// country returns the ISO country code of ip, or "unknown".
func (g *geoIP) country(ip netip.Addr) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.reader == nil || !ip.IsValid() {
		return "unknown"
	}
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
		RegisteredCountry struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"registered_country"`
	}
	if err := g.reader.Lookup(net.IP(ip.AsSlice()), &rec); err != nil {
		return "unknown"
	}
	code := rec.Country.ISOCode
	if code == "" {
		code = rec.RegisteredCountry.ISOCode
	}
	if code == "" {
		return "unknown"
	}
	return strings.ToUpper(code)
}

func (g *geoIP) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reader != nil {
		g.reader.Close()
		g.reader = nil
	}
}
