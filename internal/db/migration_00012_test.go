package db_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00012KeepsData fills a database at schema 00011 with a user,
// a client and an API token, applies 00012 (change_feed) and checks the rows
// survived and the new table numbers its rows in order, never reusing a seq
// after the newest row is deleted.
func TestMigration00012KeepsData(t *testing.T) {
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
			var uid int64
			if err := d.GetContext(ctx, &uid, d.Rebind(`INSERT INTO users (username, password_hash, created_at, updated_at)
				VALUES (?, ?, ?, ?) RETURNING id`), "alice", "x", now, now); err != nil {
				t.Fatal(err)
			}
			mustExec(`INSERT INTO oauth_clients (client_id, name, scopes, grant_types, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
				"agci_cli", "cli", `["session:read"]`, `["client_credentials"]`, now, now)
			digest1 := strings.Repeat("ab", 32)
			mustExec(`INSERT INTO api_tokens (user_id, token_digest, time_added, last_updated) VALUES (?, ?, ?, ?)`,
				uid, digest1, now, now)
			if err := db.MigrateUpTo(ctx, d, 12); err != nil {
				t.Fatalf("migrate from 00011 to 00012: %v", err)
			}
			var name, digest string
			if err := d.GetContext(ctx, &name, `SELECT name FROM oauth_clients WHERE client_id = 'agci_cli'`); err != nil {
				t.Fatal(err)
			}
			if err := d.GetContext(ctx, &digest, d.Rebind(`SELECT token_digest FROM api_tokens WHERE user_id = ?`), uid); err != nil {
				t.Fatal(err)
			}
			if name != "cli" || digest != digest1 {
				t.Fatalf("rows after 00012: client %q, token digest %q", name, digest)
			}
			insert := func() int64 {
				t.Helper()
				var seq int64
				if err := d.GetContext(ctx, &seq, d.Rebind(`INSERT INTO change_feed (kind, item, created_at) VALUES (?, ?, ?) RETURNING seq`),
					"user", "1", now.Unix()); err != nil {
					t.Fatal(err)
				}
				return seq
			}
			a, b := insert(), insert()
			mustExec(`DELETE FROM change_feed WHERE seq = ?`, b)
			if c := insert(); !(a < b && b < c) {
				t.Fatalf("change_feed seqs %d, %d, %d: want strictly increasing, never reused", a, b, c)
			}
		})
	}
}
