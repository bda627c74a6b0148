package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRewriteGoldenCases rewrites every testdata/rewrite/*.in in both
// modes and compares with <name>-<mode>.golden; the request rewrite of the
// output must give the input back.
func TestRewriteGoldenCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "rewrite", "*.in"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".in")
		for _, mode := range []Mode{ModeSuffix, ModeFlat} {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				r := NewRewriter(mustMapper(t, mode))
				out := r.Bytes(Response, nil, in)
				golden(t, "rewrite/"+name+"-"+string(mode), out)
				// Hosts already proxied in the input come back mapped too,
				// so the round trip is only checked on inputs without them.
				if !strings.Contains(string(in), "cas.example.net") && !strings.Contains(string(in), "ACME") {
					if back := r.Bytes(Request, nil, out); string(back) != string(in) {
						t.Errorf("round trip differs:\n%s", back)
					}
				}
			})
		}
	}
}
