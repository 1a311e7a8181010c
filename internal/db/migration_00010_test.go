package db_test

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00010KeepsData fills a database at schema 00009 with a user,
// a client and a signing key, applies 00010 (OpenID Connect columns) and
// checks the rows survived with the new columns at their defaults: the
// existing key stays an access-token key, the user unverified and unnamed.
func TestMigration00010KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 9)
			at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, q := range []string{
				`INSERT INTO users (username, email, password_hash, created_at, updated_at) VALUES ('ann', 'ann@example.com', 'h', ?, ?)`,
				`INSERT INTO oauth_clients (client_id, name, redirect_uris, created_at, updated_at) VALUES ('agci_x', 'App', '["https://app.example/cb"]', ?, ?)`,
				`INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at) VALUES ('kid1', 'EdDSA', 'pem', ?, ?)`,
			} {
				if _, err := d.ExecContext(ctx, d.Rebind(q), at, at); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if err := db.MigrateUpTo(ctx, d, 10); err != nil {
				t.Fatalf("migrate to 00010: %v", err)
			}
			var u struct {
				Username      string `db:"username"`
				Email         string `db:"email"`
				Name          string `db:"name"`
				EmailVerified bool   `db:"email_verified"`
			}
			if err := d.GetContext(ctx, &u, `SELECT username, email, name, email_verified FROM users`); err != nil {
				t.Fatal(err)
			}
			if u.Username != "ann" || u.Email != "ann@example.com" || u.Name != "" || u.EmailVerified {
				t.Errorf("user after 00010 = %+v", u)
			}
			var c struct {
				Redirects string `db:"redirect_uris"`
				Alg       string `db:"id_token_signed_response_alg"`
			}
			if err := d.GetContext(ctx, &c, `SELECT redirect_uris, id_token_signed_response_alg FROM oauth_clients`); err != nil {
				t.Fatal(err)
			}
			if c.Redirects != `["https://app.example/cb"]` || c.Alg != "" {
				t.Errorf("client after 00010 = %+v", c)
			}
			var k struct {
				KID     string    `db:"kid"`
				Purpose string    `db:"purpose"`
				At      time.Time `db:"activates_at"`
			}
			if err := d.GetContext(ctx, &k, `SELECT kid, purpose, activates_at FROM signing_keys`); err != nil {
				t.Fatal(err)
			}
			if k.KID != "kid1" || k.Purpose != "access" || !k.At.Equal(at) {
				t.Errorf("signing key after 00010 = %+v", k)
			}
			if err := db.MigrateDownTo(ctx, d, 9); err != nil {
				t.Fatalf("down to 00009: %v", err)
			}
			var n int
			if err := d.GetContext(ctx, &n, `SELECT COUNT(*) FROM users WHERE username = 'ann'`); err != nil || n != 1 {
				t.Errorf("after 00010 down: %d users, %v", n, err)
			}
		})
	}
}
