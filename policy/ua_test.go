package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseUA(t *testing.T) {
	tests := []struct {
		name string
		ua   string
		want UAInfo
	}{
		{"empty", "", UAInfo{}},
		{"chrome windows", uaChromeWin,
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 131, OS: "Windows", OSVersion: Version{10, 0}, DeviceType: "pc"}},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
			UAInfo{ClientApp: "browser", Browser: "Edge", BrowserMajor: 131, OS: "Windows", OSVersion: Version{10, 0}, DeviceType: "pc"}},
		{"old firefox windows 7", uaOldFirefox,
			UAInfo{ClientApp: "browser", Browser: "Firefox", BrowserMajor: 78, OS: "Windows", OSVersion: Version{7, 0}, DeviceType: "pc", Tags: UAOutdatedBrowser | UAOutdatedOS}},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			UAInfo{ClientApp: "browser", Browser: "Firefox", BrowserMajor: 128, OS: "Linux", DeviceType: "pc"}},
		{"safari macos frozen 10.15.7", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
			UAInfo{ClientApp: "browser", Browser: "Safari", BrowserMajor: 17, OS: "macOS", OSVersion: Version{10, 15}, DeviceType: "pc"}},
		{"old safari old macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.2 Safari/605.1.15",
			UAInfo{ClientApp: "browser", Browser: "Safari", BrowserMajor: 13, OS: "macOS", OSVersion: Version{10, 13}, DeviceType: "pc", Tags: UAOutdatedBrowser | UAOutdatedOS}},
		{"iphone safari", uaIPhoneSafari,
			UAInfo{ClientApp: "browser", Browser: "Safari", BrowserMajor: 17, OS: "iOS", OSVersion: Version{17, 5}, DeviceType: "mobile"}},
		{"ipad safari", "Mozilla/5.0 (iPad; CPU OS 15_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1",
			UAInfo{ClientApp: "browser", Browser: "Safari", BrowserMajor: 15, OS: "iOS", OSVersion: Version{15, 6}, DeviceType: "tablet", Tags: UAOutdatedBrowser | UAOutdatedOS}},
		{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 126, OS: "iOS", OSVersion: Version{17, 5}, DeviceType: "mobile"}},
		{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/124.0 Mobile/15E148 Safari/605.1.15",
			UAInfo{ClientApp: "browser", Browser: "Firefox", BrowserMajor: 124, OS: "iOS", OSVersion: Version{17, 4}, DeviceType: "mobile"}},
		{"android chrome reduced", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 131, OS: "Android", OSVersion: Version{10, 0}, DeviceType: "mobile"}},
		{"android tablet", "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 120, OS: "Android", OSVersion: Version{13, 0}, DeviceType: "tablet"}},
		{"old android", "Mozilla/5.0 (Linux; Android 8.0.0; SM-G960F Build/R16NW) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/62.0.3202.84 Mobile Safari/537.36",
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 62, OS: "Android", OSVersion: Version{8, 0}, DeviceType: "mobile", Tags: UAOutdatedBrowser | UAOutdatedOS}},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
			UAInfo{ClientApp: "browser", Browser: "Samsung Internet", BrowserMajor: 25, OS: "Android", OSVersion: Version{14, 0}, DeviceType: "mobile"}},
		{"opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
			UAInfo{ClientApp: "browser", Browser: "Opera", BrowserMajor: 106, OS: "Windows", OSVersion: Version{10, 0}, DeviceType: "pc"}},
		{"ie11", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
			UAInfo{ClientApp: "browser", Browser: "IE", BrowserMajor: 11, OS: "Windows", OSVersion: Version{7, 0}, DeviceType: "pc", Tags: UAOutdatedBrowser | UAOutdatedOS}},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			UAInfo{ClientApp: "browser", Browser: "Chrome", BrowserMajor: 131, OS: "ChromeOS", DeviceType: "pc"}},
		{"curl", "curl/8.5.0", UAInfo{ClientApp: "native", Browser: "curl", DeviceType: "other", Tags: UANativeClient}},
		{"python requests", "python-requests/2.31.0", UAInfo{ClientApp: "native", Browser: "python-requests", DeviceType: "other", Tags: UANativeClient}},
		{"go http client", "Go-http-client/2.0", UAInfo{ClientApp: "native", Browser: "Go-http-client", DeviceType: "other", Tags: UANativeClient}},
		{"okhttp", "okhttp/4.12.0", UAInfo{ClientApp: "native", Browser: "okhttp", DeviceType: "other", Tags: UANativeClient}},
		{"dalvik", "Dalvik/2.1.0 (Linux; U; Android 11; Pixel 5 Build/RQ3A.210805.001.A1)",
			UAInfo{ClientApp: "native", Browser: "Dalvik", OS: "Android", OSVersion: Version{11, 0}, DeviceType: "mobile", Tags: UANativeClient}},
		{"cfnetwork", "Salesforce/246.010.1 CFNetwork/1494.0.7 Darwin/23.4.0",
			UAInfo{ClientApp: "native", Browser: "CFNetwork", DeviceType: "other", Tags: UANativeClient}},
		{"salesforce android hybrid", "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 SalesforceMobileSDK/11.1.0 android mobile/13 (SM-G991B) Salesforce1/246.010 Hybrid",
			UAInfo{ClientApp: "native", Browser: "Salesforce Mobile", OS: "Android", OSVersion: Version{13, 0}, DeviceType: "mobile", Tags: UANativeClient}},
		{"salesforce ios native", "SalesforceMobileSDK/11.0.0 iOS/17.2 (iPhone) Salesforce1/246.010 Native",
			UAInfo{ClientApp: "native", Browser: "Salesforce Mobile", OS: "iOS", DeviceType: "mobile", Tags: UANativeClient}},
		{"slack electron", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Slack/4.36.140 Chrome/120.0.6099.56 Electron/28.0.0 Safari/537.36 Sonic Slack_SSB/4.36.140",
			UAInfo{ClientApp: "native", Browser: "Electron", OS: "macOS", OSVersion: Version{10, 15}, DeviceType: "pc", Tags: UANativeClient}},
		{"ios web view", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
			UAInfo{ClientApp: "native", Browser: "iOS WebView", OS: "iOS", OSVersion: Version{17, 0}, DeviceType: "mobile", Tags: UANativeClient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseUA(tt.ua, UAConfig{})
			if got.lower != strings.ToLower(tt.ua) {
				t.Errorf("lower = %q", got.lower)
			}
			got.lower = ""
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseUA =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseUAConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  UAConfig
		want UATags
	}{
		{"defaults", UAConfig{}, 0},
		{"higher chrome minimum", UAConfig{MinBrowser: map[string]int{"Chrome": 140}}, UAOutdatedBrowser},
		{"windows 11 cannot be told apart", UAConfig{MinOS: map[string]Version{"Windows": {11, 0}}}, UAOutdatedOS},
		{"empty maps disable", UAConfig{MinBrowser: map[string]int{}, MinOS: map[string]Version{}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseUA(uaChromeWin, tt.cfg).Tags; got != tt.want {
				t.Errorf("Tags = %v, want %v", got.Strings(), tt.want.Strings())
			}
		})
	}
	if got := ParseUA(uaOldFirefox, UAConfig{MinBrowser: map[string]int{}, MinOS: map[string]Version{}}).Tags; got != 0 {
		t.Errorf("disabled thresholds still tag %v", got.Strings())
	}
}

