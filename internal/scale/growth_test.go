package scale

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/sweep"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/tokens"
)

// EnvRows names the variable that adds a large size to BenchmarkGrowth
// (AUTHGATE_BENCH_ROWS=1000000); without it only the small case runs, so
// an ordinary -bench run does not seed millions of rows.
const EnvRows = "AUTHGATE_BENCH_ROWS"

// smallRows is the reference size each large one is compared with.
const smallRows = 1000

// probes is how many distinct credentials each operation cycles through.
const probes = 32

// BenchmarkGrowth measures each hot path, one request at a time through
// the real router, on a database seeded with Seed(smallRows) and, when
// AUTHGATE_BENCH_ROWS is set, with Seed(that many), on SQLite and
// PostgreSQL. Each operation reports its median and 90th percentile
// latency (p50-ns, p90-ns); compare the same operation across sizes. The
// caches that would hide the database (the API-token cache) are off: this
// measures what a miss costs. See docs/performance.md, "Growth".
func BenchmarkGrowth(b *testing.B) {
	sizes := []int{smallRows}
	if v := os.Getenv(EnvRows); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q is not a positive number of rows", EnvRows, v)
		}
		if n != smallRows {
			sizes = append(sizes, n)
		}
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			// Every size is seeded first, so that each operation then runs
			// on the small and the large database back to back: on a busy
			// machine, only figures taken in the same minute compare.
			fs := make([]*fixture, len(sizes))
			for i, n := range sizes {
				fs[i] = seeded(b, dialect == "postgres", n)
			}
			for _, op := range operations {
				for _, f := range fs {
					b.Run(fmt.Sprintf("%s/rows=%d", op.name, f.rows), func(b *testing.B) { op.run(b, f) })
				}
			}
		})
	}
}

// fixture is one seeded application with the credentials the operations
// use: API tokens of the seeded user, a confidential client for every
// grant, a resource server that introspects, JWT access tokens and
// refresh tokens.
type fixture struct {
	e               *testenv.Env
	rows            int
	browser         *testenv.Browser
	app, rs         *authserver.Client
	appSecret, rsSk string
	apiTokens, jwts []string
	refreshes       []string
	sweeper         *sweep.Sweeper
	vacuum          sync.Once
	backlog         struct {
		sync.Once
		took             time.Duration
		deleted, batches int
	}
}

const redirectURI = "https://app.example.com/cb"

