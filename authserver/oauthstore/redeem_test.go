package oauthstore

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// redeemFixture is a token store with one user, one client and helpers to
// store codes and mint pairs.
type redeemFixture struct {
	t        *testing.T
	d        *db.DB
	s        *TokenStore
	clientID string
	uid      string
}

func newRedeemFixture(t *testing.T, d *db.DB) *redeemFixture {
	ctx := context.Background()
	u, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "u"})
	if err != nil {
		t.Fatal(err)
	}
	cl, _, err := NewSQLClientStore(d).Create(ctx, ClientSpec{Name: "c", RedirectURIs: []string{"https://c.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	return &redeemFixture{t: t, d: d, s: NewTokenStore(d), clientID: cl.ID, uid: strconv.FormatInt(u.ID, 10)}
}

// code stores a fresh code and returns it.
func (f *redeemFixture) code() string {
	f.t.Helper()
	id, _ := newGrantID()
	raw, _ := NewOpaque(PrefixCode)
	ti := models.NewToken()
	ti.Extension = url.Values{ExtGrantID: {id}, ExtGrantCreatedAt: {time.Now().UTC().Format(time.RFC3339Nano)}}
	ti.ClientID, ti.UserID, ti.Scope, ti.RedirectURI = f.clientID, f.uid, "a:read", "https://c.example.com/cb"
	ti.Code, ti.CodeCreateAt, ti.CodeExpiresIn = raw, time.Now(), time.Minute
	if err := f.s.Create(context.Background(), ti); err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// pair is an access and refresh token issued from row.
func (f *redeemFixture) pair(row *TokenRow) (*Issue, string) {
	access, _ := NewOpaque(PrefixAccessToken)
	refresh, _ := NewOpaque(PrefixRefreshToken)
	ti := models.NewToken()
	ti.Extension = row.Ext()
	ti.Extension.Set(ExtGrantID, row.GrantID)
	ti.Extension.Set(ExtGrantCreatedAt, row.GrantCreatedAt.Format(time.RFC3339Nano))
	ti.ClientID, ti.UserID, ti.Scope = row.ClientID, row.UserIDString(), row.Scope
	ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = access, time.Now(), time.Hour
	ti.Refresh, ti.RefreshCreateAt, ti.RefreshExpiresIn = refresh, time.Now(), time.Hour
	return &Issue{Token: ti, RefreshJKT: "jkt-1"}, refresh
}

// rules is a minimal grant: issue from a live row, revoke the family of a
// used one, refuse the rest.
func (f *redeemFixture) rules(issued *string) Decide {
	return func(row *TokenRow) (Outcome, error) {
		switch {
		case row == nil:
			return Outcome{Refusal: errRefused}, nil
		case row.ConsumedAt.Valid:
			return Outcome{RevokeFamily: true, AuditKind: AuditRefreshReused, PresentedBy: row.ClientID, Refusal: errRefused}, nil
		case !row.Live(time.Now()):
			return Outcome{Refusal: errRefused}, nil
		}
		is, refresh := f.pair(row)
		if issued != nil {
			*issued = refresh
		}
		return Outcome{Consume: true, Issue: is}, nil
	}
}

var errRefused = errors.New("refused")

func (f *redeemFixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.d.Get(&n, f.d.Rebind(q), args...); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestRedeemAppliesTheDecision: RedeemCode and RotateRefresh apply what the
// decision says — consume, insert the new pair linked to its parent, revoke
// the family with its audit event — in one transaction, on both databases.
func TestRedeemAppliesTheDecision(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newRedeemFixture(t, d)

		t.Run("code: issue, then a replay revokes the family", func(t *testing.T) {
			code := f.code()
			var refresh string
			out, err := f.s.RedeemCode(ctx, code, f.rules(&refresh))
			if err != nil || out.Refusal != nil || out.Issue == nil {
				t.Fatalf("redeem: %+v %v", out, err)
			}
			if ti, _ := f.s.GetByCode(ctx, code); ti != nil {
				t.Fatal("the code is still live")
			}
			row, ok, err := f.s.ByDigest(ctx, KindRefresh, refresh)
			if err != nil || !ok || !row.ParentID.Valid || row.JKT != "jkt-1" {
				t.Fatalf("refresh row %+v %v %v", row, ok, err)
			}
			since := f.count(`SELECT COALESCE(MAX(id), 0) FROM audit_events`)
			out, err = f.s.RedeemCode(ctx, code, f.rules(nil))
			if err != nil || out.Refusal != errRefused || !out.RevokeFamily || out.Revoked != 3 {
				t.Fatalf("replay: %+v %v", out, err)
			}
			if n := f.count(`SELECT COUNT(*) FROM oauth_tokens WHERE grant_id = ? AND revoked_at IS NULL`, row.GrantID); n != 0 {
				t.Fatalf("%d rows of the family still live", n)
			}
			evs, err := audit.List(ctx, d, audit.Filter{AfterID: int64(since)})
			if err != nil || len(evs) != 1 || evs[0].Kind != AuditRefreshReused || evs[0].SubjectID != row.GrantID {
				t.Fatalf("audit %+v %v", evs, err)
			}
		})

		t.Run("refresh: rotate once, reuse revokes", func(t *testing.T) {
			var refresh, next string
			if _, err := f.s.RedeemCode(ctx, f.code(), f.rules(&refresh)); err != nil {
				t.Fatal(err)
			}
			out, err := f.s.RotateRefresh(ctx, refresh, f.rules(&next))
			if err != nil || out.Issue == nil {
				t.Fatalf("rotate: %+v %v", out, err)
			}
			if ti, _ := f.s.GetByRefresh(ctx, next); ti == nil {
				t.Fatal("the new refresh token is not live")
			}
			out, err = f.s.RotateRefresh(ctx, refresh, f.rules(nil))
			if err != nil || !out.RevokeFamily || out.Issue != nil {
				t.Fatalf("reuse: %+v %v", out, err)
			}
			if ti, _ := f.s.GetByRefresh(ctx, next); ti != nil {
				t.Fatal("the family's newest refresh token survived a reuse")
			}
		})

		t.Run("unknown value: the decision sees nil", func(t *testing.T) {
			raw, _ := NewOpaque(PrefixRefreshToken)
			var saw bool
			out, err := f.s.RotateRefresh(ctx, raw, func(row *TokenRow) (Outcome, error) {
				saw = row == nil
				return Outcome{Refusal: errRefused}, nil
			})
			if err != nil || !saw || out.Refusal != errRefused {
				t.Fatalf("%+v %v saw nil %v", out, err, saw)
			}
		})

		t.Run("a refusal that consumes commits the consumption", func(t *testing.T) {
			code := f.code()
			out, err := f.s.RedeemCode(ctx, code, func(*TokenRow) (Outcome, error) {
				return Outcome{Consume: true, Refusal: errRefused}, nil
			})
			if err != nil || out.Refusal != errRefused {
				t.Fatalf("%+v %v", out, err)
			}
			if ti, _ := f.s.GetByCode(ctx, code); ti != nil {
				t.Fatal("the refused code is still live")
			}
		})

		t.Run("a decision error rolls everything back", func(t *testing.T) {
			code := f.code()
			boom := errors.New("boom")
			if _, err := f.s.RedeemCode(ctx, code, func(*TokenRow) (Outcome, error) {
				return Outcome{Consume: true}, boom
			}); !errors.Is(err, boom) {
				t.Fatalf("err %v", err)
			}
			if ti, _ := f.s.GetByCode(ctx, code); ti == nil {
				t.Fatal("a failed decision consumed the code")
			}
			// And a failed insert rolls back the consumption.
			if _, err := f.s.RedeemCode(ctx, code, func(row *TokenRow) (Outcome, error) {
				is, _ := f.pair(row)
				is.Token.(*models.Token).Extension = url.Values{} // no grant ID: refused by insert
				return Outcome{Consume: true, Issue: is}, nil
			}); err == nil {
				t.Fatal("stored a pair without a grant ID")
			}
			if ti, _ := f.s.GetByCode(ctx, code); ti == nil {
				t.Fatal("a failed insert left the code consumed")
			}
		})

		t.Run("the user check runs in the transaction, for live rows", func(t *testing.T) {
			calls := 0
			plain := f.s
			defer func() { f.s = plain }()
			f.s = NewTokenStoreWith(f.d, TokenStoreOptions{UserActive: func(_ context.Context, tx *sqlx.Tx, uid string) (bool, error) {
				calls++
				return uid != f.uid, nil
			}})
			code := f.code()
			var active []bool
			decide := func(row *TokenRow) (Outcome, error) {
				active = append(active, row.UserActive)
				return Outcome{Consume: row.Live(time.Now()), Refusal: errRefused}, nil
			}
			if _, err := f.s.RedeemCode(ctx, code, decide); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.RedeemCode(ctx, code, decide); err != nil {
				t.Fatal(err)
			}
			if calls != 1 || len(active) != 2 || active[0] || active[1] {
				t.Fatalf("calls %d, active %v", calls, active)
			}
			f.s = NewTokenStoreWith(f.d, TokenStoreOptions{UserActive: func(context.Context, *sqlx.Tx, string) (bool, error) {
				return false, errors.New("db down")
			}})
			if _, err := f.s.RedeemCode(ctx, f.code(), decide); err == nil {
				t.Fatal("a failed user check did not fail the redemption")
			}
		})
	})
}

// TestRedeemConcurrently: of many concurrent redemptions of one code, and
// of many concurrent rotations of one refresh token, exactly one issues;
// every other sees the value used (and revokes its family).
func TestRedeemConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newRedeemFixture(t, d)
		var refresh string
		if _, err := f.s.RedeemCode(ctx, f.code(), f.rules(&refresh)); err != nil {
			t.Fatal(err)
		}
		code := f.code()
		for name, start := range map[string]func(Decide) (Outcome, error){
			"code":    func(dec Decide) (Outcome, error) { return f.s.RedeemCode(ctx, code, dec) },
			"refresh": func(dec Decide) (Outcome, error) { return f.s.RotateRefresh(ctx, refresh, dec) },
		} {
			t.Run(name, func(t *testing.T) {
				var issued, revoked atomic.Int32
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						out, err := start(f.rules(nil))
						if err != nil {
							t.Error(err)
							return
						}
						if out.Issue != nil {
							issued.Add(1)
						}
						if out.RevokeFamily {
							revoked.Add(1)
						}
					}()
				}
				wg.Wait()
				if issued.Load() != 1 || revoked.Load() != 7 {
					t.Fatalf("issued %d, revoked %d; want 1 and 7", issued.Load(), revoked.Load())
				}
			})
		}
	})
}
