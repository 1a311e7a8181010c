package db_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00017KeepsData fills a database at schema 00011 with a user,
// a client and the user's consent, applies 00017 (oauth_consents.last_used_at)
// and checks the consent survived with its scopes and times, has no last use
// yet, and takes one.
func TestMigration00017KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 11)
			created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			updated := created.Add(time.Hour)
			mustExec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var uid int64
			if err := d.GetContext(ctx, &uid, d.Rebind(`INSERT INTO users (username, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, ?) RETURNING id`), "alice", "x", created, created); err != nil {
				t.Fatal(err)
			}
			mustExec(`INSERT INTO oauth_clients (client_id, name, scopes, grant_types, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				"agci_app", "Photo album", `["session:read"]`, `["authorization_code"]`, created, created)
			mustExec(`INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				uid, "agci_app", "openid session:read", created, updated)
			if err := db.MigrateUpTo(ctx, d, 17); err != nil {
				t.Fatalf("migrate from 00011 to 00017: %v", err)
			}
			var got struct {
				Scopes    string       `db:"scopes"`
				CreatedAt time.Time    `db:"created_at"`
				UpdatedAt time.Time    `db:"updated_at"`
				LastUsed  sql.NullTime `db:"last_used_at"`
			}
			q := d.Rebind(`SELECT scopes, created_at, updated_at, last_used_at FROM oauth_consents WHERE user_id = ? AND client_id = ?`)
			if err := d.GetContext(ctx, &got, q, uid, "agci_app"); err != nil {
				t.Fatal(err)
			}
			if got.Scopes != "openid session:read" || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(updated) || got.LastUsed.Valid {
				t.Fatalf("consent after 00017 = %+v", got)
			}
			used := updated.Add(time.Minute)
			mustExec(`UPDATE oauth_consents SET last_used_at = ? WHERE user_id = ?`, used, uid)
			if err := d.GetContext(ctx, &got, q, uid, "agci_app"); err != nil {
				t.Fatal(err)
			}
			if !got.LastUsed.Valid || !got.LastUsed.Time.Equal(used) {
				t.Fatalf("last_used_at = %+v, want %v", got.LastUsed, used)
			}
		})
	}
}
