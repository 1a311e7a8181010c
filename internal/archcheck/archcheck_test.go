// Package archcheck holds tests that keep the package map's import rules
// (docs/architecture.md, "The import rule") true of the tree: they read the
// imports with `go list` and fail on an import the map forbids. It has no
// code of its own.
package archcheck

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/authgate/authgate"

// rules: who may import a package (non-test imports; a package's own tests
// may import anything). The management API is wired by the composition
// root and used by the CLI, so the authorization server can never come to
// depend on it again; the composition root is the CLI's alone (and the test
// environment's, which builds the real application for tests); the web pages
// build on the authorization server, never the reverse; the test
// environment is for _test.go files only.
var rules = []struct {
	pkg     string
	allowed []string
}{
	{pkg: module + "/internal/mgmtapi", allowed: []string{module + "/internal/app", module + "/cmd/authgate"}},
	{pkg: module + "/internal/app", allowed: []string{module + "/cmd/authgate", module + "/internal/testenv"}},
	{pkg: module + "/authserver/web", allowed: []string{module + "/internal/app"}},
	{pkg: module + "/internal/testenv", allowed: nil},
	// The protocol's parts (grants, oauthstore, signing) sit below it.
	{pkg: module + "/authserver", allowed: []string{module + "/authserver/web", module + "/internal/mgmtapi",
		module + "/internal/app", module + "/internal/testenv", module + "/cmd/authgate"}},
}

// imports returns each package of the module with its non-test imports,
// from `go list` run at the module root.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to read the imports: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			pkgs[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestImportRules: only the packages a rule allows import its package.
func TestImportRules(t *testing.T) {
	pkgs := imports(t)
	for _, r := range rules {
		if _, ok := pkgs[r.pkg]; !ok {
			t.Errorf("%s is not in the module: update the rule", r.pkg)
			continue
		}
		var importers []string
		for p, imps := range pkgs {
			for _, imp := range imps {
				if imp == r.pkg {
					importers = append(importers, p)
				}
			}
		}
		sort.Strings(importers)
		for _, p := range importers {
			if !slices.Contains(r.allowed, p) {
				t.Errorf("%s imports %s; only %s may", p, r.pkg, strings.Join(r.allowed, " and "))
			}
		}
	}
}

// moduleRoot is the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}
