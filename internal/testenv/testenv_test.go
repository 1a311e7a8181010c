package testenv_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// TestEnv: the environment serves the real application on both databases,
// its seeded user signs in through the form, and clients register.
func TestEnv(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		b := e.Browser()
		if p := b.Get("/account/"); p.Status != http.StatusSeeOther || p.Location(t).Path != "/login" {
			t.Fatalf("account page before sign-in: %d", p.Status)
		}
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := b.Get("/account/"); p.Status != http.StatusOK || !strings.Contains(p.Body, testenv.UserUsername) {
			t.Fatalf("account page after sign-in: %d", p.Status)
		}
		if b.CSRF("/account/") == "" {
			t.Fatal("no CSRF token")
		}
		c, secret := e.RegisterClient(authserver.ClientSpec{RedirectURIs: []string{"https://app.example.com/cb"}, Scopes: []string{"session:read"}})
		if c.ID == "" || secret == "" {
			t.Fatalf("client %+v", c)
		}
		if !e.Logs.Contains(`"msg":"user logged in"`) {
			t.Fatalf("log not captured: %s", e.Logs.String())
		}
		if e.Admin.ID == 0 || !e.Admin.IsAdmin || e.User.IsAdmin {
			t.Fatalf("seeded users %+v %+v", e.Admin, e.User)
		}
	})
}

// TestClock: on a FixedClock, an access token the application issued
// stays valid until the test moves the clock past its lifetime, and a
// browser session expires when its idle timeout passes on that clock.
func TestClock(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		c, secret := e.RegisterClient(authserver.ClientSpec{GrantTypes: []string{authserver.GrantClientCredentials}})
		req, _ := http.NewRequest(http.MethodPost, e.URL+authserver.PathToken,
			strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if err != nil || strings.Count(tok.AccessToken, ".") != 2 {
			t.Fatalf("token: %d %v %+v", resp.StatusCode, err, tok)
		}
		e.Logs.Secret(tok.AccessToken)
		// go-oauth2 stamps the token with the real time (docs/testing.md):
		// the clock moves relative to its exp claim.
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.AccessToken, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Exp int64 `json:"exp"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Exp == 0 {
			t.Fatalf("claims %s: %v", payload, err)
		}
		exp := time.Unix(claims.Exp, 0)
		bearer := e.App.OAuth.Bearer()
		e.Clock.Set(exp.Add(-time.Second))
		if _, err := bearer.ValidateBearer(context.Background(), tok.AccessToken); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		e.Clock.Set(exp.Add(10 * time.Second)) // past the validator's 5 s leeway for clock skew
		if _, err := bearer.ValidateBearer(context.Background(), tok.AccessToken); err == nil {
			t.Fatal("valid after its lifetime on the application's clock")
		}

		b := e.Browser()
		b.SignIn(testenv.UserUsername, testenv.UserPassword)
		if p := b.Get("/account/"); p.Status != http.StatusOK {
			t.Fatalf("account page after sign-in: %d", p.Status)
		}
		e.Clock.Advance(e.App.Config.Auth.SessionIdleTimeout + time.Second)
		if p := b.Get("/account/"); p.Status != http.StatusSeeOther {
			t.Fatalf("account page after the idle timeout: %d", p.Status)
		}
	}, testenv.Clock(time.Time{}))
}
