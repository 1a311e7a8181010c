package oauthstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestPurgeExpired: each store deletes its own expired rows, at most limit
// per call, and nothing live; the token store leaves dpop_jtis to the
// replay store.
func TestPurgeExpired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newRedeemFixture(t, d)
		now := time.Now().UTC()
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		insert := func(q string, args ...any) {
			t.Helper()
			if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			insert(`INSERT INTO oauth_tokens (kind, digest, prefix, grant_id, client_id, scope, redirect_uri, code_challenge,
				code_challenge_method, extension, grant_created_at, created_at, expires_at, jkt)
				VALUES ('code', ?, 'agac_x', 'g', ?, '', '', '', '', '', ?, ?, ?, '')`,
				fmt.Sprintf("expired-%d", i), f.clientID, past, past, past)
			insert(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES (?, ?, ?)`, fmt.Sprintf("old-%d", i), past, past)
		}
		live := f.code()
		insert(`INSERT INTO revoked_jti (jti, expires_at, revoked_at) VALUES ('live', ?, ?)`, future, past)
		rs := NewSQLReplayStore(d)
		for i := range 3 {
			if _, err := rs.Use(ctx, fmt.Sprintf("proof-%d", i), past); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rs.Use(ctx, "fresh-proof", future); err != nil {
			t.Fatal(err)
		}

		// Batches: 4 token rows, then 4 = 1 token row + 3 jtis, then the
		// last 2 jtis, then nothing.
		for i, want := range []int{4, 4, 2, 0} {
			n, err := f.s.PurgeExpired(ctx, now, 4)
			if err != nil || n != want {
				t.Fatalf("batch %d: %d %v, want %d", i, n, err, want)
			}
		}
		if n, err := f.s.PurgeExpired(ctx, now, 0); err != nil || n != 0 {
			t.Fatalf("limit 0: %d %v", n, err)
		}
		if ti, _ := f.s.GetByCode(ctx, live); ti == nil {
			t.Fatal("purged a live code")
		}
		if revoked, _ := f.s.JTIRevoked(ctx, "live"); !revoked {
			t.Fatal("purged a jti of an unexpired JWT")
		}
		if n := f.count(`SELECT COUNT(*) FROM dpop_jtis`); n != 4 {
			t.Fatalf("the token store touched dpop_jtis: %d left", n)
		}

		for i, want := range []int{2, 1, 0} {
			n, err := rs.PurgeExpired(ctx, now, 2)
			if err != nil || n != want {
				t.Fatalf("replay batch %d: %d %v, want %d", i, n, err, want)
			}
		}
		if n, err := rs.PurgeExpired(ctx, now, -1); err != nil || n != 0 {
			t.Fatalf("replay limit -1: %d %v", n, err)
		}
		if ok, err := rs.Use(ctx, "fresh-proof", future); err != nil || ok {
			t.Fatalf("purged an unexpired proof: %v %v", ok, err)
		}

		// Purge loops PurgeExpired past one batch.
		for i := range purgeBatch + 1 {
			if _, err := rs.Use(ctx, fmt.Sprintf("many-%d", i), past); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := rs.Purge(ctx, now); err != nil || n != purgeBatch+1 {
			t.Fatalf("Purge: %d %v", n, err)
		}
	})
}
