package catalog

import (
	"fmt"
	"net/http"
	"regexp"
)

// Activities a request can be classified as by URL pattern.
const (
	ActivityDownload = "download"
	ActivityExport   = "export"
	ActivityUpload   = "upload"
)

// MaxPatternLen bounds one pattern's source; Go's regexp runs in linear time,
// so the bound is about keeping configuration sane, not about safety.
const MaxPatternLen = 1024

// Patterns are a template's (and an app's added) URL patterns, compiled.
// A Patterns is immutable and safe for concurrent use.
type Patterns struct {
	Download []*regexp.Regexp
	Export   []*regexp.Regexp
	Upload   []*regexp.Regexp
}

// Compile compiles t's Download, Export and Upload patterns.
func (t Template) Compile() (*Patterns, error) {
	return CompilePatterns(t.Download, t.Export, t.Upload)
}

// CompilePatterns compiles download, export and upload patterns, such as a
// template's joined with those added by `cas app set`. An error names the
// list and the pattern.
func CompilePatterns(download, export, upload []string) (*Patterns, error) {
	var p Patterns
	var err error
	if p.Download, err = compileList(ActivityDownload, download); err != nil {
		return nil, err
	}
	if p.Export, err = compileList(ActivityExport, export); err != nil {
		return nil, err
	}
	if p.Upload, err = compileList(ActivityUpload, upload); err != nil {
		return nil, err
	}
	return &p, nil
}

// ValidatePattern reports whether re is usable as a pattern.
func ValidatePattern(re string) error {
	_, err := compileOne(re)
	return err
}

func compileList(kind string, res []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(res))
	for i, s := range res {
		re, err := compileOne(s)
		if err != nil {
			return nil, fmt.Errorf("%s pattern %d: %w", kind, i+1, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func compileOne(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, fmt.Errorf("empty pattern")
	}
	if len(s) > MaxPatternLen {
		return nil, fmt.Errorf("pattern longer than %d bytes", MaxPatternLen)
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("compile %q: %w", s, err)
	}
	return re, nil
}

// Classify returns the activity a request's method and path-and-query (the
// request URI, "/path?query") match, or "" when no pattern does. Upload
// patterns apply only to requests that carry a body (POST, PUT, PATCH);
// export patterns are tried before download patterns, being the more
// specific. A nil Patterns classifies nothing.
func (p *Patterns) Classify(method, pathQuery string) string {
	if p == nil {
		return ""
	}
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if anyMatch(p.Upload, pathQuery) {
			return ActivityUpload
		}
	}
	if anyMatch(p.Export, pathQuery) {
		return ActivityExport
	}
	if anyMatch(p.Download, pathQuery) {
		return ActivityDownload
	}
	return ""
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
