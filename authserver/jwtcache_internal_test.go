package authserver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestValidJWTNoQuery: once a JWT access token has been seen, validating
// it again — for the Guard (ValidateBearer) and for introspection — makes
// no database query: the signature is not verified again (the verified-JWT
// cache), revocation state is in memory and the client's and user's state
// come from their stores' caches. Client
// authentication at the introspection endpoint is not counted here (it is
// the client cache's). Both databases.
func TestValidJWTNoQuery(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			d, n := dbtest.OpenCounting(t, dialect)
			// Wired as the application wires it: the users store's record
			// cache and the client store's cache, on one bus.
			bus := &localBus{d: d}
			us := users.NewSQLStoreWith(d, users.HashLimits{}, bus)
			us.EnableStatusCache(bus, 0)
			s, err := New(ctx, Deps{DB: d, Users: us, ClientNotifier: bus, Bus: bus}, Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			u, err := us.Create(ctx, users.NewUser{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := s.CreateClient(ctx, ClientSpec{Name: "svc", Scopes: []string{"session:read"}})
			if err != nil {
				t.Fatal(err)
			}
			rs, _, err := s.CreateClient(ctx, ClientSpec{Name: "rs", ResourceServer: true})
			if err != nil {
				t.Fatal(err)
			}
			service := mintJWT(t, s, c.ID, "", time.Hour)
			user := mintJWT(t, s, c.ID, "1", time.Hour)
			if u.ID != 1 {
				t.Fatalf("user id %d", u.ID)
			}
			check := func() {
				t.Helper()
				for _, raw := range []string{service, user} {
					if _, err := s.Bearer().ValidateBearer(ctx, raw); err != nil {
						t.Fatalf("ValidateBearer: %v", err)
					}
					resp, err := s.introspect(ctx, rs, raw)
					if err != nil || !resp.Active {
						t.Fatalf("introspect: %v %v", resp, err)
					}
				}
			}
			check() // first sight: verify, load the client's and the user's state
			n.Store(0)
			for range 50 {
				check()
			}
			if q := n.Load(); q != 0 {
				t.Fatalf("200 validations of known JWTs made %d database queries, want 0", q)
			}
		})
	}
}

// mintJWT issues an access token the way the token endpoint does, for
// client clientID and user uid ("": none).
func mintJWT(t testing.TB, s *Server, clientID, uid string, ttl time.Duration) string {
	t.Helper()
	ti := &models.Token{ClientID: clientID, UserID: uid, Scope: "session:read", Access: "",
		AccessCreateAt: s.now(), AccessExpiresIn: ttl}
	access, _, err := s.access.Token(context.Background(), &oauth2.GenerateBasic{TokenInfo: ti}, false)
	if err != nil {
		t.Fatal(err)
	}
	return access
}

// TestVerifiedJWTCacheLimits: a cached JWT is still refused once it has
// expired (plus the 5 s leeway) and, for authgate's own API, when it was
// issued for another audience — the cache holds what was verified, not a
// verdict.
func TestVerifiedJWTCacheLimits(t *testing.T) {
	ctx := context.Background()
	gin.SetMode(gin.ReleaseMode)
	d := dbtest.Open(t)
	var now atomic.Pointer[time.Time]
	start := time.Now().Truncate(time.Second)
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	s, err := New(ctx, Deps{DB: d, Users: users.NewSQLStore(d), Now: clock}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c, _, err := s.CreateClient(ctx, ClientSpec{Name: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.Keys.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(aud string, ttl time.Duration) string {
		jti, _ := newJTI()
		raw, err := k.Sign(atClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.cfg.Issuer, Subject: c.ID, Audience: jwt.ClaimStrings{aud}, ID: jti,
			IssuedAt: jwt.NewNumericDate(start), ExpiresAt: jwt.NewNumericDate(start.Add(ttl)),
		}, ClientID: c.ID}, jwtType)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	other := sign("https://rs.example", time.Hour)
	if _, err := s.access.validateAnyAudience(ctx, other); err != nil {
		t.Fatalf("introspection refused a resource server's token: %v", err)
	}
	if _, err := s.access.Validate(ctx, other); !errors.Is(err, errTokenInvalid) {
		t.Fatalf("authgate's API accepted a cached token for another audience: %v", err)
	}
	own := sign(s.cfg.Audience, time.Minute)
	if _, err := s.access.Validate(ctx, own); err != nil {
		t.Fatal(err)
	}
	later := start.Add(time.Minute + jwtLeeway + time.Second)
	now.Store(&later)
	if _, err := s.access.Validate(ctx, own); !errors.Is(err, errTokenInvalid) {
		t.Fatalf("a cached token was accepted after its exp: %v", err)
	}
	// Also through the router: introspection says inactive.
	r := gin.New()
	s.Mount(r)
	rs, secret, err := s.CreateClient(ctx, ClientSpec{Name: "rs", ResourceServer: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, PathIntrospect, strings.NewReader("token="+own))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(rs.ID, secret)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":false`) {
		t.Fatalf("introspection of an expired cached token: %d %s", rec.Code, rec.Body)
	}
}
