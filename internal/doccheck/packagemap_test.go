package doccheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/authgate/authgate"

// TestPackageMapIsCurrent: docs/architecture.md's package map has one row
// per package of the module, and its imports column lists exactly the
// module's packages that package imports (non-test imports), so the map a
// newcomer reads is the tree they cloned.
func TestPackageMapIsCurrent(t *testing.T) {
	root := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := packageMapRows(t, string(doc))

	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}`, "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, imports, _ := strings.Cut(line, "|")
		pkg := strings.TrimPrefix(path, module+"/")
		seen[pkg] = true
		var want []string
		for _, imp := range strings.Fields(imports) {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				want = append(want, rel)
			}
		}
		slices.Sort(want)
		got, ok := rows[pkg]
		switch {
		case !ok:
			t.Errorf("docs/architecture.md, \"Package map\": no row for %s (imports %v)", pkg, want)
		case !slices.Equal(got, want):
			t.Errorf("docs/architecture.md, \"Package map\": %s imports %v, the map says %v", pkg, want, got)
		}
	}
	for pkg := range rows {
		if !seen[pkg] {
			t.Errorf("docs/architecture.md, \"Package map\": row for %s, which is not a package", pkg)
		}
	}
}

var tableCode = regexp.MustCompile("`([^`]+)`")

// packageMapRows reads the table under "## Package map": package → the
// packages its third column names ("—" or "(test only)": none).
func packageMapRows(t *testing.T, doc string) map[string][]string {
	t.Helper()
	_, section, ok := strings.Cut(doc, "\n## Package map\n")
	if !ok {
		t.Fatal(`docs/architecture.md has no "## Package map" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) != 3 {
			continue
		}
		name := tableCode.FindStringSubmatch(cells[0])
		if name == nil {
			continue
		}
		imports := []string{}
		for _, m := range tableCode.FindAllStringSubmatch(cells[2], -1) {
			imports = append(imports, m[1])
		}
		slices.Sort(imports)
		rows[name[1]] = imports
	}
	return rows
}
