package authserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// BenchmarkIntrospectAPIToken measures a resource server introspecting an
// API token through the gin router: client authentication and one token
// lookup, with nothing written (Inspect).
func BenchmarkIntrospectAPIToken(b *testing.B) {
	benchDBs(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		gin.SetMode(gin.ReleaseMode)
		us := users.NewSQLStore(d)
		u, err := us.Create(ctx, users.NewUser{Username: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		mgr, err := tokens.NewManager(tokens.NewSQLStore(d), us, tokens.Options{})
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(ctx, Deps{DB: d, Users: us, APITokens: mgr, Limits: benchLimits}, Config{})
		if err != nil {
			b.Fatal(err)
		}
		r := gin.New()
		s.Mount(r)
		c, secret, err := s.CreateClient(ctx, ClientSpec{Name: "rs", ResourceServer: true})
		if err != nil {
			b.Fatal(err)
		}
		_, raw, err := mgr.Generate(ctx, tokens.GenerateParams{User: u})
		if err != nil {
			b.Fatal(err)
		}
		body := url.Values{"token": {raw}}.Encode()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			req := httptest.NewRequest(http.MethodPost, PathIntrospect, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, secret)
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkIntrospectJWT measures a resource server introspecting a JWT
// access token through the gin router: client authentication, then the
// token (signature, revocation, client and user state; from memory once the
// token has been seen — docs/performance.md, "JWT validation"), with the
// client and user caches on as in the application.
func BenchmarkIntrospectJWT(b *testing.B) {
	benchDBs(b, func(b *testing.B, d *db.DB) {
		s, h := cacheServer(b, d, FormatJWT, true) // the caches on, as the app wires them
		ctx := context.Background()
		c, secret, err := s.CreateClient(ctx, ClientSpec{Name: "svc"})
		if err != nil {
			b.Fatal(err)
		}
		rs, rsSecret, err := s.CreateClient(ctx, ClientSpec{Name: "rs", ResourceServer: true})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body := url.Values{"token": {jsonField(b, rec.Body.String(), "access_token")}}.Encode()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodPost, PathIntrospect, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(rs.ID, rsSecret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	})
}
