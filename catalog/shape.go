package catalog

import (
	"fmt"
	"regexp"
	"strings"
)

var paramRE = regexp.MustCompile(`\{([a-z][a-z0-9_]*)\}`)

// Placeholders returns the {param} names used in shape, in order of first use.
func Placeholders(shape string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, m := range paramRE.FindAllStringSubmatch(shape, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// Expand fills shape's {param} placeholders from vars. A placeholder without a
// non-empty value is an error naming it, so onboarding can ask for exactly
// what is missing. Values are inserted verbatim; a value containing a brace,
// a space or a control character is refused. An empty shape expands to "".
func Expand(shape string, vars map[string]string) (string, error) {
	var missing []string
	for _, p := range Placeholders(shape) {
		v := vars[p]
		if v == "" {
			missing = append(missing, "{"+p+"}")
			continue
		}
		if strings.ContainsAny(v, "{} \t\r\n") || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("expand %q: invalid value for {%s}", shape, p)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("expand %q: no value for %s", shape, strings.Join(missing, ", "))
	}
	return paramRE.ReplaceAllStringFunc(shape, func(m string) string {
		return vars[m[1:len(m)-1]]
	}), nil
}
