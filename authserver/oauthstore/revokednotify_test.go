package oauthstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// jtiRecorder is a RevocationNotifier that runs the transaction and
// records the ids announced with each committed one.
type jtiRecorder struct {
	d    *db.DB
	mu   sync.Mutex
	sent [][]string
}

func (r *jtiRecorder) PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error {
	if kind != RevokedJTINotifyKind {
		panic("unexpected kind " + kind)
	}
	var ids []string
	err := r.d.InTx(ctx, func(tx *sqlx.Tx) (err error) {
		ids, err = fn(tx)
		return err
	})
	if err == nil {
		r.mu.Lock()
		r.sent = append(r.sent, slices.Sorted(slices.Values(ids)))
		r.mu.Unlock()
	}
	return err
}

// take returns the announcements made since the last take.
func (r *jtiRecorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	sent := r.sent
	r.sent = nil
	return sent
}

// jwtShaped is an access token value whose payload carries jti (the store
// reads it without verifying the signature).
func jwtShaped(jti string) string {
	payload, _ := json.Marshal(map[string]string{"jti": jti})
	return "e30." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
}

// TestRevocationsAnnounceTheirJTIs: every revocation announces, with its
// transaction, exactly the jtis it listed in revoked_jti — a grant's, one
// row's, a user-client pair's, a reused refresh token's family — so that
// other instances add them without rereading revoked_jti; a revocation
// that lists none announces nothing.
func TestRevocationsAnnounceTheirJTIs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newRedeemFixture(t, d)
		rec := &jtiRecorder{d: d}
		s := NewTokenStoreWith(d, TokenStoreOptions{Notifier: rec})
		uid, _ := strconv.ParseInt(f.uid, 10, 64)

		// mint stores, in grant, an access token (a JWT when jti is not
		// "") and a refresh token, and returns the refresh token.
		mint := func(grant, jti string) string {
			t.Helper()
			access, _ := NewOpaque(PrefixAccessToken)
			if jti != "" {
				access = jwtShaped(jti)
			}
			refresh, _ := NewOpaque(PrefixRefreshToken)
			ti := models.NewToken()
			ti.Extension = map[string][]string{ExtGrantID: {grant}, ExtGrantCreatedAt: {time.Now().UTC().Format(time.RFC3339Nano)}}
			ti.ClientID, ti.UserID, ti.Scope = f.clientID, f.uid, "a:read"
			ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = access, time.Now(), time.Hour
			ti.Refresh, ti.RefreshCreateAt, ti.RefreshExpiresIn = refresh, time.Now(), time.Hour
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			return refresh
		}
		expect := func(what string, want ...[]string) {
			t.Helper()
			if got := rec.take(); !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%s announced %q, want %q", what, got, want)
			}
		}

		mint("grant-g", "j1")
		mint("grant-g", "j2")
		mint("grant-h", "j3")
		if _, err := s.RevokeGrant(ctx, "grant-g"); err != nil {
			t.Fatal(err)
		}
		expect("RevokeGrant", []string{"j1", "j2"})

		if err := s.RemoveByAccess(ctx, jwtShaped("j3")); err != nil {
			t.Fatal(err)
		}
		expect("revoking one JWT", []string{"j3"})

		mint("grant-o", "") // opaque: nothing to list
		if _, err := s.RevokeGrant(ctx, "grant-o"); err != nil {
			t.Fatal(err)
		}
		expect("revoking a grant of opaque tokens", []string{})

		mint("grant-u1", "j4")
		mint("grant-u2", "j5")
		if _, err := s.RevokeUserClient(ctx, uid, f.clientID); err != nil {
			t.Fatal(err)
		}
		// j1-j3 are listed already: announcing them again is harmless,
		// but the store only selects the unexpired rows of the pair.
		got := rec.take()
		if len(got) != 1 || !slices.Contains(got[0], "j4") || !slices.Contains(got[0], "j5") {
			t.Fatalf("RevokeUserClient announced %q, want one announcement with j4 and j5", got)
		}

		// A reused refresh token revokes its family after the rotation's
		// transaction and announces its jtis then.
		refresh := mint("grant-r", "j6")
		if out, err := s.RotateRefresh(ctx, refresh, f.rules(nil)); err != nil || out.Issue == nil {
			t.Fatalf("rotate: %+v %v", out, err)
		}
		expect("a rotation")
		if out, err := s.RotateRefresh(ctx, refresh, f.rules(nil)); err != nil || out.Revoked == 0 {
			t.Fatalf("reuse: %+v %v", out, err)
		}
		expect("a reuse", []string{"j6"})

		if ok, err := s.RevokeReported(ctx, KindRefresh, "nothing", ""); err != nil || ok {
			t.Fatalf("RevokeReported of an unknown token = %v, %v", ok, err)
		}
		expect("reporting an unknown token", []string{})
		for _, jti := range []string{"j1", "j2", "j3", "j4", "j5", "j6"} {
			if ok, err := s.JTIRevoked(ctx, jti); err != nil || !ok {
				t.Fatalf("%s announced but not listed: %v %v", jti, ok, err)
			}
		}
	})
}
