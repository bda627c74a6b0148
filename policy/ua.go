package policy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// UA tag names, for the ua_tags filter.
const (
	TagNativeClient    = "native-client"
	TagOutdatedBrowser = "outdated-browser"
	TagOutdatedOS      = "outdated-os"
)

// Client apps, for the client_app filter.
const (
	ClientBrowser = "browser"
	ClientNative  = "native"
)

// Device types, for the device_type filter.
const (
	DevicePC     = "pc"
	DeviceMobile = "mobile"
	DeviceTablet = "tablet"
	DeviceOther  = "other"
)

// UATags is a set of user-agent tags.
type UATags uint8

// The tag bits.
const (
	UANativeClient UATags = 1 << iota
	UAOutdatedBrowser
	UAOutdatedOS
)

// Has reports whether all tags of t2 are in t.
func (t UATags) Has(t2 UATags) bool { return t&t2 == t2 }

// Strings returns the tag names in a fixed order.
func (t UATags) Strings() []string {
	var out []string
	for _, x := range []struct {
		bit  UATags
		name string
	}{{UANativeClient, TagNativeClient}, {UAOutdatedBrowser, TagOutdatedBrowser}, {UAOutdatedOS, TagOutdatedOS}} {
		if t.Has(x.bit) {
			out = append(out, x.name)
		}
	}
	return out
}

// uaTagBit returns the bit of a tag name, or 0.
func uaTagBit(name string) UATags {
	switch name {
	case TagNativeClient:
		return UANativeClient
	case TagOutdatedBrowser:
		return UAOutdatedBrowser
	case TagOutdatedOS:
		return UAOutdatedOS
	}
	return 0
}

// Version is a major.minor version.
type Version struct {
	Major int `json:"major" yaml:"major"`
	Minor int `json:"minor,omitempty" yaml:"minor,omitempty"`
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool {
	return v.Major < w.Major || (v.Major == w.Major && v.Minor < w.Minor)
}

// UAConfig holds the minimum versions below which a browser or OS is tagged
// outdated. A nil map means the corresponding default
// (DefaultMinBrowser, DefaultMinOS); an empty map disables the tag. A family
// absent from a map is never outdated.
type UAConfig struct {
	// MinBrowser maps a browser family (Chrome, Edge, Firefox, Safari,
	// Opera, Samsung Internet, IE) to its minimum major version.
	MinBrowser map[string]int `json:"min_browser,omitempty" yaml:"min_browser,omitempty"`
	// MinOS maps an OS family (Windows, macOS, iOS, Android) to its
	// minimum version.
	MinOS map[string]Version `json:"min_os,omitempty" yaml:"min_os,omitempty"`
}

// DefaultMinBrowser returns the default minimum browser versions (late
// 2026): Chrome and Edge 120, Firefox 115 (the oldest ESR still patched in
// 2025), Safari 16, Opera 100, Samsung Internet 23; Internet Explorer is
// always outdated.
func DefaultMinBrowser() map[string]int {
	return map[string]int{"Chrome": 120, "Edge": 120, "Firefox": 115, "Safari": 16, "Opera": 100, "Samsung Internet": 23, "IE": 1000}
}

// DefaultMinOS returns the default minimum OS versions: Windows 10, macOS
// 10.15, iOS 16, Android 10. User agents freeze some versions (Chrome and
// Safari report macOS as 10.15.7 and Chrome reports "Android 10" on every
// newer Android), so higher thresholds for those would tag every device.
func DefaultMinOS() map[string]Version {
	return map[string]Version{"Windows": {10, 0}, "macOS": {10, 15}, "iOS": {16, 0}, "Android": {10, 0}}
}

// UAInfo is what ParseUA finds in a user agent.
type UAInfo struct {
	// ClientApp is browser or native ("" for an empty user agent).
	ClientApp string `json:"client_app,omitempty"`
	// Browser is the browser family (Chrome, Edge, Firefox, Safari, Opera,
	// Samsung Internet, IE) or, for native clients, the client's name.
	Browser string `json:"browser,omitempty"`
	// BrowserMajor is the browser's major version (0 when unknown).
	BrowserMajor int `json:"browser_major,omitempty"`
	// OS is the OS family: Windows, macOS, iOS, Android, Linux, ChromeOS.
	OS string `json:"os,omitempty"`
	// OSVersion is the OS version (zero when unknown).
	OSVersion Version `json:"os_version,omitzero"`
	// DeviceType is pc, mobile, tablet or other.
	DeviceType string `json:"device_type,omitempty"`
	// Tags are native-client, outdated-browser, outdated-os.
	Tags UATags `json:"tags,omitempty"`

	// lower is the user agent lower-cased, for ua_contains filters; empty
	// when the info did not come from ParseUA (then Decide folds case as
	// it compares).
	lower string
}

// nativeTokens mark native (non-browser) clients, as found in a user agent.
var nativeTokens = []struct{ token, name string }{
	{"SalesforceMobileSDK", "Salesforce Mobile"},
	{"Salesforce1", "Salesforce Mobile"},
	{"SalesforceDesktop", "Salesforce Desktop"},
	{"okhttp/", "okhttp"},
	{"Dalvik/", "Dalvik"},
	{"CFNetwork/", "CFNetwork"},
	{"Electron/", "Electron"},
	{"Microsoft Office/", "Microsoft Office"},
	{"MSOffice", "Microsoft Office"},
	{"Teams/", "Microsoft Teams"},
	{"Slack/", "Slack"},
	{"Zoom", "Zoom"},
	{"Dropbox", "Dropbox"},
	{"Box Sync", "Box"},
	{"; wv)", "Android WebView"},
}

// ParseUA parses a user agent without regular expressions (one allocation:
// the lower-cased agent kept for ua_contains filters). Clients that do
// not start with "Mozilla/" (curl, python-requests, Go-http-client, Java,
// okhttp, Dalvik, CFNetwork apps…) and those carrying a known app token
// (Salesforce mobile and desktop, Electron apps, Microsoft Office, Android
// WebView) are native clients and get the native-client tag.
func ParseUA(ua string, cfg UAConfig) UAInfo {
	var info UAInfo
	raw := ua
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return info
	}
	info.lower = strings.ToLower(raw)
	info.ClientApp = ClientBrowser
	native := !strings.HasPrefix(ua, "Mozilla/")
	if native {
		info.Browser = productName(ua)
	}
	for _, t := range nativeTokens {
		if strings.Contains(ua, t.token) {
			native = true
			info.Browser = t.name
			break
		}
	}
	parseOS(ua, &info)
	if native {
		info.ClientApp = ClientNative
		info.Tags |= UANativeClient
		// Native Android clients (Dalvik, okhttp, app web views) rarely
		// say "Mobile"; phones are far more common than tablets.
		if info.OS == "Android" {
			info.DeviceType = DeviceMobile
		}
	} else {
		parseBrowser(ua, &info)
	}
	if !native && info.Browser != "" && info.BrowserMajor > 0 {
		if m, ok := cfg.minBrowser(info.Browser); ok && info.BrowserMajor < m {
			info.Tags |= UAOutdatedBrowser
		}
	}
	if info.OS != "" && info.OSVersion.Major > 0 {
		if m, ok := cfg.minOS(info.OS); ok && info.OSVersion.Less(m) {
			info.Tags |= UAOutdatedOS
		}
	}
	return info
}

