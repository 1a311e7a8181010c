package resources_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestFailureBuckets: Djblets' LOGIN_LIMIT_RATE table (spec row "Unknown
// token, repeated"): with 5/m attempts 1-5 fail normally and the 6th is
// refused; with 3/s the 4th, with 4/h the 5th. Checking does not count;
// attempts come back one per window/attempts.
func TestFailureBuckets(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		window   time.Duration
	}{{5, time.Minute}, {3, time.Second}, {4, time.Hour}} {
		clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		l := resources.NewFailureBuckets(tc.attempts, tc.window, clock.Now)
		for i := 1; i <= tc.attempts; i++ {
			for range 3 { // checking is free
				if ok, _ := l.Allow("ip:a"); !ok {
					t.Fatalf("%d/%v: attempt %d refused", tc.attempts, tc.window, i)
				}
			}
			l.Failed("ip:a")
		}
		ok, wait := l.Allow("ip:a")
		if ok || wait != tc.window/time.Duration(tc.attempts) {
			t.Fatalf("%d/%v: attempt %d: ok=%v wait=%v", tc.attempts, tc.window, tc.attempts+1, ok, wait)
		}
		if ok, _ := l.Allow("ip:b"); !ok {
			t.Fatalf("another key is limited too")
		}
		clock.Add(wait)
		if ok, _ := l.Allow("ip:a"); !ok {
			t.Fatalf("%d/%v: no attempt back after %v", tc.attempts, tc.window, wait)
		}
	}
}

// TestFailedAuthLimit (issue #9 item 2), on both databases, through gin:
// wrong credentials of every scheme count per client IP, malformed ones
// without a database query; over the limit every header from that IP,
// even a good API token, gets 401, error 104, Djblets' message and
// Retry-After, with no query; other IPs are unaffected, an IPv6 /64 is one
// client, and successes never count. Before, the 6th, 7th... wrong tokens
// were all checked against the database, unlimited.
func TestFailedAuthLimit(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			d, queries := dbtest.OpenCounting(t, dialect)
			e := newEnv(t, d)
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			g := e.guard(func(c *resources.GuardConfig) {
				c.NoFailedAuthLimit = false
				c.FailedAuth = resources.NewFailureBuckets(5, time.Minute, clock.Now)
			})
			r := gin.New()
			r.GET("/photos/", g.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) {
				c.JSON(http.StatusOK, gin.H{"stat": "ok"})
			})
			good, _ := e.apiToken(e.alice, `{}`, "")
			unknown, err := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: 40})
			if err != nil {
				t.Fatal(err)
			}
			do := func(remote, authz string) (*httptest.ResponseRecorder, int64) {
				t.Helper()
				req := httptest.NewRequest(http.MethodGet, "/photos/", nil)
				req.RemoteAddr = remote
				req.Header.Set("Authorization", authz)
				w := httptest.NewRecorder()
				before := queries.Load()
				r.ServeHTTP(w, req)
				return w, queries.Load() - before
			}
			const ip = "203.0.113.9:5000"
			failures := []struct {
				authz   string
				queries bool
			}{
				{"Digest abc", false},       // unsupported scheme
				{"token agp_junk", false},   // malformed API token
				{"Bearer two words", false}, // malformed header
				{"token " + unknown, true},  // wrong API token
				{"Bearer " + e.jwt(&e.alice, "photos:read", time.Hour, e.otherKey), false}, // badly signed
			}
			for i, f := range failures {
				w, q := do(ip, f.authz)
				env := decode(t, w.Body.Bytes())
				if w.Code != 401 || env.Err.Code != 104 || env.Err.Msg == resources.LoginAttemptsExceededMessage {
					t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
				}
				if !f.queries && q != 0 {
					t.Errorf("failure %d: %d queries for a malformed credential, want 0", i+1, q)
				}
				if f.queries && q == 0 {
					t.Errorf("failure %d: the query counter sees nothing", i+1)
				}
			}
			// The 6th attempt, with a good token: refused before it is read.
			for i, authz := range []string{"token " + good, "token " + unknown, "Basic " + "!!"} {
				w, q := do(ip, authz)
				env := decode(t, w.Body.Bytes())
				if w.Code != 401 || env.Err.Code != 104 || env.Err.Msg != resources.LoginAttemptsExceededMessage {
					t.Fatalf("over the limit, header %d: %d %s", i, w.Code, w.Body)
				}
				if ra := w.Header().Get("Retry-After"); ra != "12" {
					t.Errorf("Retry-After %q, want 12 (one attempt back every 60s/5)", ra)
				}
				if len(w.Header().Values("WWW-Authenticate")) == 0 {
					t.Error("401 without a challenge")
				}
				if q != 0 {
					t.Errorf("%d queries over the limit, want 0", q)
				}
			}
			// Another client is unaffected; anonymous requests are not
			// authentications and get 103.
			if w, _ := do("198.51.100.1:1", "token "+good); w.Code != 200 {
				t.Fatalf("other IP: %d %s", w.Code, w.Body)
			}
			// One attempt comes back after 12s; a success does not spend it.
			clock.Add(12 * time.Second)
			for range 3 {
				if w, _ := do(ip, "token "+good); w.Code != 200 {
					t.Fatalf("after 12s: %d %s", w.Code, w.Body)
				}
			}
			if w, _ := do(ip, "token "+unknown); decode(t, w.Body.Bytes()).Err.Msg == resources.LoginAttemptsExceededMessage {
				t.Fatalf("the returned attempt was not usable: %s", w.Body)
			}
			if w, _ := do(ip, "token "+good); w.Code != 401 {
				t.Fatalf("after spending it again: %d %s", w.Code, w.Body)
			}
			// Successes never count: 20 in a row from a fresh IP.
			for i := range 20 {
				if w, _ := do("198.51.100.2:1", "token "+good); w.Code != 200 {
					t.Fatalf("success %d: %d %s", i+1, w.Code, w.Body)
				}
			}
			// IPv6: one /64 is one client.
			for range 5 {
				do("[2001:db8:1:2::1]:1", "token agp_junk")
			}
			if w, _ := do("[2001:db8:1:2::ffff]:1", "token "+good); w.Code != 401 {
				t.Fatalf("same /64: %d %s", w.Code, w.Body)
			}
			if w, _ := do("[2001:db8:1:3::1]:1", "token "+good); w.Code != 200 {
				t.Fatalf("next /64: %d %s", w.Code, w.Body)
			}
		})
	}
}

