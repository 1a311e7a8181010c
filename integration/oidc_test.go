package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/users"
)

func randomString(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcCode drives the authorization request of conf through the login and
// consent forms as a browser would and returns the code.
func oidcCode(t *testing.T, b *testenv.Browser, authURL, state string) string {
	t.Helper()
	p := b.Get(authURL)
	if p.Status == http.StatusOK { // the consent page
		f := p.Hidden()
		f.Set("decision", "allow")
		p = b.Post("/oauth/authorize", f)
	}
	loc := p.Location(t)
	q := loc.Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("authorization response %s", loc)
	}
	return q.Get("code")
}

// TestGoOIDCCodeFlow: coreos/go-oidc, a relying party no one on the project
// wrote, discovers authgate, runs the code flow with PKCE and a nonce
// through the real login and consent forms, verifies the ID token
// (signature against the JWKS, iss, aud, exp, nonce) and its at_hash, and
// reads userinfo with the access token; the sub is the same everywhere. A
// refresh returns a new ID token with the same sub and aud.
func TestGoOIDCCodeFlow(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		pw := "correct horse battery staple"
		u := e.CreateUser(users.NewUser{Username: "ann", Password: pw, Email: "ann@example.com", EmailVerified: true, Name: "Ann Example"})
		redirect := "http://127.0.0.1:9/callback"
		cl, secret := e.RegisterClient(authserver.ClientSpec{
			RedirectURIs: []string{redirect},
			Scopes:       []string{"openid", "profile", "email"},
		})

		provider, err := oidc.NewProvider(ctx, e.URL)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		var claims struct {
			Algs     []string `json:"id_token_signing_alg_values_supported"`
			Userinfo string   `json:"userinfo_endpoint"`
		}
		if err := provider.Claims(&claims); err != nil || len(claims.Algs) == 0 || claims.Algs[0] != "RS256" {
			t.Fatalf("discovery algs %v, %v", claims.Algs, err)
		}
		conf := oauth2.Config{
			ClientID: cl.ID, ClientSecret: secret, RedirectURL: redirect, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "profile", "email"},
		}
		b := e.Browser()
		b.SignIn("ann", pw)
		state, nonce, verifier := randomString(t), randomString(t), oauth2.GenerateVerifier()
		code := oidcCode(t, b, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		if rawID == "" {
			t.Fatal("no id_token in the token response")
		}
		e.Logs.Secret(rawID)
		verifier2 := provider.Verifier(&oidc.Config{ClientID: cl.ID})
		idt, err := verifier2.Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("verify id_token: %v", err)
		}
		if idt.Nonce != nonce {
			t.Fatalf("nonce %q, want %q", idt.Nonce, nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Fatalf("at_hash: %v", err)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken + "x"); err == nil {
			t.Fatal("at_hash accepted another access token")
		}
		var c struct {
			Email         string `json:"email"`
			EmailVerified bool   `json:"email_verified"`
			Name          string `json:"name"`
			Username      string `json:"preferred_username"`
			AuthTime      int64  `json:"auth_time"`
		}
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if idt.Subject != authserver.Subject(u.ID) || c.Email != "ann@example.com" || !c.EmailVerified ||
			c.Name != "Ann Example" || c.Username != "ann" || c.AuthTime == 0 {
			t.Fatalf("id token sub %q claims %+v", idt.Subject, c)
		}

		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if ui.Subject != idt.Subject || ui.Email != "ann@example.com" || !ui.EmailVerified {
			t.Fatalf("userinfo %+v", ui)
		}

		// Refresh (no offline_access needed): a new ID token, same sub and aud.
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token for an openid grant")
		}
		tok.Expiry = tok.Expiry.Add(-24 * 3600 * 1e9)
		next, err := conf.TokenSource(ctx, tok).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		rawNext, _ := next.Extra("id_token").(string)
		e.Logs.Secret(rawNext)
		idn, err := verifier2.Verify(ctx, rawNext)
		if err != nil {
			t.Fatalf("verify refreshed id_token: %v", err)
		}
		if idn.Subject != idt.Subject || strings.Join(idn.Audience, " ") != cl.ID || idn.Nonce != "" {
			t.Fatalf("refreshed id token sub %q aud %v nonce %q", idn.Subject, idn.Audience, idn.Nonce)
		}
		if err := idn.VerifyAccessToken(next.AccessToken); err != nil {
			t.Fatalf("refreshed at_hash: %v", err)
		}
	})
}

// TestOIDCUserinfoRefusals: userinfo without a token, with a bad one, or
// with a token not granted openid answers with an RFC 6750 challenge.
func TestOIDCUserinfoRefusals(t *testing.T) {
	e := testenv.New(t)
	b := e.Browser()
	for _, h := range []string{"", "Bearer nope", "Bearer eyJhbGciOiJub25lIn0.e30."} {
		hdr := http.Header{}
		if h != "" {
			hdr.Set("Authorization", h)
		}
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			p := b.Do(m, authserver.PathUserinfo, url.Values{}, hdr)
			wa := p.Header.Get("WWW-Authenticate")
			if p.Status != http.StatusUnauthorized || !strings.HasPrefix(wa, "Bearer") ||
				(h != "" && !strings.Contains(wa, `error="invalid_token"`)) {
				t.Errorf("%s %q: status %d WWW-Authenticate %q", m, h, p.Status, wa)
			}
		}
	}
}