// minBrowser returns the minimum major version of a browser family; the
// defaults are looked up without building a map.
func (c *UAConfig) minBrowser(family string) (int, bool) {
	if c.MinBrowser != nil {
		m, ok := c.MinBrowser[family]
		return m, ok
	}
	switch family {
	case "Chrome", "Edge":
		return 120, true
	case "Firefox":
		return 115, true
	case "Safari":
		return 16, true
	case "Opera":
		return 100, true
	case "Samsung Internet":
		return 23, true
	case "IE":
		return 1000, true
	}
	return 0, false
}

// minOS returns the minimum version of an OS family.
func (c *UAConfig) minOS(family string) (Version, bool) {
	if c.MinOS != nil {
		m, ok := c.MinOS[family]
		return m, ok
	}
	switch family {
	case "Windows":
		return Version{10, 0}, true
	case "macOS":
		return Version{10, 15}, true
	case "iOS":
		return Version{16, 0}, true
	case "Android":
		return Version{10, 0}, true
	}
	return Version{}, false
}

// MarshalJSON renders the tags as a list of names.
func (t UATags) MarshalJSON() ([]byte, error) {
	names := t.Strings()
	if names == nil {
		names = []string{}
	}
	return json.Marshal(names)
}

// UnmarshalJSON reads a list of tag names.
func (t *UATags) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("ua tags: %w", err)
	}
	*t = 0
	for _, n := range names {
		bit := uaTagBit(n)
		if bit == 0 {
			return fmt.Errorf("ua tags: unknown tag %q", n)
		}
		*t |= bit
	}
	return nil
}

// productName returns the first product token's name ("curl" of
// "curl/8.4.0").
func productName(ua string) string {
	end := strings.IndexAny(ua, "/ ")
	if end < 0 {
		return ua
	}
	return ua[:end]
}