// TestFailedAuthBasicPerUsername: without BasicAttempts, wrong passwords
// also count per address and username; with it (authgate's sign-in
// limits), the Guard asks it for every Basic attempt, gives the attempt
// back unless the password was wrong, and refuses with 104 when it says
// no.
func TestFailedAuthBasicPerUsername(t *testing.T) {
	d, _ := dbtest.OpenCounting(t, db.SQLite)
	e := newEnv(t, d)
	type call struct{ ip, user string }
	var (
		mu       sync.Mutex
		calls    []call
		refunds  int
		refusing bool
	)
	g := e.guard(func(c *resources.GuardConfig) {
		c.NoFailedAuthLimit = false
		c.FailedAuth = resources.NewFailureBuckets(100, time.Minute, nil)
		c.BasicAttempts = func(ip, user string) (bool, time.Duration, func()) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{ip, user})
			if refusing {
				return false, 7 * time.Second, nil
			}
			return true, 0, func() { mu.Lock(); refunds++; mu.Unlock() }
		}
	})
	r := gin.New()
	r.GET("/photos/", g.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) { c.JSON(200, gin.H{"stat": "ok"}) })
	do := func(authz string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/photos/", nil)
		req.RemoteAddr = "[2001:db8::5]:1"
		req.Header.Set("Authorization", authz)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	if w := do(basicAuth("alice", "wrong")); w.Code != 401 {
		t.Fatalf("wrong password: %d", w.Code)
	}
	if w := do(basicAuth("alice", e.password)); w.Code != 200 {
		t.Fatalf("right password: %d %s", w.Code, w.Body)
	}
	refusing = true
	w := do(basicAuth("alice", e.password))
	if env := decode(t, w.Body.Bytes()); w.Code != 401 || env.Err.Msg != resources.LoginAttemptsExceededMessage || w.Header().Get("Retry-After") != "7" {
		t.Fatalf("refused by the sign-in limit: %d %s %v", w.Code, w.Body, w.Header())
	}
	want := []call{{"2001:db8::/64", "alice"}, {"2001:db8::/64", "alice"}, {"2001:db8::/64", "alice"}}
	if len(calls) != len(want) || calls[0] != want[0] || refunds != 1 {
		t.Fatalf("calls %v, refunds %d; want %v and 1 refund (the right password)", calls, refunds, want)
	}

	// Without BasicAttempts: wrong passwords count for the address (and
	// the username), so the address is over its limit of 3.
	g2 := e.guard(func(c *resources.GuardConfig) {
		c.NoFailedAuthLimit = false
		c.FailedAuth = resources.NewFailureBuckets(3, time.Minute, nil)
	})
	r = gin.New()
	r.GET("/photos/", g2.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) { c.JSON(200, gin.H{"stat": "ok"}) })
	for range 3 {
		do(basicAuth("Bob", "x"))
	}
	if w := do(basicAuth("alice", e.password)); !strings.Contains(w.Body.String(), resources.LoginAttemptsExceededMessage) {
		t.Fatalf("the address is over its limit too: %d %s", w.Code, w.Body)
	}
}

// BenchmarkFailureBucketsAllow is the failure limit's cost on every
// request with an Authorization header: one check of a client that has no
// failures.
func BenchmarkFailureBucketsAllow(b *testing.B) {
	l := resources.NewFailureBuckets(5, time.Minute, nil)
	for i := range 1000 {
		l.Failed("ip:198.51.100." + strings.Repeat("1", i%3+1))
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := l.Allow("ip:203.0.113.9"); !ok {
			b.Fatal("refused")
		}
	}
}
