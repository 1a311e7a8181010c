package authserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// localBus is a one-process invalidation bus for benchmarks and query
// counts: it runs the transaction, then calls the subscribers. (The real
// internal/notify.Bus also polls the SQLite change feed, which would add
// its own queries to the counts.)
type localBus struct {
	d    *db.DB
	mu   sync.Mutex
	subs map[string][]func(string)
}

func (n *localBus) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	if err := n.d.InTx(ctx, fn); err != nil {
		return err
	}
	n.mu.Lock()
	fns := n.subs[kind]
	n.mu.Unlock()
	for _, f := range fns {
		f(id)
	}
	return nil
}

func (n *localBus) PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error {
	var ids []string
	if err := n.d.InTx(ctx, func(tx *sqlx.Tx) (err error) {
		ids, err = fn(tx)
		return err
	}); err != nil {
		return err
	}
	n.mu.Lock()
	fns := n.subs[kind]
	n.mu.Unlock()
	for _, f := range fns {
		for _, id := range ids {
			f(id)
		}
	}
	return nil
}

func (n *localBus) Subscribe(kind string, fn func(string)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs == nil {
		n.subs = map[string][]func(string){}
	}
	n.subs[kind] = append(n.subs[kind], fn)
}

// cacheServer is benchServer with the caches on or off: the client cache
// and the users' status cache, as internal/app wires them.
func cacheServer(tb testing.TB, d *db.DB, format string, cached bool) (*Server, http.Handler) {
	gin.SetMode(gin.ReleaseMode)
	deps := Deps{DB: d, Users: users.NewSQLStore(d), Limits: benchLimits}
	if cached {
		bus := &localBus{d: d}
		us := users.NewSQLStoreWith(d, users.HashLimits{}, bus)
		us.EnableStatusCache(bus, 0)
		deps.Users, deps.ClientNotifier = us, bus
	}
	s, err := New(context.Background(), deps, Config{AccessTokenFormat: format})
	if err != nil {
		tb.Fatal(err)
	}
	r := gin.New()
	s.Mount(r)
	return s, r
}

// BenchmarkClientCredentialsCache measures a client_credentials request
// through the router with the client cache off (as before it existed) and
// on (the default), on both databases, and reports the database round
// trips per request (queries/op) from a counting driver.
func BenchmarkClientCredentialsCache(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, cached := range []bool{false, true} {
			name := string(dialect) + "/uncached"
			if cached {
				name = string(dialect) + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				d, n := dbtest.OpenCounting(b, dialect)
				s, h := cacheServer(b, d, FormatJWT, cached)
				c, secret, err := s.CreateClient(context.Background(), ClientSpec{Name: "bench", Scopes: []string{"a:read"}})
				if err != nil {
					b.Fatal(err)
				}
				do := func() {
					req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(c.ID, secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d %s", rec.Code, rec.Body)
					}
				}
				do() // warm the caches
				before := n.Load()
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						do()
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(n.Load()-before)/float64(b.N), "queries/op")
			})
		}
	}
}

// TestClientCredentialsQueries: with the client cache on, a
// client_credentials request costs exactly the uncached count minus the
// client reads, on both databases; the cached path reads no client row.
func TestClientCredentialsQueries(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			count := func(cached bool) int64 {
				d, n := dbtest.OpenCounting(t, dialect)
				s, h := cacheServer(t, d, FormatJWT, cached)
				c, secret, err := s.CreateClient(context.Background(), ClientSpec{Name: "q"})
				if err != nil {
					t.Fatal(err)
				}
				do := func() {
					req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader("grant_type=client_credentials"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(c.ID, secret)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						t.Fatalf("status %d %s", rec.Code, rec.Body)
					}
				}
				do()
				before := n.Load()
				do()
				return n.Load() - before
			}
			uncached, cached := count(false), count(true)
			t.Logf("%s: %d queries per client_credentials request uncached, %d cached", dialect, uncached, cached)
			if cached >= uncached {
				t.Fatalf("cached request: %d queries, uncached %d: the client cache saved nothing", cached, uncached)
			}
		})
	}
}
