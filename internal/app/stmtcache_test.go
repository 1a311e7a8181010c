package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// TestHotPathsReuseStatements: once each hot path has run, repeating it
// prepares no statement (no SQL text parsed again) and runs none unprepared
// past the cache: issuing a client_credentials token (client lookup,
// token insert), introspecting it, and a signed-in page (session read,
// user read) are served by statements prepared on first use.
func TestHotPathsReuseStatements(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		c, secret := e.RegisterClient(authserver.ClientSpec{
			GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: []string{"resource:read"}})
		basic := http.Header{}
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(c.ID, secret)
		basic.Set("Authorization", req.Header.Get("Authorization"))
		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		round := func() {
			t.Helper()
			p := b.Do(http.MethodPost, authserver.PathToken, url.Values{"grant_type": {"client_credentials"}}, basic)
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal([]byte(p.Body), &tok); err != nil || tok.AccessToken == "" {
				t.Fatalf("token: %d %s", p.Status, p.Body)
			}
			p = b.Do(http.MethodPost, authserver.PathIntrospect, url.Values{"token": {tok.AccessToken}}, basic)
			if p.Status != http.StatusOK || !json.Valid([]byte(p.Body)) {
				t.Fatalf("introspect: %d %s", p.Status, p.Body)
			}
			if p := b.Get("/account/"); p.Status != http.StatusOK {
				t.Fatalf("account page: %d", p.Status)
			}
		}
		round() // prepares what the paths need
		before := e.App.DB.StmtStats()
		const rounds = 5
		for range rounds {
			round()
		}
		after := e.App.DB.StmtStats()
		if after.Prepares != before.Prepares || after.Uncached != before.Uncached {
			t.Errorf("repeating the hot paths prepared %d statements and ran %d uncached, want 0 and 0 (before %+v, after %+v)",
				after.Prepares-before.Prepares, after.Uncached-before.Uncached, before, after)
		}
		// Each round's queries: client lookup and token insert, client
		// lookup and revocation check, session read (a cache in front of a
		// store may answer some without a query; at least one per round
		// reaches the database).
		if hits := after.Hits - before.Hits; hits < rounds {
			t.Errorf("%d cached statements used in %d rounds: the hot paths do not use the statement cache", hits, rounds)
		}
		t.Logf("%d rounds: %d cached statement uses, %d statements cached", rounds, after.Hits-before.Hits, after.Cached)
	})
}
