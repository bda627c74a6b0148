package policy

import (
	"testing"

	"github.com/gobwas/glob"
)

// TestPatternFastPathsAgreeWithGlob holds the prefix/suffix/substring fast
// paths to gobwas/glob's answers.
func TestPatternFastPathsAgreeWithGlob(t *testing.T) {
	patterns := []string{"*@acme.com", "b*", "*acme*", "a*b", "ab*ab", "*", "**", "a**b", "*a*b*", "cn=laptop-*", "?at", "[ab]*", "{x,y}*", "exact"}
	inputs := []string{"", "a", "b", "ab", "aab", "abab", "ababab", "bob@acme.com", "acme", "xacmex", "cn=laptop-42", "cat", "xyz", "exact", "bx"}
	kinds := map[patKind]int{}
	for _, pat := range patterns {
		p, err := compilePattern(pat, true)
		if err != nil {
			t.Fatal(err)
		}
		kinds[p.kind]++
		g := glob.MustCompile(pat)
		for _, in := range inputs {
			if got, want := p.match(in), g.Match(in); got != want {
				t.Errorf("pattern %q (kind %d) on %q = %v, glob says %v", pat, p.kind, in, got, want)
			}
		}
	}
	for k := patExact; k <= patGlob; k++ {
		if kinds[k] == 0 {
			t.Errorf("no pattern of kind %d tested", k)
		}
	}
	if _, err := compilePattern("[a-", true); err == nil {
		t.Error("bad glob accepted")
	}
	if p, _ := compilePattern("a*", false); p.kind != patExact || !p.match("a*") || p.match("ab") {
		t.Error("a value without glob syntax must match exactly")
	}
}
