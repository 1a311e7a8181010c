package resources_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// BenchmarkGuardRequest sends whole requests through the gin router with a
// real API token (digest lookup in the database, policy decision, handler).
func BenchmarkGuardRequest(b *testing.B) {
	for _, dialect := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.Open}, {"postgres", dbtest.OpenPostgres}} {
		b.Run(dialect.name, func(b *testing.B) {
			e := newEnv(b, dialect.open(b))
			raw, _ := e.apiToken(e.alice, `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`, "")
			r := matrixRouter(e.guard(nil))
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
