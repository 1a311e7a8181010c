package mgmtapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
)

// BenchmarkAPISession sends GET /api/session/ with a real API token
// through the application's router: its middleware, token format check,
// digest lookup, policy decision, and the JSON response.
func BenchmarkAPISession(b *testing.B) {
	for _, dialect := range []struct {
		name string
		opts []testenv.Option
	}{{"sqlite", nil}, {"postgres", []testenv.Option{testenv.Postgres()}}} {
		b.Run(dialect.name, func(b *testing.B) {
			h := newHarness(b, testenv.New(b, append(dialect.opts, apiEnv)...), harnessOpts{})
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
