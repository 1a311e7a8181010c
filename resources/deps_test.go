package resources_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbiddenDeps are packages a resource server must not link through
// resources: database drivers and storage, and authgate's own stores.
var forbiddenDeps = []string{
	"database/sql",
	"modernc.org/sqlite",
	"github.com/jackc/pgx",
	"github.com/lib/pq",
	"github.com/jmoiron/sqlx",
	"github.com/pressly/goose",
	"github.com/authgate/authgate/internal/db",
	"github.com/authgate/authgate/internal/users",
	"github.com/authgate/authgate/internal/sessions",
	"github.com/authgate/authgate/internal/app",
	"github.com/authgate/authgate/authserver",
	"github.com/authgate/authgate/tokens", // tokens/policy is pure and allowed
}

// TestPublicPackagesStandAlone: resources and its subpackages (and the
// example resource servers, when present) link no database package and
// none of authgate's stores. See docs/resource-servers.md.
func TestPublicPackagesStandAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	patterns := []string{"./..."}
	if _, err := os.Stat("../examples"); err == nil {
		patterns = append(patterns, "../examples/...")
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, patterns...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range forbiddenDeps {
			if dep == bad || strings.HasPrefix(dep, bad+"/") && dep != "github.com/authgate/authgate/tokens/policy" {
				t.Errorf("%v depends on %s", patterns, dep)
			}
		}
	}
}