// TestOIDCDiscoveryAgreesWithRFC8414: the OpenID configuration and the RFC
// 8414 document name the same issuer and endpoints; the JWKS holds an RS256
// key before any ID token was issued.
func TestOIDCDiscoveryAgreesWithRFC8414(t *testing.T) {
	e := testenv.New(t)
	b := e.Browser()
	var oidcDoc, oauthDoc map[string]any
	for path, dst := range map[string]*map[string]any{
		authserver.PathOIDCDiscovery: &oidcDoc, authserver.PathMetadata: &oauthDoc,
	} {
		p := b.Get(path)
		if p.Status != http.StatusOK || json.Unmarshal([]byte(p.Body), dst) != nil {
			t.Fatalf("%s: %d %s", path, p.Status, p.Body)
		}
	}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint"} {
		if oidcDoc[k] != oauthDoc[k] || oidcDoc[k] == nil {
			t.Errorf("%s: openid-configuration %v, RFC 8414 %v", k, oidcDoc[k], oauthDoc[k])
		}
	}
	for _, k := range []string{"userinfo_endpoint", "end_session_endpoint", "subject_types_supported",
		"id_token_signing_alg_values_supported", "claims_supported", "scopes_supported", "response_types_supported",
		"code_challenge_methods_supported"} {
		if oidcDoc[k] == nil {
			t.Errorf("openid-configuration lacks %s", k)
		}
	}
	sc, _ := json.Marshal(oidcDoc["scopes_supported"])
	for _, s := range []string{`"openid"`, `"profile"`, `"email"`} {
		if !strings.Contains(string(sc), s) {
			t.Errorf("scopes_supported %s lacks %s", sc, s)
		}
	}
	p := b.Get(authserver.PathJWKS)
	if !strings.Contains(p.Body, `"alg":"RS256"`) {
		t.Errorf("JWKS without an RS256 key: %s", p.Body)
	}
}

// TestGoOIDCClientAlgorithms: a client registered for ES256 or EdDSA ID
// tokens gets them signed with a key of that algorithm published in the
// JWKS; go-oidc verifies the signature and at_hash (SHA-512 for EdDSA).
func TestGoOIDCClientAlgorithms(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	pw := "correct horse battery staple"
	e.CreateUser(users.NewUser{Username: "ann", Password: pw})
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	b.SignIn("ann", pw)
	for _, alg := range []string{"ES256", "EdDSA"} {
		redirect := "http://127.0.0.1:9/" + alg
		cl, secret := e.RegisterClient(authserver.ClientSpec{
			RedirectURIs: []string{redirect}, Scopes: []string{"openid"}, IDTokenAlg: alg,
		})
		conf := oauth2.Config{ClientID: cl.ID, ClientSecret: secret, RedirectURL: redirect, Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID}}
		state, nonce, verifier := randomString(t), randomString(t), oauth2.GenerateVerifier()
		code := oidcCode(t, b, conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state)
		tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("%s: exchange: %v", alg, err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		e.Logs.Secret(rawID)
		idt, err := provider.Verifier(&oidc.Config{ClientID: cl.ID, SupportedSigningAlgs: []string{alg}}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("%s: verify: %v", alg, err)
		}
		if idt.Nonce != nonce || idt.VerifyAccessToken(tok.AccessToken) != nil {
			t.Fatalf("%s: nonce %q or at_hash wrong", alg, idt.Nonce)
		}
	}
}

// TestGoOIDCUserinfoDPoP: a public client whose tokens are DPoP-bound reads
// userinfo through go-oidc with a proof per request; the same token sent
// as a Bearer token is refused with an RFC 6750 challenge.
func TestGoOIDCUserinfoDPoP(t *testing.T) {
	e := testenv.New(t, testenv.Config(func(c *configs.Config) { c.OAuth.DPoP.Enabled = true }))
	pw := "correct horse battery staple"
	u := e.CreateUser(users.NewUser{Username: "ann", Password: pw, Email: "ann@example.com"})
	redirect := "http://127.0.0.1:9/dpop"
	cl, _ := e.RegisterClient(authserver.ClientSpec{Public: true, RedirectURIs: []string{redirect}, Scopes: []string{"openid", "email"}})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &dpopTransport{key: key, base: http.DefaultTransport}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	provider, err := oidc.NewProvider(ctx, e.URL)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: cl.ID, RedirectURL: redirect, Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"}}
	b := e.Browser()
	b.SignIn("ann", pw)
	state, verifier := randomString(t), oauth2.GenerateVerifier()
	code := oidcCode(t, b, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), state)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil || tok.TokenType != "DPoP" {
		t.Fatalf("exchange: %v, token_type %q", err, tok.TokenType)
	}
	e.Logs.Secret(tok.Extra("id_token").(string))
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != authserver.Subject(u.ID) || ui.Email != "ann@example.com" {
		t.Fatalf("userinfo with DPoP: %+v, %v", ui, err)
	}
	p := b.Do(http.MethodGet, authserver.PathUserinfo, nil, http.Header{"Authorization": {"Bearer " + tok.AccessToken}})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("bound token as Bearer: %d %q", p.Status, p.Header.Get("WWW-Authenticate"))
	}
	p = b.Do(http.MethodGet, authserver.PathUserinfo, nil, http.Header{"Authorization": {"DPoP " + tok.AccessToken}})
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("DPoP token without a proof: %d", p.Status)
	}
}
