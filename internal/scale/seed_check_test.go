package scale

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/sweep"
	"github.com/authgate/authgate/internal/testenv"
)

// TestSeed: on both databases, Seed writes CountsFor(n) rows that the
// application reads as its own: the sweep deletes exactly the rows seeded
// as expired (so the bound times compare the way the stores' do), and the
// application still answers with the rows in place.
func TestSeed(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		const n = 2000
		if err := Seed(ctx, e.App.DB, n, time.Now()); err != nil {
			t.Fatal(err)
		}
		c := CountsFor(n)
		for table, want := range map[string]int{
			"users": c.Users + 2, "api_tokens": c.APITokens, "oauth_clients": c.Clients,
			"oauth_tokens": c.OAuthTokens, "revoked_jti": c.RevokedJTIs, "audit_events": c.Audit,
		} {
			var got int
			if err := e.App.DB.GetContext(ctx, &got, `SELECT COUNT(*) FROM `+table); err != nil {
				t.Fatal(err)
			}
			if got < want || (table != "audit_events" && got != want) {
				t.Errorf("%s holds %d rows, want %d", table, got, want)
			}
		}
		s, err := sweep.New(sweep.Options{BatchSize: 100}, e.App.GCTables()...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Once(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deleted := map[string]int{}
		for _, r := range res {
			deleted[r.Table] = r.Deleted
		}
		oauth, audit := c.Expired()
		if deleted["oauth_tokens"] != oauth || deleted["audit_events"] != audit {
			t.Errorf("the sweep deleted %v, want oauth_tokens %d, audit_events %d", deleted, oauth, audit)
		}
		f := newFixture(t, e)
		if rec := f.do(http.MethodGet, "/api/session/", nil, "token "+f.apiTokens[0], ""); rec.Code != http.StatusOK {
			t.Errorf("GET /api/session/ with an API token beside the seeded rows: %d %s", rec.Code, rec.Body)
		}
	}, testenv.Config(func(c *configs.Config) { c.Audit.Retention = 365 * 24 * time.Hour }))
}