// versionAfter parses "major[.minor]" after the first occurrence of token,
// with '_' also accepted as the separator (iOS, macOS).
func versionAfter(ua, token string) (Version, bool) {
	i := strings.Index(ua, token)
	if i < 0 {
		return Version{}, false
	}
	return parseVersion(ua[i+len(token):]), true
}

// parseVersion reads "12.3", "12_3" or "12" at the start of s.
func parseVersion(s string) Version {
	var v Version
	i := 0
	for i < len(s) && isDigit(s[i]) && v.Major < 1e6 {
		v.Major = v.Major*10 + int(s[i]-'0')
		i++
	}
	if i+1 < len(s) && (s[i] == '.' || s[i] == '_') && isDigit(s[i+1]) {
		i++
		for i < len(s) && isDigit(s[i]) && v.Minor < 1e6 {
			v.Minor = v.Minor*10 + int(s[i]-'0')
			i++
		}
	}
	return v
}

// parseOS fills OS, OSVersion and DeviceType.
func parseOS(ua string, info *UAInfo) {
	info.DeviceType = DeviceOther
	switch {
	case strings.Contains(ua, "iPad"):
		info.OS, info.DeviceType = "iOS", DeviceTablet
		info.OSVersion, _ = versionAfter(ua, " OS ")
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPod"):
		info.OS, info.DeviceType = "iOS", DeviceMobile
		info.OSVersion, _ = versionAfter(ua, " OS ")
	case strings.Contains(ua, "Android"):
		info.OS = "Android"
		info.OSVersion, _ = versionAfter(ua, "Android ")
		info.DeviceType = DeviceTablet
		if strings.Contains(ua, "Mobile") {
			info.DeviceType = DeviceMobile
		}
	case strings.Contains(ua, "Windows Phone"):
		info.OS, info.DeviceType = "Windows Phone", DeviceMobile
	case strings.Contains(ua, "Windows"):
		info.OS, info.DeviceType = "Windows", DevicePC
		if v, ok := versionAfter(ua, "Windows NT "); ok {
			info.OSVersion = windowsVersion(v)
		}
	case strings.Contains(ua, "CrOS"):
		info.OS, info.DeviceType = "ChromeOS", DevicePC
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		info.OS, info.DeviceType = "macOS", DevicePC
		info.OSVersion, _ = versionAfter(ua, "Mac OS X ")
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		info.OS, info.DeviceType = "Linux", DevicePC
	}
}

// windowsVersion maps an NT version to the marketing version (NT 10.0 also
// covers Windows 11, which user agents do not distinguish).
func windowsVersion(nt Version) Version {
	switch {
	case nt.Major == 6 && nt.Minor == 1:
		return Version{7, 0}
	case nt.Major == 6 && nt.Minor == 2:
		return Version{8, 0}
	case nt.Major == 6 && nt.Minor == 3:
		return Version{8, 1}
	case nt.Major == 6 && nt.Minor == 0:
		return Version{6, 0} // Vista
	case nt.Major == 5:
		return Version{5, nt.Minor} // XP, 2000
	}
	return nt
}

// browserTokens are checked in order: Edge, Opera and Samsung carry
// "Chrome/" too, and Chrome carries "Safari/".
var browserTokens = []struct{ token, name string }{
	{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"}, {"Edge/", "Edge"},
	{"OPR/", "Opera"}, {"OPiOS/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"}, {"Chrome/", "Chrome"},
}

// parseBrowser fills Browser and BrowserMajor for a Mozilla-style agent.
func parseBrowser(ua string, info *UAInfo) {
	for _, t := range browserTokens {
		if v, ok := versionAfter(ua, t.token); ok {
			info.Browser, info.BrowserMajor = t.name, v.Major
			return
		}
	}
	if strings.Contains(ua, "MSIE ") || strings.Contains(ua, "Trident/") {
		info.Browser = "IE"
		if v, ok := versionAfter(ua, "MSIE "); ok {
			info.BrowserMajor = v.Major
		} else if v, ok := versionAfter(ua, "rv:"); ok {
			info.BrowserMajor = v.Major
		}
		return
	}
	if strings.Contains(ua, "Safari/") {
		info.Browser = "Safari"
		if v, ok := versionAfter(ua, "Version/"); ok {
			info.BrowserMajor = v.Major
		}
		return
	}
	if strings.Contains(ua, "AppleWebKit/") && info.OS == "iOS" {
		// An in-app web view on iOS: no Safari token.
		info.Browser = "iOS WebView"
		info.ClientApp = ClientNative
		info.Tags |= UANativeClient
	}
}
