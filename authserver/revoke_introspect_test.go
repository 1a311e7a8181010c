package authserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/tokens"
)

func eachFormat(t *testing.T, fn func(t *testing.T, h *harness)) {
	for _, format := range []string{authserver.FormatJWT, authserver.FormatOpaque} {
		t.Run(format, func(t *testing.T) {
			eachHarness(t, func(c *authserver.Config) { c.AccessTokenFormat = format }, fn)
		})
	}
}

// TestRevocation covers RFC 7009 for both access token formats.
func TestRevocation(t *testing.T) {
	eachFormat(t, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		other, otherSecret := h.webClient("test:read")
		revoke := func(token, id, sec string) response {
			return h.post(authserver.PathRevoke, url.Values{"token": {token}}, id, sec)
		}

		t.Run("access token: only itself", func(t *testing.T) {
			tok := h.tokens(c, secret, "test:read")
			if r := revoke(tok.str("access_token"), c.ID, secret); r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Raw)
			}
			if h.active(tok.str("access_token")) {
				t.Fatal("revoked access token active")
			}
			if r := h.api("Bearer " + tok.str("access_token")); r.Status != http.StatusUnauthorized {
				t.Fatalf("API accepted a revoked token: %d", r.Status)
			}
			if r := h.refresh(c, secret, tok.str("refresh_token"), ""); r.Status != http.StatusOK {
				t.Fatalf("refresh token died with its access token: %d %s", r.Status, r.Raw)
			}
		})
		t.Run("another client's token is refused and stays valid", func(t *testing.T) {
			tok := h.tokens(c, secret, "test:read")
			for _, v := range []string{tok.str("access_token"), tok.str("refresh_token")} {
				expectError(t, revoke(v, other.ID, otherSecret), http.StatusBadRequest, "unauthorized_client")
			}
			if !h.active(tok.str("access_token")) {
				t.Fatal("another client revoked the token")
			}
		})
		t.Run("unknown, malformed and repeated: 200", func(t *testing.T) {
			unknown, _ := oauthstore.NewOpaque(authserver.PrefixRefreshToken)
			tok := h.tokens(c, secret, "test:read")
			for _, v := range []string{unknown, "agrt_nope", "agat_nope", "eyJ.x.y", "agp_sometoken", "garbage",
				tok.str("refresh_token"), tok.str("refresh_token")} {
				if r := h.post(authserver.PathRevoke, url.Values{"token": {v}, "token_type_hint": {"something_else"}}, c.ID, secret); r.Status != http.StatusOK {
					t.Fatalf("revoke %q: %d %s", v, r.Status, r.Raw)
				}
			}
		})
		t.Run("public client revokes its own token with client_id", func(t *testing.T) {
			pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
			tok := h.tokens(pub, "", "test:read")
			if r := h.post(authserver.PathRevoke, url.Values{"token": {tok.str("refresh_token")}, "client_id": {pub.ID}}, "", ""); r.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.Status, r.Raw)
			}
			if h.active(tok.str("access_token")) {
				t.Fatal("access token survived its refresh token's revocation")
			}
		})
		t.Run("request errors", func(t *testing.T) {
			expectError(t, h.post(authserver.PathRevoke, url.Values{}, c.ID, secret), http.StatusBadRequest, "invalid_request")
			expectError(t, h.post(authserver.PathRevoke, url.Values{"token": {"x"}}, "", ""), http.StatusUnauthorized, "invalid_client")
			expectError(t, h.post(authserver.PathRevoke, url.Values{"token": {"x"}}, c.ID, "wrong"), http.StatusUnauthorized, "invalid_client")
		})
	})
}

