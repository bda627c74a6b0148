package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/cas-proxy/cas/api"
	"github.com/cas-proxy/cas/policy"
)

// Config is casd's configuration. Its sources, strongest first: command-line
// flags, CAS_* environment variables (CAS_EVENTS_RETENTION for
// events.retention), the YAML file, and the defaults below.
type Config struct {
	// ConfigFile is where the YAML file was looked for (not itself a key).
	ConfigFile string `mapstructure:"-" yaml:"-"`

	LogLevel   string `mapstructure:"log_level" yaml:"log_level"`
	StateDir   string `mapstructure:"state_dir" yaml:"state_dir"`
	Socket     string `mapstructure:"socket" yaml:"socket"`
	AdminGroup string `mapstructure:"admin_group" yaml:"admin_group"`

	Listen         string   `mapstructure:"listen" yaml:"listen"`
	PortalHost     string   `mapstructure:"portal_host" yaml:"portal_host"`
	DeviceHost     string   `mapstructure:"device_host" yaml:"device_host"`
	Suffix         string   `mapstructure:"suffix" yaml:"suffix"`
	HostMapping    string   `mapstructure:"host_mapping" yaml:"host_mapping"`
	PublicPort     int      `mapstructure:"public_port" yaml:"public_port"`
	TrustedProxies []string `mapstructure:"trusted_proxies" yaml:"trusted_proxies"`
	// trusted is TrustedProxies parsed, by finish: the per-request code
	// reads it without parsing.
	trusted []netip.Prefix

	TLS     TLSConfig     `mapstructure:"tls" yaml:"tls"`
	Events  EventsConfig  `mapstructure:"events" yaml:"events"`
	GeoIP   GeoIPConfig   `mapstructure:"geoip" yaml:"geoip"`
	Policy  PolicyConfig  `mapstructure:"policy" yaml:"policy"`
	SAML    SAMLConfig    `mapstructure:"saml" yaml:"saml"`
	Session SessionConfig `mapstructure:"session" yaml:"session"`
	Inspect InspectConfig `mapstructure:"inspect" yaml:"inspect"`
	UA      UAConfig      `mapstructure:"ua" yaml:"ua"`
}

// UAConfig sets the versions below which a browser or an OS is tagged
// outdated-browser or outdated-os; families not named keep their defaults
// (Chrome and Edge 120, Firefox 115, Safari 16, Opera 100, Samsung Internet
// 23; Windows 10, macOS 10.15, iOS 16, Android 10).
type UAConfig struct {
	MinBrowser map[string]int    `mapstructure:"min_browser" yaml:"min_browser,omitempty"`
	MinOS      map[string]string `mapstructure:"min_os" yaml:"min_os,omitempty"` // "16" or "10.15"
}

// TLSConfig names a certificate for the proxy listener; empty means casd's
// internal CA issues one per name on demand.
type TLSConfig struct {
	Cert string `mapstructure:"cert" yaml:"cert"`
	Key  string `mapstructure:"key" yaml:"key"`
}

// EventsConfig controls the event log.
type EventsConfig struct {
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
	Views     string        `mapstructure:"views" yaml:"views"` // html | all | none
}

// GeoIPConfig names an optional MaxMind-format country database.
type GeoIPConfig struct {
	Database string `mapstructure:"database" yaml:"database"`
}

// PolicyConfig holds what applies when no policy matches.
type PolicyConfig struct {
	DefaultAccess  string `mapstructure:"default_access" yaml:"default_access"`
	DefaultSession string `mapstructure:"default_session" yaml:"default_session"`
}

// SAMLConfig tunes response validation.
type SAMLConfig struct {
	MaxSkew time.Duration `mapstructure:"max_skew" yaml:"max_skew"`
}

// SessionConfig bounds monitored sessions.
type SessionConfig struct {
	IdleTimeout time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	MaxLifetime time.Duration `mapstructure:"max_lifetime" yaml:"max_lifetime"`
	// ForwardedFor is what apps see in X-Forwarded-For: drop (casd is the
	// client), append (to what the client sent), replace (only the client
	// address casd saw; trusted_proxies apply).
	ForwardedFor string `mapstructure:"forwarded_for" yaml:"forwarded_for"`
	// UpstreamHTTP2 lets casd speak HTTP/2 to apps that offer it. Off by
	// default: a pool of HTTP/1.1 connections carries a proxy's many
	// concurrent requests with less CPU on both sides than one multiplexed
	// HTTP/2 connection (measured in bench/).
	UpstreamHTTP2 bool `mapstructure:"upstream_http2" yaml:"upstream_http2"`
}

// InspectConfig bounds content inspection.
type InspectConfig struct {
	MaxBytes int64 `mapstructure:"max_bytes" yaml:"max_bytes"`
}

