package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document header values.
const (
	DocumentAPIVersion = "cas/v1"
	DocumentKind       = "PolicyList"
)

// maxDocumentSize caps a policy document.
const maxDocumentSize = 8 << 20

// Document is a declarative policy file:
//
//	apiVersion: cas/v1
//	kind: PolicyList
//	policies: [...]
type Document struct {
	APIVersion string   `json:"apiVersion" yaml:"apiVersion"` // DocumentAPIVersion
	Kind       string   `json:"kind" yaml:"kind"`             // DocumentKind
	Policies   []Policy `json:"policies" yaml:"policies"`     // the policies
}

// UnmarshalYAML accepts a filter as {include: […], exclude: […]}, or as a
// bare list or a single value meaning include. Unknown keys are errors.
func (s *StringFilter) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var v string
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = StringFilter{Include: []string{v}}
		return nil
	case yaml.SequenceNode:
		var vs []string
		if err := n.Decode(&vs); err != nil {
			return err
		}
		*s = StringFilter{Include: vs}
		return nil
	case yaml.MappingNode:
		var out StringFilter
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var dst *[]string
			switch k.Value {
			case "include":
				dst = &out.Include
			case "exclude":
				dst = &out.Exclude
			default:
				return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: unknown field %q in a filter (want include, exclude)", k.Line, k.Value)}}
			}
			switch v.Kind {
			case yaml.ScalarNode:
				*dst = []string{v.Value}
			default:
				if err := v.Decode(dst); err != nil {
					return err
				}
			}
		}
		*s = out
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a filter is a list or {include: […], exclude: […]}", n.Line)}}
}

// unknownFieldRE rewrites yaml's "field x not found in type policy.T".
var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// yamlError turns a yaml error into a one-line message with line numbers.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = unknownFieldRE.ReplaceAllString(m, `unknown field "$1"`)
		}
		return fmt.Errorf("policy document: %s", strings.Join(msgs, "; "))
	}
	return fmt.Errorf("policy document: %s", strings.TrimPrefix(err.Error(), "yaml: "))
}

// ParseDocument parses a YAML policy document strictly: unknown fields,
// duplicate keys, a wrong header, duplicate names and invalid policies are
// errors, with line numbers. References to apps and IP tags are not checked
// here (that needs an Env: use Validate or Compile). The policies are
// returned as written; Normalize gives their canonical form.
func ParseDocument(data []byte) ([]Policy, error) {
	if len(data) > maxDocumentSize {
		return nil, fmt.Errorf("policy document: larger than %d bytes", maxDocumentSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("policy document: empty")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, errors.New("policy document: more than one YAML document")
	}
	if doc.APIVersion != DocumentAPIVersion {
		return nil, fmt.Errorf("policy document: apiVersion %q is not %q", doc.APIVersion, DocumentAPIVersion)
	}
	if doc.Kind != DocumentKind {
		return nil, fmt.Errorf("policy document: kind %q is not %q", doc.Kind, DocumentKind)
	}
	lines := policyLines(data)
	var errs []error
	seen := map[string]int{}
	for i := range doc.Policies {
		p := &doc.Policies[i]
		where := fmt.Sprintf("policies[%d]", i)
		if i < len(lines) {
			where += fmt.Sprintf(" (line %d)", lines[i])
		}
		if j, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("policy document: %s: policy %q: duplicate name (also policies[%d])", where, p.Name, j))
			continue
		}
		seen[p.Name] = i
		if err := p.Validate(Env{HasGeoIP: true}); err != nil {
			var fe *FieldError
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) {
					errs = append(errs, fmt.Errorf("policy document: %s: %w", where, fe))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return doc.Policies, nil
}

// unjoin splits an errors.Join error.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// policyLines returns the line of each item of the document's policies
// list (best effort: nil when the document does not parse as a node).
func policyLines(data []byte) []int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "policies" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, item := range m.Content[i+1].Content {
				out = append(out, item.Line)
			}
			return out
		}
	}
	return nil
}