// TestIntrospection covers RFC 7662 for both access token formats, refresh
// tokens and API tokens.
func TestIntrospection(t *testing.T) {
	eachFormat(t, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		rs, rsSecret := h.introspector()
		tok := h.tokens(c, secret, "test:read")
		ask := func(token, id, sec string) response {
			return h.post(authserver.PathIntrospect, url.Values{"token": {token}}, id, sec)
		}

		t.Run("access token", func(t *testing.T) {
			r := ask(tok.str("access_token"), rs.ID, rsSecret)
			if r.Status != http.StatusOK || r.Body["active"] != true || r.str("token_type") != "Bearer" ||
				r.str("client_id") != c.ID || r.str("username") != "alice" || r.str("scope") != "test:read" ||
				r.str("iss") != h.srv.URL || r.Body["exp"] == nil {
				t.Fatalf("introspection: %d %s", r.Status, r.Raw)
			}
		})
		t.Run("refresh token: only to its client", func(t *testing.T) {
			if r := ask(tok.str("refresh_token"), rs.ID, rsSecret); r.Body["active"] != false {
				t.Fatalf("another client learned about a refresh token: %s", r.Raw)
			}
			r := ask(tok.str("refresh_token"), c.ID, secret)
			if r.Body["active"] != true || r.str("token_type") != authserver.TokenTypeRefresh || r.str("username") != "alice" {
				t.Fatalf("owner introspection: %s", r.Raw)
			}
		})
		t.Run("API token", func(t *testing.T) {
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			_, raw, err := h.apiTokens.Generate(context.Background(), tokens.GenerateParams{User: h.alice,
				Policy: json.RawMessage(`{"resources":{"*":{"allow":["*"]}}}`), Expires: &exp})
			if err != nil {
				t.Fatal(err)
			}
			r := ask(raw, rs.ID, rsSecret)
			pol, _ := r.Body["policy"].(map[string]any)
			if r.Body["active"] != true || r.str("token_type") != authserver.TokenTypeAPI || r.str("username") != "alice" ||
				int64(r.Body["exp"].(float64)) != exp.Unix() || pol["resources"] == nil {
				t.Fatalf("API token introspection: %s", r.Raw)
			}
		})
		t.Run("API token with an unreadable stored policy fails closed", func(t *testing.T) {
			tok, raw, err := h.apiTokens.Generate(context.Background(), tokens.GenerateParams{User: h.alice})
			if err != nil {
				t.Fatal(err)
			}
			// Corrupt the row behind the manager's back, as a bad migration or
			// manual edit would.
			if _, err := h.d.Exec(h.d.Rebind(`UPDATE api_tokens SET policy = ? WHERE id = ?`), `{"resources":`, tok.ID); err != nil {
				t.Fatal(err)
			}
			r := ask(raw, rs.ID, rsSecret)
			if r.Body["active"] != true {
				t.Fatalf("introspection: %s", r.Raw)
			}
			got, _ := json.Marshal(r.Body["policy"])
			if string(got) != `{"resources":{"*":{"block":["*"]}}}` {
				t.Fatalf("unreadable policy introspected as %s, want the deny-all policy", got)
			}
		})
		t.Run("inactive", func(t *testing.T) {
			code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: func() string { _, ch := pkce(); return ch }()})
			unknownRT, _ := oauthstore.NewOpaque(authserver.PrefixRefreshToken)
			for _, v := range []string{"garbage", "agp_" + "x", code, unknownRT, "eyJhbGciOiJub25lIn0.e30.", "agat_nope"} {
				r := ask(v, rs.ID, rsSecret)
				if r.Status != http.StatusOK || r.Body["active"] != false || len(r.Body) != 1 {
					t.Errorf("introspect %q: %d %s", v, r.Status, r.Raw)
				}
			}
		})
		t.Run("caller must be a confidential client", func(t *testing.T) {
			pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}})
			expectError(t, h.post(authserver.PathIntrospect, url.Values{"token": {tok.str("access_token")}, "client_id": {pub.ID}}, "", ""),
				http.StatusUnauthorized, "invalid_client")
			expectError(t, ask(tok.str("access_token"), "", ""), http.StatusUnauthorized, "invalid_client")
			expectError(t, h.post(authserver.PathIntrospect, url.Values{}, rs.ID, rsSecret), http.StatusBadRequest, "invalid_request")
		})
	})
}