func TestUATagsStrings(t *testing.T) {
	all := UANativeClient | UAOutdatedBrowser | UAOutdatedOS
	if got, want := all.Strings(), []string{"native-client", "outdated-browser", "outdated-os"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Strings = %v, want %v", got, want)
	}
	for _, n := range uaTagValues {
		if uaTagBit(n) == 0 {
			t.Errorf("uaTagBit(%q) = 0", n)
		}
	}
}

func BenchmarkParseUA(b *testing.B) {
	b.ReportAllocs()
	cfg := UAConfig{MinBrowser: DefaultMinBrowser(), MinOS: DefaultMinOS()}
	for b.Loop() {
		ParseUA(uaChromeWin, cfg)
	}
}

func TestDefaultsAgree(t *testing.T) {
	explicit := UAConfig{MinBrowser: DefaultMinBrowser(), MinOS: DefaultMinOS()}
	var implicit UAConfig
	for f, v := range DefaultMinBrowser() {
		if got, ok := implicit.minBrowser(f); !ok || got != v {
			t.Errorf("implicit minBrowser(%s) = %d, want %d", f, got, v)
		}
	}
	for f, v := range DefaultMinOS() {
		if got, ok := implicit.minOS(f); !ok || got != v {
			t.Errorf("implicit minOS(%s) = %v, want %v", f, got, v)
		}
	}
	if _, ok := explicit.minBrowser("Lynx"); ok {
		t.Error("unknown family has a minimum")
	}
}

func TestUATagsJSON(t *testing.T) {
	b, err := json.Marshal(UAInfo{ClientApp: "native", Tags: UANativeClient | UAOutdatedOS})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"client_app":"native","tags":["native-client","outdated-os"]}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var back UAInfo
	if err := json.Unmarshal(b, &back); err != nil || back.Tags != UANativeClient|UAOutdatedOS {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"tags":["bogus"]}`), &back); err == nil {
		t.Error("unknown tag accepted")
	}
}
