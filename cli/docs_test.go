package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedDocsAreFresh regenerates the man pages and completion scripts
// and compares them with the checked-in ones in man/ and completions/.
func TestGeneratedDocsAreFresh(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateDocs(filepath.Join(dir, "man"), filepath.Join(dir, "completions")); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"man", "completions"} {
		fresh := readDir(t, filepath.Join(dir, sub))
		checked := readDir(t, filepath.Join("..", sub))
		for name, data := range fresh {
			old, ok := checked[name]
			switch {
			case !ok:
				t.Errorf("%s/%s is missing: run `go generate ./...`", sub, name)
			case !bytes.Equal(old, data):
				t.Errorf("%s/%s is stale: run `go generate ./...`", sub, name)
			}
		}
		for name := range checked {
			if _, ok := fresh[name]; !ok {
				t.Errorf("%s/%s is no longer generated: remove it and run `go generate ./...`", sub, name)
			}
		}
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestDocsAreDeterministic(t *testing.T) {
	a, err := renderDocs()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", "/elsewhere")
	t.Setenv("CAS_SOCKET", "/other.sock")
	t.Setenv("SOURCE_DATE_EPOCH", "0")
	b, err := renderDocs()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between runs", name)
		}
	}
}

func TestManPagesDocumentExitStatusAndEnvironment(t *testing.T) {
	files, err := renderDocs()
	if err != nil {
		t.Fatal(err)
	}
	var pages []string
	for name, data := range files {
		if !strings.HasSuffix(name, ".1") {
			continue
		}
		pages = append(pages, name)
		s := string(data)
		for _, want := range []string{".SH EXIT STATUS", ".B 2\nA usage error", ".B 3\ncasd is not reachable", ".SH ENVIRONMENT", ".B CAS_SOCKET", ".B NO_COLOR", `.TH "`} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if strings.Contains(s, "Auto generated") {
			t.Errorf("%s carries cobra's dated auto-generation tag", name)
		}
	}
	for _, want := range []string{"cas.1", "cas-events-tail.1", "cas-policy-add.1", "cas-app-cert-rotate.1", "cas-tls-ca-export.1"} {
		if !slices.Contains(pages, want) {
			t.Errorf("no man page %s", want)
		}
	}
	for _, name := range []string{"cas.bash", "_cas", "cas.fish", "cas.ps1"} {
		if len(files[name]) == 0 {
			t.Errorf("no completion script %s", name)
		}
	}
}
