package db_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00014KeepsData fills a database at schema 00011 with a
// disabled client, a token and a revoked jti, applies 00014
// (oauth_clients.tokens_revoked_at) and checks the rows survived, the new
// column is NULL for the existing client and takes a time.
func TestMigration00014KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 11)
			now := time.Now().UTC().Truncate(time.Second)
			mustExec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			mustExec(`INSERT INTO oauth_clients (client_id, name, scopes, grant_types, created_at, updated_at, disabled_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, "agci_svc", "service", `["root:read"]`, `["client_credentials"]`, now, now, now)
			mustExec(`INSERT INTO oauth_tokens (kind, digest, jti, grant_id, client_id, scope, grant_created_at, created_at, expires_at)
				VALUES ('access', 'd1', 'j1', 'g1', 'agci_svc', 'root:read', ?, ?, ?)`, now, now, now.Add(time.Hour))
			mustExec(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES ('j1', ?, ?)`, now.Add(time.Hour), now)
			if err := db.MigrateUpTo(ctx, d, 14); err != nil {
				t.Fatalf("migrate from 00011 to 00014: %v", err)
			}
			var got struct {
				Name     string       `db:"name"`
				Disabled sql.NullTime `db:"disabled_at"`
				Epoch    sql.NullTime `db:"tokens_revoked_at"`
			}
			if err := d.GetContext(ctx, &got, `SELECT name, disabled_at, tokens_revoked_at FROM oauth_clients WHERE client_id = 'agci_svc'`); err != nil {
				t.Fatal(err)
			}
			if got.Name != "service" || !got.Disabled.Valid || !got.Disabled.Time.Equal(now) || got.Epoch.Valid {
				t.Fatalf("client after 00014 = %+v", got)
			}
			var tokens, jtis int
			if err := d.GetContext(ctx, &tokens, `SELECT COUNT(*) FROM oauth_tokens WHERE digest = 'd1' AND jti = 'j1'`); err != nil {
				t.Fatal(err)
			}
			if err := d.GetContext(ctx, &jtis, `SELECT COUNT(*) FROM revoked_jti WHERE jti = 'j1'`); err != nil {
				t.Fatal(err)
			}
			if tokens != 1 || jtis != 1 {
				t.Fatalf("after 00014: %d token rows, %d revoked jtis; want 1, 1", tokens, jtis)
			}
			mustExec(`UPDATE oauth_clients SET tokens_revoked_at = ? WHERE client_id = 'agci_svc'`, now)
			if err := d.GetContext(ctx, &got.Epoch, `SELECT tokens_revoked_at FROM oauth_clients WHERE client_id = 'agci_svc'`); err != nil {
				t.Fatal(err)
			}
			if !got.Epoch.Valid || !got.Epoch.Time.Equal(now) {
				t.Fatalf("tokens_revoked_at = %+v, want %s", got.Epoch, now)
			}
		})
	}
}
