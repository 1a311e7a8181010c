package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/testenv"
)

// ccEnv drives the client_credentials tests through the real server: the
// token, introspection and revocation endpoints and GET /api/ behind the
// Guard.
type ccEnv struct {
	t      *testing.T
	e      *testenv.Env
	id     string
	secret string
	rs     *authserver.Client // a resource server, to introspect any token
	rsKey  string
}

func newCCEnv(t *testing.T, e *testenv.Env) *ccEnv {
	c, secret := e.RegisterClient(authserver.ClientSpec{Name: "svc",
		GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: []string{"root:read"}})
	rs, rsKey := e.RegisterClient(authserver.ClientSpec{Name: "rs", ResourceServer: true,
		GrantTypes: []string{authserver.GrantClientCredentials}, Scopes: []string{"root:read"}})
	return &ccEnv{t: t, e: e, id: c.ID, secret: secret, rs: rs, rsKey: rsKey}
}

func (c *ccEnv) post(path string, form url.Values, id, secret string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			c.t.Fatalf("%s: %d %s", path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, body
}

// token gets a client_credentials access token.
func (c *ccEnv) token() string {
	c.t.Helper()
	code, body := c.post(authserver.PathToken, url.Values{"grant_type": {"client_credentials"}, "scope": {"root:read"}}, c.id, c.secret)
	tok, _ := body["access_token"].(string)
	if code != http.StatusOK || tok == "" {
		c.t.Fatalf("token: %d %v", code, body)
	}
	return tok
}

// active introspects tok as the resource server.
func (c *ccEnv) active(tok string) bool {
	c.t.Helper()
	code, body := c.post(authserver.PathIntrospect, url.Values{"token": {tok}}, c.rs.ID, c.rsKey)
	if code != http.StatusOK {
		c.t.Fatalf("introspect: %d %v", code, body)
	}
	if body["active"] == true && body["client_id"] != c.id {
		c.t.Fatalf("introspection: client_id %v, want %s", body["client_id"], c.id)
	}
	return body["active"] == true
}

// api is the status of GET /api/ with tok as a Bearer token.
func (c *ccEnv) api(tok string) int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.URL+"/api/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// live asserts that tok is accepted (want) or refused everywhere.
func (c *ccEnv) live(what, tok string, want bool) {
	c.t.Helper()
	wantCode := http.StatusUnauthorized
	if want {
		wantCode = http.StatusOK
	}
	if got := c.active(tok); got != want {
		c.t.Fatalf("%s: introspection active = %v, want %v", what, got, want)
	}
	if got := c.api(tok); got != wantCode {
		c.t.Fatalf("%s: GET /api/ = %d, want %d", what, got, wantCode)
	}
}

func (c *ccEnv) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	d := c.e.App.DB
	if err := d.GetContext(context.Background(), &n, d.Rebind(query), args...); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// TestClientCredentialsWithoutRow: a client_credentials JWT access token is
// issued without an oauth_tokens row, yet introspection and the Guard
// accept it; revoked (RFC 7009) it is refused by both, through a restart;
// reported as leaked it is refused and the report audited.
func TestClientCredentialsWithoutRow(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		c := newCCEnv(t, e)
		revoked, kept, reported := c.token(), c.token(), c.token()
		if n := c.count(`SELECT COUNT(*) FROM oauth_tokens WHERE client_id = ?`, c.id); n != 0 {
			t.Fatalf("oauth_tokens rows for the client after 3 client_credentials tokens: %d, want 0", n)
		}
		c.live("fresh token", revoked, true)

		if code, body := c.post(authserver.PathRevoke, url.Values{"token": {revoked}}, c.id, c.secret); code != http.StatusOK {
			t.Fatalf("revoke: %d %v", code, body)
		}
		c.live("revoked token", revoked, false)
		c.live("another token of the client", kept, true)

		ok, err := e.App.OAuth.RevokeReported(context.Background(), reported)
		if err != nil || !ok {
			t.Fatalf("RevokeReported = %v, %v; want true", ok, err)
		}
		c.live("reported token", reported, false)
		if n := c.count(`SELECT COUNT(*) FROM audit_events WHERE kind = ? AND subject_id = ?`, "oauth.credential_reported", c.id); n != 1 {
			t.Fatalf("credential_reported audit events: %d, want 1", n)
		}
		if ok, err := e.App.OAuth.RevokeReported(context.Background(), reported); err != nil || ok {
			t.Fatalf("second report = %v, %v; want false (revoked already)", ok, err)
		}

		e.Restart()
		c.live("revoked token after a restart", revoked, false)
		c.live("reported token after a restart", reported, false)
		c.live("kept token after a restart", kept, true)
		if n := c.count(`SELECT COUNT(*) FROM oauth_tokens WHERE client_id = ?`, c.id); n != 0 {
			t.Fatalf("oauth_tokens rows for the client: %d, want 0", n)
		}
	})
}

// TestClientCredentialsClientRevocation: disabling a client refuses its
// row-less tokens at once and for good (re-enabling it does not bring them
// back, also after a restart), its new tokens work, and deleting it
// refuses those.
func TestClientCredentialsClientRevocation(t *testing.T) {
	testenv.Each(t, func(t *testing.T, e *testenv.Env) {
		ctx := context.Background()
		c := newCCEnv(t, e)
		before := c.token()
		c.live("token before disable", before, true)
		if _, err := e.App.OAuth.DisableClient(ctx, c.id); err != nil {
			t.Fatal(err)
		}
		c.live("token of a disabled client", before, false)
		if _, err := e.App.OAuth.EnableClient(ctx, c.id); err != nil {
			t.Fatal(err)
		}
		c.live("token issued before the disable, client re-enabled", before, false)

		// A JWT's iat has whole seconds and a token issued in the second
		// of the disable counts as before it: wait for the next one.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
		after := c.token()
		c.live("token issued after the re-enable", after, true)

		e.Restart()
		c.live("token issued before the disable, after a restart", before, false)
		c.live("token issued after the re-enable, after a restart", after, true)

		if err := e.App.OAuth.DeleteClient(ctx, c.id); err != nil {
			t.Fatal(err)
		}
		c.live("token of a deleted client", after, false)
	})
}

// TestOpaqueClientCredentialsKeepRow: the opaque format is looked up by its
// row, so it still gets one.
func TestOpaqueClientCredentialsKeepRow(t *testing.T) {
	e := testenv.New(t, testenv.Config(func(cfg *configs.Config) { cfg.OAuth.AccessTokenFormat = authserver.FormatOpaque }))
	c := newCCEnv(t, e)
	tok := c.token()
	if n := c.count(`SELECT COUNT(*) FROM oauth_tokens WHERE client_id = ? AND kind = 'access'`, c.id); n != 1 {
		t.Fatalf("oauth_tokens rows for an opaque client_credentials token: %d, want 1", n)
	}
	c.live("opaque token", tok, true)
	if _, err := e.App.OAuth.DisableClient(context.Background(), c.id); err != nil {
		t.Fatal(err)
	}
	c.live("opaque token of a disabled client", tok, false)
}
