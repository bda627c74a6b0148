package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// FuzzScanReader checks that scanning never fails on any input and does not
// depend on how the reader hands out the bytes.
func FuzzScanReader(f *testing.F) {
	for _, c := range detectorCases {
		f.Add([]byte(c.text))
	}
	ds := append(builtins(f), mustDetector(f, DetectKeyword, "secret"), mustDetector(f, DetectRegex, `[A-Z]{3}-\d+`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ScanReader(bytes.NewReader(data), ds)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ScanReader(iotest.OneByteReader(bytes.NewReader(data)), ds)
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range a.Counts {
			if b.Counts[k] != n {
				t.Fatalf("%s: %d vs %d", k, n, b.Counts[k])
			}
		}
	})
}

// FuzzParseUA checks that no user agent makes the parser panic and that
// the result is consistent.
func FuzzParseUA(f *testing.F) {
	for _, ua := range []string{uaChromeWin, uaOldFirefox, uaIPhoneSafari, "curl/8", "Mozilla/5.0 (Windows NT ", "Android 99999999999999999999"} {
		f.Add(ua)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		info := ParseUA(ua, UAConfig{})
		if (info.ClientApp == ClientNative) != info.Tags.Has(UANativeClient) {
			t.Fatalf("client app %q with tags %v", info.ClientApp, info.Tags.Strings())
		}
	})
}

// FuzzParseDocument checks that any document either fails cleanly or
// survives an export round trip unchanged.
func FuzzParseDocument(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseDocument(data)
		if err != nil {
			return
		}
		out, err := MarshalDocument(ps)
		if err != nil {
			t.Fatalf("MarshalDocument: %v", err)
		}
		back, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("ParseDocument(export): %v\n%s", err, out)
		}
		if plan := PlanChanges(ps, back, true); !plan.Empty() {
			t.Fatalf("round trip changed:\n%s", plan)
		}
		if _, err := Compile(ps, Env{}, Defaults{}); err != nil && len(ps) > 0 {
			// Compile needs IP tags from an Env; anything else must pass.
			for _, p := range ps {
				if len(p.IPTagNames()) == 0 {
					continue
				}
				return
			}
			t.Fatalf("Compile of a parsed document: %v", err)
		}
	})
}
