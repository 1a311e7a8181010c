package resources_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
)

func TestWindowLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 59, 30, 0, time.UTC)
	l := &resources.WindowLimiter{Authenticated: 3, Anonymous: 1, Now: func() time.Time { return now }}
	type step struct {
		key     string
		auth    bool
		advance time.Duration
		ok      bool
		retry   time.Duration
		limit   int
	}
	steps := []step{
		{"user:1", true, 0, true, 0, 3},
		{"user:1", true, 0, true, 0, 3},
		{"user:1", true, 0, true, 0, 3},
		// Djblets: attempts 1..limit pass, limit+1 is refused; Retry-After
		// is what is left of the aligned window.
		{"user:1", true, 0, false, 30 * time.Second, 3},
		{"user:2", true, 0, true, 0, 3},
		{"ip:1.2.3.4", false, 0, true, 0, 1},
		{"ip:1.2.3.4", false, 0, false, 30 * time.Second, 1},
		// A new window (11:00) starts every count afresh.
		{"user:1", true, 31 * time.Second, true, 0, 3},
		{"ip:1.2.3.4", false, 0, true, 0, 1},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, retry, limit := l.Allow(s.key, s.auth)
		if ok != s.ok || retry != s.retry || limit != s.limit {
			t.Fatalf("step %d (%s): got %v %v %d; want %v %v %d", i, s.key, ok, retry, limit, s.ok, s.retry, s.limit)
		}
	}
	unlimited := &resources.WindowLimiter{Authenticated: -1}
	for range 5 {
		if ok, _, _ := unlimited.Allow("user:1", true); !ok {
			t.Fatal("negative limit must be unlimited")
		}
	}
	def := &resources.WindowLimiter{}
	if _, _, limit := def.Allow("x", true); limit != resources.DefaultAuthenticatedLimit {
		t.Fatalf("default authenticated limit %d", limit)
	}
	if _, _, limit := def.Allow("y", false); limit != resources.DefaultAnonymousLimit {
		t.Fatalf("default anonymous limit %d", limit)
	}
}

// TestGuardRateLimitAndAudience: 114/429 through the router, per caller;
// and bearer tokens for another audience refused.
func TestGuardRateLimitAndAudience(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		r := matrixRouter(e.guard(func(c *resources.GuardConfig) {
			c.Limiter = &resources.WindowLimiter{Authenticated: 2, Anonymous: 1, Period: time.Hour}
		}))
		raw, _ := e.apiToken(e.alice, `{}`, "")
		other, _ := e.apiToken(e.admin, `{}`, "")
		get := func(path, authz string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", path, nil)
			if authz != "" {
				req.Header.Set("Authorization", authz)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			return w
		}
		for i, want := range []int{200, 200, 429} {
			w := get("/open/1/", "token "+raw)
			if w.Code != want {
				t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
			}
			if want == 429 {
				env := decode(t, w.Body.Bytes())
				if env.Err.Code != 114 || env.Err.Msg != "API rate limit has been exceeded." || w.Header().Get("X-RateLimit-Limit") != "2" || w.Header().Get("Retry-After") == "" {
					t.Fatalf("429: %v %s", w.Header(), w.Body)
				}
			}
		}
		// The same user by another credential shares the count; another
		// user does not.
		if w := get("/open/1/", "Bearer "+e.jwt(&e.alice, "open:read", time.Hour, nil)); w.Code != 429 {
			t.Fatalf("alice by bearer: %d", w.Code)
		}
		if w := get("/open/1/", "token "+other); w.Code != 200 {
			t.Fatalf("admin: %d", w.Code)
		}
		if w := get("/public/", ""); w.Code != 200 {
			t.Fatalf("anonymous 1: %d", w.Code)
		}
		if w := get("/public/", ""); w.Code != 429 {
			t.Fatalf("anonymous 2: %d", w.Code)
		}

		tests := []struct {
			name     string
			audience string
			status   int
		}{
			{"no audience configured", "", 200},
			{"audience matches", "authgate", 200},
			{"another audience", "https://photos.example", 401},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rr := matrixRouter(e.guard(func(c *resources.GuardConfig) { c.Audience = tc.audience }))
				req := httptest.NewRequest("GET", "/open/1/", nil)
				req.Header.Set("Authorization", "Bearer "+e.jwt(&e.alice, "open:read", time.Hour, nil))
				w := httptest.NewRecorder()
				rr.ServeHTTP(w, req)
				if w.Code != tc.status {
					t.Fatalf("%d %s", w.Code, w.Body)
				}
				if tc.status == 401 && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Fatalf("challenge %q", w.Header().Get("WWW-Authenticate"))
				}
			})
		}
	})
}
