package resources_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// BenchmarkGuardRequest sends whole requests through the gin router with a
// real API token (digest lookup in the database, policy decision, handler);
// postgres_cached answers the lookup from the token cache.
func BenchmarkGuardRequest(b *testing.B) {
	for _, dialect := range []struct {
		name  string
		open  func(testing.TB) *db.DB
		cache time.Duration // tokens.Options.CacheTTL (the app's default on PostgreSQL: 30s)
		limit bool          // the failed-authentication limit on, as in authgate
	}{
		{"sqlite", dbtest.Open, 0, false}, {"postgres", dbtest.OpenPostgres, 0, false},
		{"postgres_cached", dbtest.OpenPostgres, 30 * time.Second, false},
		{"postgres_cached_failure_limit", dbtest.OpenPostgres, 30 * time.Second, true},
	} {
		b.Run(dialect.name, func(b *testing.B) {
			e := newEnv(b, dialect.open(b))
			if dialect.cache > 0 {
				var err error
				if e.tokens, err = tokens.NewManager(tokens.NewSQLStore(e.d), e.users, tokens.Options{
					LegacySecret: []byte("test legacy secret"), Logger: e.logger, CacheTTL: dialect.cache}); err != nil {
					b.Fatal(err)
				}
			}
			raw, _ := e.apiToken(e.alice, `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`, "")
			r := matrixRouter(e.guard(func(c *resources.GuardConfig) { c.NoFailedAuthLimit = !dialect.limit }))
			req := httptest.NewRequest("GET", "/open/1/", nil)
			req.Header.Set("Authorization", "token "+raw)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
