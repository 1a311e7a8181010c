package mgmtapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// BenchmarkAPISession sends GET /api/session/ with a real API token
// through authgate's API router: token format check, digest lookup, policy
// decision, and the JSON response.
func BenchmarkAPISession(b *testing.B) {
	for _, dialect := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.Open}, {"postgres", dbtest.OpenPostgres}} {
		b.Run(dialect.name, func(b *testing.B) {
			h := newHarness(b, dialect.open(b), harnessOpts{})
			raw, _ := h.apiToken(h.alice, `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`)
			req := httptest.NewRequest("GET", "/api/session/", nil)
			req.Header.Set("Authorization", "token "+raw)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.router.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