// seeded builds the application on a fresh database holding Seed(n).
func seeded(b *testing.B, postgres bool, n int) *fixture {
	ctx := context.Background()
	opts := []testenv.Option{testenv.Config(func(c *configs.Config) {
		c.Auth.TokenEndpointClientRate = -1
		c.Auth.TokenEndpointIPFailRate = -1
		c.Auth.APIRateAuthenticated = -1
		c.Auth.APIFailedAuthAttempts = -1
		c.Tokens.CacheTTL = 0
		c.Audit.Retention = 365 * 24 * time.Hour
		c.GC.Interval = 0 // the benchmark sweeps when it measures gc
	})}
	if postgres {
		opts = append(opts, testenv.Postgres())
	}
	e := testenv.New(b, opts...)
	start := time.Now()
	if err := Seed(ctx, e.App.DB, n, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %+v in %s", e.App.DB.Dialect, CountsFor(n), time.Since(start).Round(time.Millisecond))
	f := newFixture(b, e)
	f.rows = n
	var err error
	if f.sweeper, err = sweep.New(sweep.Options{BatchSize: 500, MaxBatches: 1 << 30}, e.App.GCTables()...); err != nil {
		b.Fatal(err)
	}
	return f
}

// operations are measured in this order; gc-backlog deletes the seeded
// expired rows, so it comes after everything that reads them.
var operations = []struct {
	name string
	run  func(b *testing.B, f *fixture)
}{
	{"api-token", func(b *testing.B, f *fixture) {
		timed(b, nil, func(i int) {
			f.expect(b, f.do(http.MethodGet, "/api/session/", nil, "token "+f.apiTokens[i%probes], ""), http.StatusOK, `"stat":"ok"`)
		})
	}},
	{"introspect-jwt", func(b *testing.B, f *fixture) {
		timed(b, nil, func(i int) { f.introspect(b, f.rs.ID, f.jwts[i%probes]) })
	}},
	{"introspect-opaque", func(b *testing.B, f *fixture) {
		// A refresh token: the opaque value looked up by digest among the
		// OAuth tokens, which only its own client may introspect.
		timed(b, nil, func(i int) { f.introspect(b, f.app.ID, f.refreshes[i%probes]) })
	}},
	{"introspect-api-token", func(b *testing.B, f *fixture) {
		timed(b, nil, func(i int) { f.introspect(b, f.rs.ID, f.apiTokens[i%probes]) })
	}},
	{"client-credentials", func(b *testing.B, f *fixture) {
		timed(b, nil, func(int) { f.clientCredentials(b) })
	}},
	{"refresh", func(b *testing.B, f *fixture) {
		var tok string
		timed(b, func(int) { tok = f.codeFlow(b) }, func(int) {
			f.expect(b, f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}), http.StatusOK, `"refresh_token"`)
		})
	}},
	{"revoke-refresh", func(b *testing.B, f *fixture) {
		var tok string
		timed(b, func(int) { tok = f.codeFlow(b) }, func(int) {
			f.expect(b, f.revoke(tok, "refresh_token"), http.StatusOK, "")
		})
	}},
	{"revoke-jwt", func(b *testing.B, f *fixture) {
		var tok string
		timed(b, func(int) { tok = f.clientCredentials(b) }, func(int) {
			f.expect(b, f.revoke(tok, "access_token"), http.StatusOK, "")
		})
	}},
	{"gc-backlog", func(b *testing.B, f *fixture) {
		// One sweep of the seeded backlog, whatever b.N: the rows are gone
		// after it. ns/op is per batch of 500 rows.
		f.backlog.Do(func() {
			t0 := time.Now()
			res, err := f.sweeper.Once(context.Background())
			f.backlog.took = time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				f.backlog.deleted += r.Deleted
				f.backlog.batches += r.Batches
			}
			oauth, audit := CountsFor(f.rows).Expired()
			if f.backlog.deleted < oauth+audit {
				b.Fatalf("the sweep deleted %d rows, want at least the %d seeded expired ones", f.backlog.deleted, oauth+audit)
			}
		})
		b.ReportMetric(float64(f.backlog.took.Nanoseconds())/float64(f.backlog.batches), "ns/op")
		b.ReportMetric(float64(f.backlog.took.Nanoseconds())/float64(f.backlog.deleted), "ns/row")
		b.ReportMetric(float64(f.backlog.deleted), "rows")
	}},
	{"gc-idle", func(b *testing.B, f *fixture) { idleSweeps(b, f) }},
	{"gc-idle-vacuumed", func(b *testing.B, f *fixture) {
		// On PostgreSQL the backlog's deleted rows stay in the indexes
		// until VACUUM, and an idle sweep's index scan steps over them;
		// this is the idle sweep once autovacuum has run (it does within
		// a minute of a sweep deleting a fifth of a table).
		if f.e.App.DB.Dialect != db.Postgres {
			b.Skip("PostgreSQL only: SQLite deletes index entries at once")
		}
		f.vacuum.Do(func() {
			if _, err := f.e.App.DB.Exec(`VACUUM ANALYZE oauth_tokens, revoked_jti, audit_events`); err != nil {
				b.Fatal(err)
			}
		})
		idleSweeps(b, f)
	}},
}

// idleSweeps times sweeps that find nothing to delete.
func idleSweeps(b *testing.B, f *fixture) {
	timed(b, nil, func(int) {
		if _, err := f.sweeper.Once(context.Background()); err != nil {
			b.Fatal(err)
		}
	})
}

// timed runs op b.N times and reports its median and 90th percentile;
// prep, when not nil, runs before each op with the timer stopped.
func timed(b *testing.B, prep func(i int), op func(i int)) {
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if prep != nil {
			b.StopTimer()
			prep(i)
			b.StartTimer()
		}
		t0 := time.Now()
		op(i)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*9/10].Nanoseconds()), "p90-ns")
}