// MarshalDocument renders policies as a canonical YAML document: each
// policy normalized, sorted by name, two-space indentation. The same
// policies always give the same bytes, whatever their order.
func MarshalDocument(policies []Policy) ([]byte, error) {
	doc := Document{APIVersion: DocumentAPIVersion, Kind: DocumentKind, Policies: make([]Policy, len(policies))}
	for i, p := range policies {
		doc.Policies[i] = p.Normalize()
	}
	slices.SortFunc(doc.Policies, func(a, b Policy) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(doc.Policies); i++ {
		if doc.Policies[i].Name == doc.Policies[i-1].Name {
			return nil, fmt.Errorf("marshal policy document: duplicate policy name %q", doc.Policies[i].Name)
		}
	}
	if doc.Policies == nil {
		doc.Policies = []Policy{}
	}
	return encodeYAML(doc)
}

func encodeYAML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// Plan is what applying a document would do.
type Plan struct {
	// Add are the new policies, normalized, by name.
	Add []Policy `json:"add,omitempty"`
	// Change are the policies that differ, by name.
	Change []Change `json:"change,omitempty"`
	// Remove are the current policies absent from the document, by name;
	// only with prune.
	Remove []Policy `json:"remove,omitempty"`
	// Unchanged names the policies that stay as they are.
	Unchanged []string `json:"unchanged,omitempty"`
}

// Change is one policy that a plan changes.
type Change struct {
	Name string `json:"name"` // the policy's name
	From Policy `json:"from"` // current, normalized
	To   Policy `json:"to"`   // desired, normalized
	// Diff is a line diff of the two policies' YAML, "- " for removed
	// lines, "+ " for added ones and "  " for context.
	Diff string `json:"diff"`
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Add) == 0 && len(p.Change) == 0 && len(p.Remove) == 0 }

// String renders the plan for people.
func (p Plan) String() string {
	if p.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, a := range p.Add {
		fmt.Fprintf(&b, "add %s\n", a.Name)
	}
	for _, c := range p.Change {
		fmt.Fprintf(&b, "change %s\n", c.Name)
		for _, l := range strings.SplitAfter(strings.TrimSuffix(c.Diff, "\n"), "\n") {
			b.WriteString("    " + l)
		}
		b.WriteString("\n")
	}
	for _, r := range p.Remove {
		fmt.Fprintf(&b, "remove %s\n", r.Name)
	}
	return b.String()
}

// PlanChanges compares the current policies with the desired ones, after
// normalizing both, and says what to add, change and (with prune) remove.
// Names identify policies.
func PlanChanges(current, desired []Policy, prune bool) Plan {
	cur := map[string]Policy{}
	for _, p := range current {
		cur[p.Name] = p.Normalize()
	}
	var plan Plan
	want := map[string]bool{}
	sorted := slices.Clone(desired)
	slices.SortFunc(sorted, func(a, b Policy) int { return strings.Compare(a.Name, b.Name) })
	for _, d := range sorted {
		d = d.Normalize()
		want[d.Name] = true
		c, ok := cur[d.Name]
		switch {
		case !ok:
			plan.Add = append(plan.Add, d)
		case samePolicy(c, d):
			plan.Unchanged = append(plan.Unchanged, d.Name)
		default:
			plan.Change = append(plan.Change, Change{Name: d.Name, From: c, To: d, Diff: policyDiff(c, d)})
		}
	}
	names := make([]string, 0, len(cur))
	for n := range cur {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if want[n] {
			continue
		}
		if prune {
			plan.Remove = append(plan.Remove, cur[n])
		} else {
			plan.Unchanged = append(plan.Unchanged, n)
		}
	}
	slices.Sort(plan.Unchanged)
	return plan
}

// samePolicy compares two normalized policies by their encoding.
func samePolicy(a, b Policy) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// policyDiff renders a line diff of two policies' YAML.
func policyDiff(a, b Policy) string {
	ya, _ := encodeYAML(a)
	yb, _ := encodeYAML(b)
	return lineDiff(strings.Split(strings.TrimSuffix(string(ya), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(yb), "\n"), "\n"))
}

// lineDiff is a longest-common-subsequence diff; policies are small.
func lineDiff(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			out.WriteString("  " + a[i] + "\n")
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + a[i] + "\n")
			i++
		default:
			out.WriteString("+ " + b[j] + "\n")
			j++
		}
	}
	return out.String()
}
