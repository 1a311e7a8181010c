package resources_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
)

// TestGuardReportsDecisions: OnDecision hears one outcome per request,
// with the authentication method, for every kind of result.
func TestGuardReportsDecisions(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	var mu sync.Mutex
	var got []string
	g := e.guard(func(c *resources.GuardConfig) {
		c.Limiter = &resources.WindowLimiter{Authenticated: 1, Anonymous: 100, Period: time.Hour}
		c.OnDecision = func(m resources.AuthMethod, outcome string) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, string(m)+":"+outcome)
		}
	})
	r := matrixRouter(g)
	full, _ := e.apiToken(e.alice, `{}`, "")
	blocked, _ := e.apiToken(e.admin, `{"resources":{"*":{"block":["*"]}}}`, "")
	steps := []struct {
		path, authz string
		want        string
	}{
		{"/public/", "", ":anonymous"},
		{"/open/1/", "", ":unauthenticated"},
		{"/open/1/", "token garbage", ":unauthenticated"},
		{"/open/1/", "token " + full, "api_token:allowed"},
		{"/open/1/", "token " + full, "api_token:rate_limited"},
		{"/open/1/", "token " + blocked, "api_token:forbidden"},
	}
	for i, s := range steps {
		req := httptest.NewRequest(http.MethodGet, s.path, nil)
		if s.authz != "" {
			req.Header.Set("Authorization", s.authz)
		}
		r.ServeHTTP(httptest.NewRecorder(), req)
		mu.Lock()
		if len(got) != i+1 || got[i] != s.want {
			t.Fatalf("step %d (%s %q): decisions %v, want last %q", i, s.path, s.authz, got, s.want)
		}
		mu.Unlock()
	}
}
