package mgmtapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
)

// BenchmarkAPISession sends GET /api/session/ through the application's
// router, with a real API token (its middleware, token format check,
// digest lookup, policy decision, and the JSON response) and with a JWT
// access token the server issued (after the first request, verified from
// the cache: what `authgate bench bearer` loads).
func BenchmarkAPISession(b *testing.B) {
	for _, dialect := range []struct {
		name string
		opts []testenv.Option
	}{{"sqlite", nil}, {"postgres", []testenv.Option{testenv.Postgres()}}} {
		b.Run(dialect.name, func(b *testing.B) {
			h := newHarness(b, testenv.New(b, append(dialect.opts, apiEnv)...), harnessOpts{})
			raw, _ := h.apiToken(h.alice, `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`)
			for _, c := range []struct{ name, authz string }{
				{"api-token", "token " + raw},
				{"jwt", h.bearer(&h.alice, "bench", "session:read")},
			} {
				b.Run(c.name, func(b *testing.B) {
					req := httptest.NewRequest("GET", "/api/session/", nil)
					req.Header.Set("Authorization", c.authz)
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
		})
	}
}
