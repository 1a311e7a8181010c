package oauthstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	oerrors "github.com/go-oauth2/oauth2/v4/errors"
	"github.com/go-oauth2/oauth2/v4/models"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestTokenStoreConformance checks the contract go-oauth2's manager relies
// on (docs/go-oauth2.md, "Store contracts") plus authgate's additions, on SQLite and PostgreSQL.
func TestTokenStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		u, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "u"})
		if err != nil {
			t.Fatal(err)
		}
		cl, _, err := NewSQLClientStore(d).Create(ctx, ClientSpec{Name: "c", RedirectURIs: []string{"https://c.example.com/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		s := NewTokenStore(d)
		uid := strconv.FormatInt(u.ID, 10)
		grant := func() url.Values {
			id, _ := newGrantID()
			return url.Values{ExtGrantID: {id}, ExtGrantCreatedAt: {time.Now().UTC().Format(time.RFC3339Nano)}, "nonce": {"n-1"}}
		}
		newCode := func(ttl time.Duration) (*models.Token, string) {
			code, _ := NewOpaque(PrefixCode)
			ti := models.NewToken()
			ti.Extension = grant()
			ti.ClientID, ti.UserID, ti.Scope, ti.RedirectURI = cl.ID, uid, "a:read b:read", "https://c.example.com/cb"
			ti.Code, ti.CodeCreateAt, ti.CodeExpiresIn = code, time.Now(), ttl
			ti.CodeChallenge, ti.CodeChallengeMethod = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256"
			return ti, code
		}

		t.Run("code round trip keeps PKCE, redirect URI, scope, extension", func(t *testing.T) {
			ti, code := newCode(time.Minute)
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetByCode(ctx, code)
			if err != nil || got == nil {
				t.Fatalf("GetByCode: %v %v", got, err)
			}
			m := got.(*models.Token)
			if m.Code != code || m.ClientID != cl.ID || m.UserID != uid || m.Scope != "a:read b:read" ||
				m.RedirectURI != ti.RedirectURI || m.CodeChallenge != ti.CodeChallenge || m.CodeChallengeMethod != "S256" ||
				m.Extension.Get("nonce") != "n-1" || m.Extension.Get(ExtGrantID) != ti.Extension.Get(ExtGrantID) {
				t.Fatalf("round trip lost data: %+v", m)
			}
			if d := m.CodeExpiresIn - time.Minute; d > time.Millisecond || d < -time.Millisecond {
				t.Errorf("code TTL %v", m.CodeExpiresIn)
			}
		})
		t.Run("only digests are stored", func(t *testing.T) {
			ti, code := newCode(time.Minute)
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := d.Get(&n, d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE digest = ? OR prefix = ? OR extension LIKE ?`),
				code, code, "%"+code[10:]+"%"); err != nil || n != 0 {
				t.Fatalf("raw code found in the table (%d, %v)", n, err)
			}
			if err := d.Get(&n, d.Rebind(`SELECT COUNT(*) FROM oauth_tokens WHERE digest = ?`), Digest(code)); err != nil || n != 1 {
				t.Fatalf("digest not found (%d, %v)", n, err)
			}
		})
		t.Run("unknown, malformed, expired: nil, nil", func(t *testing.T) {
			ti, code := newCode(-time.Second)
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			other, _ := NewOpaque(PrefixCode)
			for _, v := range []string{code, other, "agac_garbage", ""} {
				if got, err := s.GetByCode(ctx, v); got != nil || err != nil {
					t.Errorf("GetByCode(%q) = %v, %v", v, got, err)
				}
			}
			for _, v := range []string{"agrt_garbage", other} {
				if got, err := s.GetByRefresh(ctx, v); got != nil || err != nil {
					t.Errorf("GetByRefresh(%q) = %v, %v", v, got, err)
				}
			}
		})
		t.Run("RemoveByCode is an atomic consume with the library's sentinel", func(t *testing.T) {
			ti, code := newCode(time.Minute)
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, losses := 0, 0
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.RemoveByCode(ctx, code)
					mu.Lock()
					defer mu.Unlock()
					switch err {
					case nil:
						wins++
					case oerrors.ErrInvalidAuthorizeCode: // unwrapped: the library maps it by identity
						losses++
					default:
						t.Errorf("RemoveByCode: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 || losses != 19 {
				t.Fatalf("wins %d losses %d", wins, losses)
			}
			if got, _ := s.GetByCode(ctx, code); got != nil {
				t.Fatal("consumed code still readable")
			}
		})
		t.Run("access and refresh", func(t *testing.T) {
			access, _ := NewOpaque(PrefixAccessToken)
			refresh, _ := NewOpaque(PrefixRefreshToken)
			ti := models.NewToken()
			ti.Extension = grant()
			ti.ClientID, ti.UserID, ti.Scope = cl.ID, uid, "a:read"
			ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = access, time.Now(), time.Hour
			ti.Refresh, ti.RefreshCreateAt, ti.RefreshExpiresIn = refresh, time.Now(), 24*time.Hour
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			a, err := s.GetByAccess(ctx, access)
			if err != nil || a == nil || a.GetAccess() != access || a.GetScope() != "a:read" {
				t.Fatalf("GetByAccess: %v %v", a, err)
			}
			r, err := s.GetByRefresh(ctx, refresh)
			if err != nil || r == nil || r.GetRefresh() != refresh || r.GetClientID() != cl.ID {
				t.Fatalf("GetByRefresh: %v %v", r, err)
			}
			if err := s.RemoveByAccess(ctx, access); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.GetByAccess(ctx, access); a != nil {
				t.Fatal("removed access token readable")
			}
			if r, _ := s.GetByRefresh(ctx, refresh); r == nil {
				t.Fatal("removing the access token removed the refresh token")
			}
		})
		t.Run("RemoveByRefresh revokes the grant", func(t *testing.T) {
			ext := grant()
			access, _ := NewOpaque(PrefixAccessToken)
			refresh, _ := NewOpaque(PrefixRefreshToken)
			ti := models.NewToken()
			ti.Extension = ext
			ti.ClientID, ti.UserID = cl.ID, uid
			ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = access, time.Now(), time.Hour
			ti.Refresh, ti.RefreshCreateAt, ti.RefreshExpiresIn = refresh, time.Now(), time.Hour
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			// A second access token of the same grant.
			access2, _ := NewOpaque(PrefixAccessToken)
			ti2 := models.NewToken()
			ti2.Extension = ext
			ti2.ClientID, ti2.UserID = cl.ID, uid
			ti2.Access, ti2.AccessCreateAt, ti2.AccessExpiresIn = access2, time.Now(), time.Hour
			if err := s.Create(ctx, ti2); err != nil {
				t.Fatal(err)
			}
			if err := s.RemoveByRefresh(ctx, refresh); err != nil {
				t.Fatal(err)
			}
			for _, v := range []string{access, access2} {
				if a, _ := s.GetByAccess(ctx, v); a != nil {
					t.Fatal("access token of a revoked refresh token still readable")
				}
			}
		})
		t.Run("JWT jti revocation", func(t *testing.T) {
			jwt := "eyJhbGciOiJub25lIn0." + b64([]byte(`{"jti":"jti-1"}`)) + ".sig"
			ti := models.NewToken()
			ti.Extension = grant()
			ti.ClientID, ti.UserID = cl.ID, uid
			ti.Access, ti.AccessCreateAt, ti.AccessExpiresIn = jwt, time.Now(), time.Hour
			if err := s.Create(ctx, ti); err != nil {
				t.Fatal(err)
			}
			if revoked, err := s.JTIRevoked(ctx, "jti-1"); err != nil || revoked {
				t.Fatalf("fresh jti revoked=%v %v", revoked, err)
			}
			if _, err := s.RevokeGrant(ctx, ti.Extension.Get(ExtGrantID)); err != nil {
				t.Fatal(err)
			}
			if revoked, err := s.JTIRevoked(ctx, "jti-1"); err != nil || !revoked {
				t.Fatalf("after RevokeGrant revoked=%v %v", revoked, err)
			}
			// Idempotent.
			if err := s.RevokeJTI(ctx, "jti-1", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a record without a grant ID is refused", func(t *testing.T) {
			ti, _ := newCode(time.Minute)
			ti.Extension = url.Values{}
			if err := s.Create(ctx, ti); err == nil {
				t.Fatal("stored a code with no grant ID")
			}
		})
		t.Run("purge", func(t *testing.T) {
			n, err := s.Purge(ctx, time.Now().Add(48*time.Hour))
			if err != nil || n == 0 {
				t.Fatalf("Purge: %d %v", n, err)
			}
			var left int
			if err := d.Get(&left, `SELECT COUNT(*) FROM oauth_tokens`); err != nil || left != 0 {
				t.Fatalf("left %d %v", left, err)
			}
		})
	})
}

// TestMalformedValuesNeedNoDatabase proves that malformed codes, refresh
// and opaque access tokens are refused before any query: the store's
// database is closed, and the lookups still answer "not found" cleanly.
func TestMalformedValuesNeedNoDatabase(t *testing.T) {
	d := dbtest.Open(t)
	s := NewTokenStore(d)
	_ = d.Close()
	ctx := context.Background()
	good, _ := NewOpaque(PrefixCode)
	bad := good[:len(good)-1] + flip(good[len(good)-1])
	for _, v := range []string{bad, "agac_short", "", "agrt_" + good[5:]} {
		if ti, err := s.GetByCode(ctx, v); ti != nil || err != nil {
			t.Errorf("GetByCode(%q) = %v, %v", v, ti, err)
		}
	}
	rt, _ := NewOpaque(PrefixRefreshToken)
	if ti, err := s.GetByRefresh(ctx, rt[:len(rt)-1]+flip(rt[len(rt)-1])); ti != nil || err != nil {
		t.Errorf("GetByRefresh(bad checksum) = %v, %v", ti, err)
	}
	// And a well-formed one does reach the (closed) database.
	if _, err := s.GetByCode(ctx, good); err == nil {
		t.Error("a well-formed code did not query the database")
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// newGrantID is a fresh grant ID, as the server makes them.
func newGrantID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return b64(b[:]), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
