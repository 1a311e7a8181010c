package integration

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/tokens"
)

// The authorization server core over HTTP with golang.org/x/oauth2 and
// x/oauth2/clientcredentials: client credentials, refresh rotation and
// reuse detection, revocation and introspection, on SQLite and PostgreSQL.
// (The browser flows are in oauth_flow_test.go.)

// retrieveError returns err's RFC 6749 §5.2 response, failing unless it is
// a 400 or 401 (never a 500) with the wanted code.
func wantRetrieveError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an RFC 6749 error response, got %v", err)
	}
	if re.Response.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, re.Response.StatusCode, re.ErrorCode, re.Body)
	}
}

func (ag *authgate) serviceClient(scopes ...string) registeredClient {
	ag.t.Helper()
	c, secret, err := ag.App.OAuth.CreateClient(context.Background(), authserver.ClientSpec{
		Name: "service", GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: scopes})
	if err != nil {
		ag.t.Fatal(err)
	}
	return registeredClient{ID: c.ID, Secret: secret}
}

// resourceServer registers a client flagged as a resource server: it may
// introspect every access token and API token.
func (ag *authgate) resourceServer() registeredClient {
	ag.t.Helper()
	c, secret, err := ag.App.OAuth.CreateClient(context.Background(), authserver.ClientSpec{
		Name: "resource server", GrantTypes: []string{authserver.GrantClientCredentials}, ResourceServer: true})
	if err != nil {
		ag.t.Fatal(err)
	}
	return registeredClient{ID: c.ID, Secret: secret}
}

func (ag *authgate) ccConfig(c registeredClient, style oauth2.AuthStyle, scopes ...string) *clientcredentials.Config {
	return &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: ag.URL + authserver.PathToken,
		Scopes: scopes, AuthStyle: style}
}

