package db_test

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00011KeepsData fills a database at schema 00009 with a user,
// a client, a consent and a token, applies 00011 (device_codes) and checks
// the rows survived, the new table takes a device code of that client and
// user, and deleting the client removes its device codes.
func TestMigration00011KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 9)
			now := time.Now().UTC().Truncate(time.Second)
			mustExec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var uid int64
			if err := d.GetContext(ctx, &uid, d.Rebind(`INSERT INTO users (username, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, ?) RETURNING id`), "alice", "x", now, now); err != nil {
				t.Fatal(err)
			}
			mustExec(`INSERT INTO oauth_clients (client_id, name, scopes, grant_types, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				"agci_tv", "television", `["session:read"]`, `["authorization_code"]`, now, now)
			mustExec(`INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
				uid, "agci_tv", "session:read", now, now)
			mustExec(`INSERT INTO oauth_tokens (kind, digest, grant_id, client_id, user_id, scope, grant_created_at, created_at, expires_at)
				VALUES ('access', 'd1', 'g1', 'agci_tv', ?, 'session:read', ?, ?, ?)`, uid, now, now, now.Add(time.Hour))
			if err := db.MigrateUpTo(ctx, d, 11); err != nil {
				t.Fatalf("migrate from 00009 to 00011: %v", err)
			}
			var got struct {
				Name, Grants, Consent, Scope string
			}
			if err := d.GetContext(ctx, &got.Name, `SELECT name FROM oauth_clients WHERE client_id = 'agci_tv'`); err != nil {
				t.Fatal(err)
			}
			if err := d.GetContext(ctx, &got.Grants, `SELECT grant_types FROM oauth_clients WHERE client_id = 'agci_tv'`); err != nil {
				t.Fatal(err)
			}
			if err := d.GetContext(ctx, &got.Consent, `SELECT scopes FROM oauth_consents WHERE client_id = 'agci_tv'`); err != nil {
				t.Fatal(err)
			}
			if err := d.GetContext(ctx, &got.Scope, `SELECT scope FROM oauth_tokens WHERE digest = 'd1'`); err != nil {
				t.Fatal(err)
			}
			if got.Name != "television" || got.Grants != `["authorization_code"]` || got.Consent != "session:read" || got.Scope != "session:read" {
				t.Fatalf("rows after 00011 = %+v", got)
			}
			mustExec(`INSERT INTO device_codes (device_digest, user_digest, client_id, scope, user_id, status, interval_seconds, created_at, expires_at)
				VALUES ('dd', 'ud', 'agci_tv', 'session:read', ?, 'approved', 5, ?, ?)`, uid, now, now.Add(10*time.Minute))
			if _, err := d.ExecContext(ctx, `INSERT INTO device_codes (device_digest, user_digest, client_id, status, interval_seconds, created_at, expires_at)
				VALUES ('dd2', 'ud2', 'agci_tv', 'bogus', 5, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err == nil {
				t.Fatal("device_codes accepted an unknown status")
			}
			mustExec(`DELETE FROM oauth_clients WHERE client_id = 'agci_tv'`)
			var n int
			if err := d.GetContext(ctx, &n, `SELECT COUNT(*) FROM device_codes`); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("%d device codes left after their client was deleted", n)
			}
		})
	}
}
