// Package tableowners holds one test: each database table is named in SQL
// by exactly one package, its owner, and every other package reaches the
// table through the owner's methods (docs/architecture.md, "Table owners").
// It has no code of its own.
package tableowners

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// owners maps each table to the package directory (relative to the module
// root) that alone may name it in SQL. Keep it in step with the table in
// docs/architecture.md, "Table owners".
var owners = map[string]string{
	"users":                "internal/users",
	"sessions":             "internal/sessions",
	"audit_events":         "internal/audit",
	"audit_purge_gate":     "internal/audit",
	"api_tokens":           "tokens",
	"registered_resources": "internal/mgmtapi",
	"oauth_clients":        "authserver/oauthstore",
	"oauth_tokens":         "authserver/oauthstore",
	"revoked_jti":          "authserver/oauthstore",
	"oauth_consents":       "authserver/oauthstore",
	"dpop_jtis":            "authserver/oauthstore",
	"device_codes":         "authserver/oauthstore",
	"signing_keys":         "authserver/signing",
	"change_feed":          "internal/notify",
	"goose_db_version":     "internal/db",
}

// sqlNaming matches SQL that names a table: the table after FROM, JOIN,
// INTO, UPDATE or TABLE.
func sqlNaming(table string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(?:from|join|into|update|table)\s+(?:if\s+(?:not\s+)?exists\s+)?(?:only\s+)?"?` +
		regexp.QuoteMeta(table) + `"?(?:\s|$|[,;()])`)
}

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

// migratedTables lists the tables the SQLite migrations create.
func migratedTables(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "internal/db/migrations/sqlite/*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found (%v)", err)
	}
	re := regexp.MustCompile(`(?i)\bcreate\s+table\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)`)
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen[strings.ToLower(m[1])] = true
		}
	}
	var out []string
	for tbl := range seen {
		out = append(out, tbl)
	}
	sort.Strings(out)
	return out
}

// literal is one string literal of a non-test Go file.
type literal struct {
	pkg, pos, text string
}

// literals returns the string literals of the module's non-test Go files
// (the end-to-end tests under integration/ are tests too).
func literals(t *testing.T, root string) []literal {
	t.Helper()
	var out []literal
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == "integration") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(rel))
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			p := fset.Position(lit.Pos())
			out = append(out, literal{pkg: pkg, pos: filepath.ToSlash(rel) + ":" + strconv.Itoa(p.Line), text: s})
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOneOwnerPerTable fails when a non-test Go file outside a table's
// owning package names that table in SQL, and when a migrated table has no
// owner in the map.
func TestOneOwnerPerTable(t *testing.T) {
	root := moduleRoot(t)
	for _, tbl := range migratedTables(t, root) {
		if owners[tbl] == "" {
			t.Errorf("table %s has no owner: add it to owners and to docs/architecture.md, \"Table owners\"", tbl)
		}
	}
	lits := literals(t, root)
	if len(lits) < 100 {
		t.Fatalf("only %d string literals found: the walk is broken", len(lits))
	}
	named := map[string]int{}
	for tbl, owner := range owners {
		re := sqlNaming(tbl)
		for _, l := range lits {
			if !re.MatchString(l.text) {
				continue
			}
			named[tbl]++
			if l.pkg != owner {
				t.Errorf("%s: package %s names table %s in SQL; only %s may (use its methods)", l.pos, l.pkg, tbl, owner)
			}
		}
	}
	// Control: the scan sees the owners' own queries.
	for _, tbl := range []string{"users", "api_tokens", "audit_events", "sessions", "oauth_tokens"} {
		if named[tbl] == 0 {
			t.Errorf("no SQL naming %s found at all: the matcher is broken", tbl)
		}
	}
}

// TestSQLNaming pins what counts as naming a table.
func TestSQLNaming(t *testing.T) {
	re := sqlNaming("users")
	for _, s := range []string{
		"SELECT id FROM users WHERE id = ?",
		" FROM api_tokens t JOIN users u ON u.id = t.user_id",
		"INSERT INTO users (username) VALUES (?)",
		"UPDATE users SET is_active = ?",
		"COALESCE((SELECT is_active FROM users WHERE id = ?), FALSE)",
		"DELETE FROM users",
		"ALTER TABLE users ADD COLUMN x",
		"select * from\n\tusers",
		`SELECT 1 FROM "users"`,
		"SELECT COUNT(*) FROM users",
	} {
		if !re.MatchString(s) {
			t.Errorf("%q: not seen as naming users", s)
		}
	}
	for _, s := range []string{
		"SELECT id FROM users_archive",
		"SELECT user_id FROM api_tokens",
		"users",
		"list users",
		"/api/users/",
	} {
		if re.MatchString(s) {
			t.Errorf("%q: wrongly seen as naming users", s)
		}
	}
}
