// Package catalog holds cas's built-in app templates (salesforce, custom, …):
// for each app, the host names it is served from, the shapes of its SAML
// entity ID and ACS URL, how it wants Responses signed, and the URL patterns
// that session control uses to tell downloads, report exports and uploads
// from page views.
//
// The templates are YAML files under templates/, embedded in the binary. Add
// an app by adding a file; TestTemplates loads and checks every one.
package catalog

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

//go:embed templates/*.yaml
var embedded embed.FS

// Template describes one kind of app. The zero value is not a valid template.
type Template struct {
	// Name identifies the template (`cas app onboard NAME`): lower case,
	// digits and hyphens.
	Name string `yaml:"name" json:"name"`
	// DisplayName is the app's name for people ("Salesforce").
	DisplayName string `yaml:"display_name" json:"display_name"`
	// Description is one sentence for `cas app catalog`.
	Description string `yaml:"description" json:"description"`
	// Domains are the host patterns the app is served from; "*." matches
	// one or more leading labels (see MatchDomain). Empty for custom apps,
	// whose admin names the hosts.
	Domains []string `yaml:"domains" json:"domains"`
	// EntityID is the shape of the app's SAML entity ID, with {param}
	// placeholders (see Expand and Params); empty when it must be given.
	EntityID string `yaml:"entity_id" json:"entity_id"`
	// ACSURL is the shape of the app's assertion consumer service URL, as
	// EntityID.
	ACSURL string `yaml:"acs_url" json:"acs_url"`
	// Params documents the placeholders used by EntityID and ACSURL.
	Params []Param `yaml:"params,omitempty" json:"params,omitempty"`
	// SignResponse reports whether the app wants the Response signed.
	SignResponse bool `yaml:"sign_response" json:"sign_response"`
	// SignAssertion reports whether the app wants the Assertion signed.
	SignAssertion bool `yaml:"sign_assertion" json:"sign_assertion"`
	// IdPInitiated reports whether the app accepts IdP-initiated logins.
	IdPInitiated bool `yaml:"idp_initiated" json:"idp_initiated"`
	// Download, Export and Upload are regular expressions (Go syntax)
	// matched against a request's path and query; see Compile.
	Download []string `yaml:"download" json:"download"`
	Export   []string `yaml:"export" json:"export"`
	Upload   []string `yaml:"upload" json:"upload"`
}

// Param is a placeholder of a template's EntityID or ACSURL shape.
type Param struct {
	// Name is the placeholder's name, written {name} in a shape.
	Name string `yaml:"name" json:"name"`
	// Description tells the admin where to find the value.
	Description string `yaml:"description" json:"description"`
}

var loadEmbedded = sync.OnceValues(func() ([]Template, error) {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Templates returns the built-in templates sorted by name. The embedded files
// are checked by this package's tests, so the list is never empty in a built
// binary; Check reports a load error should one slip through.
func Templates() []Template {
	ts, err := loadEmbedded()
	if err != nil {
		return nil
	}
	out := make([]Template, len(ts))
	for i, t := range ts {
		out[i] = t.clone()
	}
	return out
}

// Check reports whether the built-in templates load; casd calls it at start.
func Check() error {
	_, err := loadEmbedded()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// Lookup returns the built-in template called name.
func Lookup(name string) (Template, bool) {
	for _, t := range Templates() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// Load reads and validates every *.yaml file at the top of fsys, strictly
// (unknown fields are errors), and returns the templates sorted by name.
func Load(fsys fs.FS) ([]Template, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	var out []Template
	seen := make(map[string]string)
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("load templates: %w", err)
		}
		t, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("load template %s: %w", f, err)
		}
		if prev, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("load template %s: name %q already used by %s", f, t.Name, prev)
		}
		if want := strings.TrimSuffix(path.Base(f), ".yaml"); t.Name != want {
			return nil, fmt.Errorf("load template %s: name %q does not match the file name", f, t.Name)
		}
		seen[t.Name] = f
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("load templates: none found")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Parse decodes one template from YAML, strictly, and validates it.
func Parse(data []byte) (Template, error) {
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return Template{}, fmt.Errorf("parse template: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Template{}, errors.New("parse template: more than one YAML document")
	}
	if err := t.Validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Validate reports whether t is well formed: a valid name and display name,
// valid domain patterns, shapes whose placeholders are all declared in
// Params, and patterns that compile.
func (t Template) Validate() error {
	if !nameRE.MatchString(t.Name) {
		return fmt.Errorf("template %q: name must be lower-case letters, digits and hyphens", t.Name)
	}
	if strings.TrimSpace(t.DisplayName) == "" {
		return fmt.Errorf("template %q: empty display name", t.Name)
	}
	for _, d := range t.Domains {
		if err := ValidateDomainPattern(d); err != nil {
			return fmt.Errorf("template %q: %w", t.Name, err)
		}
	}
	declared := make(map[string]bool)
	for _, p := range t.Params {
		if !paramRE.MatchString("{" + p.Name + "}") {
			return fmt.Errorf("template %q: invalid param name %q", t.Name, p.Name)
		}
		declared[p.Name] = true
	}
	for _, shape := range []string{t.EntityID, t.ACSURL} {
		for _, p := range Placeholders(shape) {
			if !declared[p] {
				return fmt.Errorf("template %q: shape %q uses undeclared param {%s}", t.Name, shape, p)
			}
		}
	}
	if _, err := t.Compile(); err != nil {
		return fmt.Errorf("template %q: %w", t.Name, err)
	}
	return nil
}

// MatchHost reports whether host is one of the template's domains.
func (t Template) MatchHost(host string) bool {
	for _, d := range t.Domains {
		if MatchDomain(d, host) {
			return true
		}
	}
	return false
}

func (t Template) clone() Template {
	t.Domains = slices.Clone(t.Domains)
	t.Params = slices.Clone(t.Params)
	t.Download = slices.Clone(t.Download)
	t.Export = slices.Clone(t.Export)
	t.Upload = slices.Clone(t.Upload)
	return t
}