// defaults are the values of every key; every key must appear here, which is
// also how viper learns the keys it may take from the environment.
func defaults() map[string]any {
	return map[string]any{
		"log_level":              "info",
		"state_dir":              defaultStateDir(),
		"socket":                 api.DefaultSocketPath(),
		"admin_group":            "",
		"listen":                 "127.0.0.1:8443",
		"portal_host":            "cas.localhost",
		"device_host":            "",
		"suffix":                 "",
		"host_mapping":           "suffix",
		"public_port":            0,
		"trusted_proxies":        []string{},
		"tls.cert":               "",
		"tls.key":                "",
		"events.retention":       "2160h",
		"events.views":           "html",
		"geoip.database":         "",
		"policy.default_access":  "allow",
		"policy.default_session": "allow",
		"saml.max_skew":          "3m",
		"session.idle_timeout":   "1h",
		"session.max_lifetime":   "336h",
		"session.forwarded_for":  "drop",
		"session.upstream_http2": false,
		"inspect.max_bytes":      50 << 20,
		"ua.min_browser":         map[string]int{},
		"ua.min_os":              map[string]string{},
	}
}

func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/cas"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cas")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "cas")
	}
	return filepath.Join(os.TempDir(), "cas-state-"+strconv.Itoa(os.Geteuid()))
}

// DefaultConfigFile reports where casd looks for its YAML file when --config
// is not given: /etc/cas/casd.yaml for root, else $XDG_CONFIG_HOME/cas/casd.yaml.
func DefaultConfigFile() string {
	if os.Geteuid() == 0 {
		return "/etc/cas/casd.yaml"
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "cas", "casd.yaml")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".config", "cas", "casd.yaml")
	}
	return ""
}

// flagKeys maps command-line flags to configuration keys.
var flagKeys = map[string]string{
	"state-dir": "state_dir",
	"socket":    "socket",
	"listen":    "listen",
	"log-level": "log_level",
}

// LoadConfig builds the configuration from the flags, the environment, the
// file and the defaults. explicit says whether the file was named on the
// command line (then it must exist). Unknown keys in the file and bad values
// are errors naming the key.
func LoadConfig(file string, explicit bool, flags *pflag.FlagSet, environ []string) (*Config, error) {
	v := viper.New()
	for k, val := range defaults() {
		v.SetDefault(k, val)
	}
	v.SetConfigType("yaml")
	if file != "" {
		data, err := os.ReadFile(file)
		switch {
		case err == nil:
			if err := checkKnownKeys(data); err != nil {
				return nil, fmt.Errorf("config %s: %w", file, err)
			}
			if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
				return nil, fmt.Errorf("config %s: %w", file, err)
			}
		case errors.Is(err, os.ErrNotExist) && !explicit:
		default:
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	// Environment: only CAS_* variables naming a known key; others (CAS_SOCKET
	// is also the CLI's) are left alone.
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "CAS_") {
			continue
		}
		key := envKey(name)
		if key == "" {
			continue
		}
		v.Set(key, val)
	}
	if flags != nil {
		for fl, key := range flagKeys {
			if f := flags.Lookup(fl); f != nil && f.Changed {
				v.Set(key, f.Value.String())
			}
		}
	}
	var c Config
	err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		durationHook, sizeHook, mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.ConfigFile = file
	if err := c.finish(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// envKey maps CAS_EVENTS_RETENTION to events.retention, or "" when no key
// matches.
func envKey(name string) string {
	want := strings.ToLower(strings.TrimPrefix(name, "CAS_"))
	for k := range defaults() {
		if strings.ReplaceAll(k, ".", "_") == want {
			return k
		}
	}
	return ""
}

// checkKnownKeys reports the first key in the YAML document that casd does
// not know, with its line.
func checkKnownKeys(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return nil
	}
	known := defaults()
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("line %d: %s must be a mapping", n.Line, strings.TrimSuffix(prefix, "."))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := prefix + k.Value
			if _, ok := known[key]; ok {
				continue
			}
			if hasPrefixKey(known, key+".") {
				if err := walk(val, key+"."); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("line %d: unknown key %q", k.Line, key)
		}
		return nil
	}
	return walk(doc.Content[0], "")
}

func hasPrefixKey(m map[string]any, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// ParseDuration parses a Go duration, also accepting whole days ("90d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	return ParseDuration(data.(string))
}

// ParseSize parses a byte size: a plain number or one with a unit (KiB, MiB,
// GiB, KB, MB, GB).
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("invalid size %q", s)
			}
			return v * u.mult, nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return v, nil
}

func sizeHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Int64 || to == reflect.TypeOf(time.Duration(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	return ParseSize(data.(string))
}

// finish fills derived values and checks every value, naming the key.
func (c *Config) finish() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.StateDir == "" {
		return errors.New("state_dir: must not be empty")
	}
	if c.Socket == "" {
		return errors.New("socket: must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port: %v", c.Listen, err)
	}
	c.PortalHost = strings.ToLower(strings.TrimSuffix(c.PortalHost, "."))
	if !validHost(c.PortalHost) {
		return fmt.Errorf("portal_host: %q is not a host name", c.PortalHost)
	}
	if c.DeviceHost == "" {
		c.DeviceHost = "device." + c.PortalHost
	}
	if !validHost(c.DeviceHost) {
		return fmt.Errorf("device_host: %q is not a host name", c.DeviceHost)
	}
	if c.Suffix == "" {
		c.Suffix = c.PortalHost
	}
	if !validHost(c.Suffix) {
		return fmt.Errorf("suffix: %q is not a host name", c.Suffix)
	}
	switch c.HostMapping {
	case "suffix", "flat":
	default:
		return fmt.Errorf("host_mapping: %q is not one of suffix, flat", c.HostMapping)
	}
	if c.PublicPort < 0 || c.PublicPort > 65535 {
		return fmt.Errorf("public_port: %d is out of range", c.PublicPort)
	}
	c.trusted = nil
	for _, p := range c.TrustedProxies {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, err2 := netip.ParseAddr(p)
			if err2 != nil {
				return fmt.Errorf("trusted_proxies: %q is not an address or CIDR", p)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.trusted = append(c.trusted, pfx)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("tls: cert and key go together")
	}
	if c.Events.Retention < time.Hour {
		return fmt.Errorf("events.retention: %s is shorter than an hour", c.Events.Retention)
	}
	switch c.Events.Views {
	case "html", "all", "none":
	default:
		return fmt.Errorf("events.views: %q is not one of html, all, none", c.Events.Views)
	}
	for key, a := range map[string]string{"policy.default_access": c.Policy.DefaultAccess, "policy.default_session": c.Policy.DefaultSession} {
		switch a {
		case "allow", "block":
		case "monitor":
			if key == "policy.default_session" {
				return fmt.Errorf("%s: %q is not one of allow, block", key, a)
			}
		default:
			return fmt.Errorf("%s: %q is not one of allow, block, monitor", key, a)
		}
	}
	if c.SAML.MaxSkew < 0 || c.SAML.MaxSkew > time.Hour {
		return fmt.Errorf("saml.max_skew: %s is out of range (0 to 1h)", c.SAML.MaxSkew)
	}
	if c.Session.IdleTimeout <= 0 || c.Session.MaxLifetime <= 0 {
		return errors.New("session.idle_timeout and session.max_lifetime must be positive")
	}
	switch c.Session.ForwardedFor {
	case "drop", "append", "replace":
	default:
		return fmt.Errorf("session.forwarded_for: %q is not one of drop, append, replace", c.Session.ForwardedFor)
	}
	if c.Inspect.MaxBytes <= 0 {
		return errors.New("inspect.max_bytes must be positive")
	}
	if _, err := c.UA.policyConfig(); err != nil {
		return err
	}
	return nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// YAML renders the effective configuration, for casd --print-config.
func (c *Config) YAML() []byte {
	out, err := yaml.Marshal(c)
	if err != nil {
		return []byte("# " + err.Error() + "\n")
	}
	return out
}

// diff lists the keys whose values differ between c and n, sorted.
func (c *Config) diff(n *Config) []string {
	var a, b map[string]any
	ya, yb := c.YAML(), n.YAML()
	_ = yaml.Unmarshal(ya, &a)
	_ = yaml.Unmarshal(yb, &b)
	var out []string
	flatDiff("", a, b, &out)
	sort.Strings(out)
	return out
}

func flatDiff(prefix string, a, b map[string]any, out *[]string) {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		am, aok := a[k].(map[string]any)
		bm, bok := b[k].(map[string]any)
		if aok && bok {
			flatDiff(prefix+k+".", am, bm, out)
			continue
		}
		if fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
			*out = append(*out, prefix+k)
		}
	}
}

// policyConfig turns the configured thresholds into the policy package's,
// over its defaults.
func (u UAConfig) policyConfig() (policy.UAConfig, error) {
	cfg := policy.UAConfig{MinBrowser: policy.DefaultMinBrowser(), MinOS: policy.DefaultMinOS()}
	for k, v := range u.MinBrowser {
		fam, ok := family(cfg.MinBrowser, k)
		if !ok {
			return cfg, fmt.Errorf("ua.min_browser.%s: unknown browser family (known: %s)", k, strings.Join(sortedKeys(cfg.MinBrowser), ", "))
		}
		if v < 0 {
			return cfg, fmt.Errorf("ua.min_browser.%s: %d is negative", k, v)
		}
		cfg.MinBrowser[fam] = v
	}
	for k, v := range u.MinOS {
		fam, ok := family(cfg.MinOS, k)
		if !ok {
			return cfg, fmt.Errorf("ua.min_os.%s: unknown OS family (known: %s)", k, strings.Join(sortedKeys(cfg.MinOS), ", "))
		}
		k = fam
		major, minor, _ := strings.Cut(v, ".")
		ma, err1 := strconv.Atoi(major)
		mi := 0
		var err2 error
		if minor != "" {
			mi, err2 = strconv.Atoi(minor)
		}
		if err1 != nil || err2 != nil || ma < 0 || mi < 0 {
			return cfg, fmt.Errorf("ua.min_os.%s: %q is not a version like 16 or 10.15", k, v)
		}
		cfg.MinOS[k] = policy.Version{Major: ma, Minor: mi}
	}
	return cfg, nil
}

// family finds the canonical spelling of a family name (configuration keys
// arrive lower-cased).
func family[V any](m map[string]V, name string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
