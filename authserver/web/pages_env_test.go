package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/testenv"
)

// pagesEnv is the real application (internal/testenv) with the clients
// the page tests use. Scopes are the built-in resources' (session, user,
// root, resource).
type pagesEnv struct {
	*testenv.Env
	public, conf, disabled, ccOnly, single *authserver.Client
}

func newPagesEnv(t *testing.T, opts ...testenv.Option) *pagesEnv {
	t.Helper()
	return withClients(t, testenv.New(t, opts...))
}

func withClients(t *testing.T, e *testenv.Env) *pagesEnv {
	t.Helper()
	pe := &pagesEnv{Env: e}
	pe.public, _ = e.RegisterClient(authserver.ClientSpec{Name: "Native <App>", Public: true,
		RedirectURIs: []string{"http://127.0.0.1:8080/callback", "com.example.app:/cb"},
		Scopes:       []string{"session:read", "user:read", "root:read"}})
	pe.conf, _ = e.RegisterClient(authserver.ClientSpec{Name: "Web App",
		RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/other"},
		Scopes:       []string{"session:read", "user:read"}})
	pe.disabled, _ = e.RegisterClient(authserver.ClientSpec{Name: "Off",
		RedirectURIs: []string{"https://off.example.com/cb"}, Scopes: []string{"session:read"}})
	if _, err := e.App.OAuth.DisableClient(context.Background(), pe.disabled.ID); err != nil {
		t.Fatal(err)
	}
	pe.ccOnly, _ = e.RegisterClient(authserver.ClientSpec{Name: "Machine", GrantTypes: []string{authserver.GrantClientCredentials},
		RedirectURIs: []string{"https://m.example.com/cb"}, Scopes: []string{"session:read"}})
	pe.single, _ = e.RegisterClient(authserver.ClientSpec{Name: "Single",
		RedirectURIs: []string{"https://single.example.com/cb"}, Scopes: []string{"session:read"}})
	return pe
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

// freshChallenge is the S256 challenge of a new random verifier: the
// authorization server refuses a challenge a client has used before.
func freshChallenge() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return s256(base64.RawURLEncoding.EncodeToString(b))
}

// authzQuery is a valid request for the public client, with a fresh
// challenge; tests change it.
func (pe *pagesEnv) authzQuery() url.Values {
	return url.Values{
		"response_type":         {"code"},
		"client_id":             {pe.public.ID},
		"redirect_uri":          {"http://127.0.0.1:8080/callback"},
		"scope":                 {"session:read"},
		"state":                 {"st-123"},
		"code_challenge":        {freshChallenge()},
		"code_challenge_method": {"S256"},
	}
}