// userToken runs the browser flow (login, consent) for the confidential
// client and exchanges the code with x/oauth2.
func (ag *authgate) userToken(t *testing.T, b *browser, scopes ...string) (*oauth2.Config, *oauth2.Token) {
	t.Helper()
	cfg := ag.oauthConfig(ag.conf, scopes...)
	verifier := oauth2.GenerateVerifier()
	r := b.authorize(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	q := callback(t, ag, r, ag.conf.RedirectURI)
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return cfg, tok
}

// post sends a form with Basic client authentication and decodes the JSON.
func (ag *authgate) post(path string, form url.Values, c registeredClient) (int, map[string]any) {
	ag.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ag.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ag.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func (ag *authgate) introspect(rs registeredClient, token string) map[string]any {
	ag.t.Helper()
	status, body := ag.post(authserver.PathIntrospect, url.Values{"token": {token}}, rs)
	if status != http.StatusOK {
		ag.t.Fatalf("introspect: %d %v", status, body)
	}
	return body
}

func TestClientCredentialsGrant(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		svc := ag.serviceClient("session:read")

		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
			cc := ag.ccConfig(svc, style, "session:read")
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("style %v: %v", style, err)
			}
			if tok.TokenType != "Bearer" || tok.RefreshToken != "" || time.Until(tok.Expiry) < 50*time.Minute ||
				tok.Extra("scope") != "session:read" {
				t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			// The token works on authgate's own API through the Guard.
			resp, err := cc.Client(ctx).Get(ag.URL + "/api/session/")
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Session struct {
					AuthMethod string `json:"auth_method"`
					ClientID   string `json:"client_id"`
				} `json:"session"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || body.Session.ClientID != svc.ID || body.Session.AuthMethod != "oauth2" {
				t.Fatalf("API with a client_credentials token: %d %+v", resp.StatusCode, body)
			}
		}

		_, err := ag.ccConfig(registeredClient{ID: svc.ID, Secret: "agcs_wrong"}, oauth2.AuthStyleInHeader).Token(ctx)
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
		_, err = ag.ccConfig(registeredClient{ID: "agci_unknown", Secret: svc.Secret}, oauth2.AuthStyleInHeader).Token(ctx)
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
		_, err = ag.ccConfig(svc, oauth2.AuthStyleInHeader, "session:read", ag.otherScope()).Token(ctx)
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_scope")
		_, err = ag.ccConfig(ag.conf, oauth2.AuthStyleInHeader).Token(ctx)
		wantRetrieveError(t, err, http.StatusBadRequest, "unauthorized_client")

		// Disabling the client kills its live tokens at once.
		tok, err := ag.ccConfig(svc, oauth2.AuthStyleInHeader).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ag.App.OAuth.DisableClient(ctx, svc.ID); err != nil {
			t.Fatal(err)
		}
		if status, _ := ag.apiSession(tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("disabled client's token: %d", status)
		}
		_, err = ag.ccConfig(svc, oauth2.AuthStyleInHeader).Token(ctx)
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		b := ag.browser()
		cfg, first := ag.userToken(t, b, "session:read")

		second, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("refresh did not rotate")
		}
		if status, _ := ag.apiSession(second.AccessToken); status != http.StatusOK {
			t.Fatalf("refreshed access token: %d", status)
		}
		// Reuse of the rotated-out token fails and revokes the family.
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: second.RefreshToken}).Token()
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		if status, _ := ag.apiSession(second.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("family access token after reuse: %d", status)
		}

		// Another client cannot use the refresh token, and cannot widen it.
		_, third := ag.userToken(t, b, "session:read")
		otherCfg := ag.oauthConfig(ag.public, "session:read")
		_, err = otherCfg.TokenSource(ctx, &oauth2.Token{RefreshToken: third.RefreshToken}).Token()
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		// x/oauth2 sends no scope on refresh, so ask for a wider one by hand.
		status, body := ag.post(authserver.PathToken, url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {third.RefreshToken}, "scope": {"session:read " + ag.otherScope()}}, ag.conf)
		if status != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Fatalf("widening refresh: %d %v", status, body)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: third.RefreshToken}).Token(); err != nil {
			t.Fatalf("refresh after refused attempts: %v", err)
		}

		// 50 concurrent refreshes of one token: at most one new pair.
		_, fourth := ag.userToken(t, b, "session:read")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins []*oauth2.Token
		)
		start := make(chan struct{})
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fourth.RefreshToken}).Token()
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins = append(wins, tok)
					return
				}
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.Response.StatusCode != http.StatusBadRequest || re.ErrorCode != "invalid_grant" {
					t.Errorf("concurrent refresh: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(wins) > 1 {
			t.Fatalf("%d of 50 concurrent refreshes got a new pair", len(wins))
		}
		t.Logf("50 concurrent refreshes: %d new pair(s)", len(wins))
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fourth.RefreshToken}).Token()
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		for _, w := range wins {
			if status, _ := ag.apiSession(w.AccessToken); status != http.StatusUnauthorized {
				t.Fatalf("the winner's access token survived reuse: %d", status)
			}
		}
	})
}

func TestRevokeAndIntrospect(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		rs := ag.resourceServer()
		b := ag.browser()

		_, tok := ag.userToken(t, b, "session:read")
		body := ag.introspect(rs, tok.AccessToken)
		if body["active"] != true || body["username"] != userName || body["client_id"] != ag.conf.ID || body["token_type"] != "Bearer" {
			t.Fatalf("introspection: %v", body)
		}
		// RFC 7009: revoking the refresh token revokes its access token.
		if status, body := ag.post(authserver.PathRevoke, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, ag.conf); status != http.StatusOK {
			t.Fatalf("revoke: %d %v", status, body)
		}
		if body := ag.introspect(rs, tok.AccessToken); body["active"] != false {
			t.Fatalf("access token active after revocation: %v", body)
		}
		if status, _ := ag.apiSession(tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("API accepted a revoked token: %d", status)
		}
		// Revoking a JWT access token alone.
		_, tok2 := ag.userToken(t, b, "session:read")
		if status, _ := ag.post(authserver.PathRevoke, url.Values{"token": {tok2.AccessToken}}, ag.conf); status != http.StatusOK {
			t.Fatalf("revoke access token: %d", status)
		}
		if status, _ := ag.apiSession(tok2.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("API accepted a revoked JWT: %d", status)
		}
		if _, err := ag.oauthConfig(ag.conf).TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token(); err != nil {
			t.Fatalf("refresh token died with its access token: %v", err)
		}
		// Unknown tokens: 200 and inactive.
		if status, _ := ag.post(authserver.PathRevoke, url.Values{"token": {"agrt_unknown"}}, ag.conf); status != http.StatusOK {
			t.Fatalf("revoke unknown: %d", status)
		}
		if body := ag.introspect(rs, "not-a-token"); body["active"] != false || len(body) != 1 {
			t.Fatalf("introspect junk: %v", body)
		}
		// API tokens are introspectable too.
		exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		_, raw, err := ag.App.Tokens.Generate(ctx, tokens.GenerateParams{User: ag.alice, Expires: &exp,
			Policy: json.RawMessage(`{"resources":{"session":{"*":{"allow":["GET"]}}}}`)})
		if err != nil {
			t.Fatal(err)
		}
		body = ag.introspect(rs, raw)
		if body["active"] != true || body["token_type"] != "api_token" || body["username"] != userName ||
			int64(body["exp"].(float64)) != exp.Unix() || body["policy"] == nil {
			t.Fatalf("API token introspection: %v", body)
		}
		if _, err := ag.App.Tokens.Invalidate(ctx, mustTokenID(t, ag, raw), "test"); err != nil {
			t.Fatal(err)
		}
		if body := ag.introspect(rs, raw); body["active"] != false {
			t.Fatalf("invalidated API token active: %v", body)
		}
	})
}

func mustTokenID(t *testing.T, ag *authgate, raw string) int64 {
	t.Helper()
	a, err := ag.App.Tokens.Authenticate(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return a.Token.ID
}

// TestTokenErrorsWithXOAuth2: the code exchange's failure modes as
// x/oauth2 reports them — all 400 or 401.
func TestTokenErrorsWithXOAuth2(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		ctx := context.Background()
		b := ag.browser()
		cfg := ag.oauthConfig(ag.conf, "session:read")
		code := func(verifier string) string {
			r := b.authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
			return callback(t, ag, r, ag.conf.RedirectURI).Get("code")
		}
		v := oauth2.GenerateVerifier()
		c1 := code(v)
		_, err := cfg.Exchange(ctx, c1, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant") // wrong verifier
		_, err = cfg.Exchange(ctx, c1, oauth2.VerifierOption(v))
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant") // spent by the failed attempt
		_, err = cfg.Exchange(ctx, "agac_bogus", oauth2.VerifierOption(v))
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
		v2 := oauth2.GenerateVerifier()
		c2 := code(v2)
		bad := *cfg
		bad.ClientSecret = "agcs_wrong"
		_, err = bad.Exchange(ctx, c2, oauth2.VerifierOption(v2))
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
		tok, err := cfg.Exchange(ctx, c2, oauth2.VerifierOption(v2))
		if err != nil {
			t.Fatalf("exchange after a failed client authentication: %v", err)
		}
		_, err = cfg.Exchange(ctx, c2, oauth2.VerifierOption(v2))
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant") // replay
		if status, _ := ag.apiSession(tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("token of a replayed code still works: %d", status)
		}
	})
}
