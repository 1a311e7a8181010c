package db_test

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00007KeepsData fills a database at schema 00006 with a client
// and two registrations (one by an admin, one by a client), applies 00007 and
// checks the rows survived: the client is not a resource server, the
// client's registration is owned by that client, the admin's by nobody, and
// neither has an audience.
func TestMigration00007KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 6)
			now := time.Now().UTC().Truncate(time.Second)
			mustExec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			mustExec(`INSERT INTO oauth_clients (client_id, name, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				"agci_rs", "photos server", `["resource:write"]`, now, now)
			for _, r := range []struct{ id, by string }{{"photos", "client:agci_rs"}, {"albums", "user:admin"}} {
				mustExec(`INSERT INTO registered_resources (policy_id, name, scope_name, methods, registered_by, created_at, updated_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`, r.id, r.id, r.id, "GET", r.by, now, now)
			}
			if err := db.MigrateUpTo(ctx, d, 7); err != nil {
				t.Fatalf("migrate from 00006 to 00007: %v", err)
			}
			var c struct {
				Name           string `db:"name"`
				Scopes         string `db:"scopes"`
				ResourceServer bool   `db:"resource_server"`
			}
			if err := d.GetContext(ctx, &c, `SELECT name, scopes, resource_server FROM oauth_clients WHERE client_id = 'agci_rs'`); err != nil {
				t.Fatal(err)
			}
			if c.Name != "photos server" || c.Scopes != `["resource:write"]` || c.ResourceServer {
				t.Fatalf("client after 00007 = %+v", c)
			}
			for id, want := range map[string]string{"photos": "agci_rs", "albums": ""} {
				var r struct {
					Methods  string `db:"methods"`
					By       string `db:"registered_by"`
					Owner    string `db:"owner_client_id"`
					Audience string `db:"audience"`
				}
				if err := d.GetContext(ctx, &r, d.Rebind(`SELECT methods, registered_by, owner_client_id, audience
					FROM registered_resources WHERE policy_id = ?`), id); err != nil {
					t.Fatal(err)
				}
				if r.Methods != "GET" || r.Owner != want || r.Audience != "" || r.By == "" {
					t.Fatalf("%s after 00007 = %+v, want owner %q", id, r, want)
				}
			}
		})
	}
}