func newFixture(b testing.TB, e *testenv.Env) *fixture {
	ctx := context.Background()
	f := &fixture{e: e}
	f.app, f.appSecret = e.RegisterClient(authserver.ClientSpec{Name: "scale app", RedirectURIs: []string{redirectURI},
		GrantTypes: []string{authserver.GrantAuthorizationCode, authserver.GrantRefreshToken, authserver.GrantClientCredentials},
		Scopes:     []string{"session:read"}})
	f.rs, f.rsSk = e.RegisterClient(authserver.ClientSpec{Name: "scale resource server", ResourceServer: true})
	for range probes {
		_, raw, err := e.App.Tokens.Generate(ctx, tokens.GenerateParams{User: e.User, Note: "scale probe"})
		if err != nil {
			b.Fatal(err)
		}
		e.Logs.Secret(raw)
		f.apiTokens = append(f.apiTokens, raw)
		f.jwts = append(f.jwts, f.clientCredentials(b))
	}
	f.browser = e.Browser()
	f.browser.SignIn(testenv.UserUsername, testenv.UserPassword)
	for range probes {
		f.refreshes = append(f.refreshes, f.codeFlow(b))
	}
	return f
}

// do sends one request through the application's router.
func (f *fixture) do(method, path string, form url.Values, authz, basicID string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	switch {
	case basicID == f.app.ID:
		req.SetBasicAuth(f.app.ID, f.appSecret)
	case basicID == f.rs.ID:
		req.SetBasicAuth(f.rs.ID, f.rsSk)
	case authz != "":
		req.Header.Set("Authorization", authz)
	}
	rec := httptest.NewRecorder()
	f.e.App.Router.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) expect(b testing.TB, rec *httptest.ResponseRecorder, status int, contains string) {
	if rec.Code != status || !strings.Contains(rec.Body.String(), contains) {
		b.Fatalf("status %d, want %d with %q: %s", rec.Code, status, contains, rec.Body)
	}
}

func (f *fixture) token(form url.Values) *httptest.ResponseRecorder {
	return f.do(http.MethodPost, authserver.PathToken, form, "", f.app.ID)
}

func (f *fixture) revoke(tok, hint string) *httptest.ResponseRecorder {
	return f.do(http.MethodPost, authserver.PathRevoke, url.Values{"token": {tok}, "token_type_hint": {hint}}, "", f.app.ID)
}

func (f *fixture) introspect(b testing.TB, clientID, tok string) {
	f.expect(b, f.do(http.MethodPost, authserver.PathIntrospect, url.Values{"token": {tok}}, "", clientID),
		http.StatusOK, `"active":true`)
}

// clientCredentials returns a new JWT access token of the app.
func (f *fixture) clientCredentials(b testing.TB) string {
	rec := f.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"session:read"}})
	f.expect(b, rec, http.StatusOK, `"access_token"`)
	return field(b, rec, "access_token")
}

// codeFlow runs the authorization code flow with PKCE as the signed-in
// user and returns the refresh token.
func (f *fixture) codeFlow(b testing.TB) string {
	v := make([]byte, 32)
	_, _ = rand.Read(v)
	verifier := base64.RawURLEncoding.EncodeToString(v)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {f.app.ID}, "redirect_uri": {redirectURI},
		"scope": {"session:read"}, "state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}
	p := f.browser.Get(authserver.PathAuthorize + "?" + q.Encode())
	if p.Status == http.StatusOK { // the consent page, the first time
		allow := p.Hidden()
		allow.Set("decision", "allow")
		p = f.browser.Post(authserver.PathAuthorize, allow)
	}
	code := p.Location(b).Query().Get("code")
	if code == "" {
		b.Fatalf("no code: %d %s", p.Status, p.Header.Get("Location"))
	}
	rec := f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier": {verifier}})
	f.expect(b, rec, http.StatusOK, `"refresh_token"`)
	return field(b, rec, "refresh_token")
}

func field(b testing.TB, rec *httptest.ResponseRecorder, name string) string {
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		b.Fatalf("%v: %s", err, rec.Body)
	}
	s, _ := m[name].(string)
	if s == "" {
		b.Fatalf("no %s in %s", name, rec.Body)
	}
	return s
}
