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
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// benchDBs runs a benchmark on SQLite and, when configured, PostgreSQL.
func benchDBs(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, dbtest.Open(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, dbtest.OpenPostgres(b)) })
}

// benchLimits turns the per-client rate limit off: a benchmark calls as one
// client far more often than the default 6,000 a minute allows.
var benchLimits = EndpointLimits{ClientPerMinute: -1, IPFailuresPerMinute: -1}

func benchServer(b *testing.B, d *db.DB, format string) (*Server, http.Handler) {
	gin.SetMode(gin.ReleaseMode)
	s, err := New(context.Background(), Deps{DB: d, Users: users.NewSQLStore(d), Limits: benchLimits}, Config{AccessTokenFormat: format})
	if err != nil {
		b.Fatal(err)
	}
	r := gin.New()
	s.Mount(r)
	return s, r
}

// BenchmarkClientCredentials measures one client_credentials token request
// through the gin router (client authentication, JWT signing, one insert).
func BenchmarkClientCredentials(b *testing.B) {
	benchDBs(b, func(b *testing.B, d *db.DB) {
		s, h := benchServer(b, d, FormatJWT)
		c, secret, err := s.CreateClient(context.Background(), ClientSpec{Name: "bench", Scopes: []string{"a:read"}})
		if err != nil {
			b.Fatal(err)
		}
		body := url.Values{"grant_type": {"client_credentials"}}.Encode()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(c.ID, secret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d %s", rec.Code, rec.Body)
				}
			}
		})
	})
}

// BenchmarkBearerValidation measures ValidateBearer for a JWT (signature,
// claims, one revocation/user query) and an opaque token (one lookup).
func BenchmarkBearerValidation(b *testing.B) {
	for _, format := range []string{FormatJWT, FormatOpaque} {
		b.Run(format, func(b *testing.B) {
			benchDBs(b, func(b *testing.B, d *db.DB) {
				s, h := benchServer(b, d, format)
				c, secret, err := s.CreateClient(context.Background(), ClientSpec{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(c.ID, secret)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				at := jsonField(b, rec.Body.String(), "access_token")
				v := s.Bearer()
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := v.ValidateBearer(ctx, at); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}

func jsonField(b *testing.B, body, field string) string {
	key := `"` + field + `":"`
	i := strings.Index(body, key)
	if i < 0 {
		b.Fatalf("no %s in %s", field, body)
	}
	rest := body[i+len(key):]
	return rest[:strings.IndexByte(rest, '"')]
}
