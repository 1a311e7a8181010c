package authserver_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/oauthstore"
)

// TestTokenEndpointErrorPaths sends every client mistake we know of to
// /oauth/token and checks the RFC 6749 §5.2 answer: 401 invalid_client
// with WWW-Authenticate, or 400 with the right code; never a 500.
func TestTokenEndpointErrorPaths(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		web, webSecret := h.webClient("test:read", "test:write")
		other, otherSecret := h.webClient("test:read")
		svc, svcSecret := h.serviceClient("test:read")
		codeOnly, codeOnlySecret := h.client(authserver.ClientSpec{RedirectURIs: []string{"https://c.example.com/cb"},
			GrantTypes: []string{authserver.GrantAuthorizationCode}, Scopes: []string{"test:read"}})
		pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
		off, offSecret := h.serviceClient("test:read")
		if _, err := h.s.DisableClient(context.Background(), off.ID); err != nil {
			t.Fatal(err)
		}
		verifiers := map[string]string{}
		code := func() string {
			v, ch := pkce() // a fresh challenge per code: repeating one is refused
			c := h.mustCode(codeReq{client: web, scope: "test:read", challenge: ch})
			verifiers[c] = v
			return c
		}
		v, _ := pkce()
		ac := func(c string) url.Values {
			cv := verifiers[c]
			if cv == "" {
				cv = v
			}
			return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {web.RedirectURIs[0]}, "code_verifier": {cv}}
		}
		rt := h.tokens(web, webSecret, "test:read").str("refresh_token")
		expiredCode := code()
		h.expire(expiredCode)
		expiredRT := h.tokens(web, webSecret, "test:read").str("refresh_token")
		h.expire(expiredRT)
		codeOnlyRT := h.tokens(codeOnly, codeOnlySecret, "test:read")
		wellFormedUnknown, _ := oauthstore.NewOpaque(authserver.PrefixCode)
		unknownRT, _ := oauthstore.NewOpaque(authserver.PrefixRefreshToken)
		cc := url.Values{"grant_type": {"client_credentials"}}

		raw := func(method, path, ctype, body string, auth [2]string) response {
			req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			if auth[0] != "" {
				req.SetBasicAuth(auth[0], auth[1])
			}
			return h.do(req)
		}
		header := func(value string) response {
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(cc.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", value)
			return h.do(req)
		}
		svcAuth := [2]string{svc.ID, svcSecret}

		cases := []struct {
			name   string
			do     func() response
			status int
			code   string
		}{
			{"no content type", func() response { return raw("POST", authserver.PathToken, "", cc.Encode(), svcAuth) }, 400, "invalid_request"},
			{"JSON body", func() response {
				return raw("POST", authserver.PathToken, "application/json", `{"grant_type":"client_credentials"}`, svcAuth)
			}, 400, "invalid_request"},
			{"multipart body", func() response {
				return raw("POST", authserver.PathToken, "multipart/form-data; boundary=x", "--x--", svcAuth)
			}, 400, "invalid_request"},
			{"query string", func() response {
				return raw("POST", authserver.PathToken+"?scope=test:read", "application/x-www-form-urlencoded", cc.Encode(), svcAuth)
			}, 400, "invalid_request"},
			{"repeated parameter", func() response {
				return raw("POST", authserver.PathToken, "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a&scope=b", svcAuth)
			}, 400, "invalid_request"},
			{"oversized body", func() response {
				return raw("POST", authserver.PathToken, "application/x-www-form-urlencoded", cc.Encode()+"&pad="+strings.Repeat("x", 70<<10), svcAuth)
			}, 400, "invalid_request"},
			{"malformed form", func() response {
				return raw("POST", authserver.PathToken, "application/x-www-form-urlencoded", "grant_type=%zz", svcAuth)
			}, 400, "invalid_request"},
			{"missing grant_type", func() response { return h.token(url.Values{"scope": {"test:read"}}, svc.ID, svcSecret) }, 400, "invalid_request"},
			{"unknown grant_type", func() response { return h.token(url.Values{"grant_type": {"magic"}}, svc.ID, svcSecret) }, 400, "unsupported_grant_type"},
			{"password grant", func() response {
				return h.token(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {testPassword}}, web.ID, webSecret)
			}, 400, "unsupported_grant_type"},
			{"no client authentication", func() response { return h.token(cc, "", "") }, 401, "invalid_client"},
			{"unknown client", func() response { return h.token(cc, "agci_nobody", svcSecret) }, 401, "invalid_client"},
			{"wrong secret", func() response { return h.token(cc, svc.ID, otherSecret) }, 401, "invalid_client"},
			{"empty secret", func() response { return h.token(cc, svc.ID, "") }, 401, "invalid_client"},
			{"secret in body, wrong", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID}, "client_secret": {"x"}}, "", "")
			}, 401, "invalid_client"},
			{"Basic not base64", func() response { return header("Basic !!!") }, 401, "invalid_client"},
			{"Basic without colon", func() response { return header("Basic " + base64.RawURLEncoding.EncodeToString([]byte(svc.ID))) }, 401, "invalid_client"},
			{"Basic bad escape", func() response { return header("Basic " + base64.RawURLEncoding.EncodeToString([]byte(svc.ID+":%zz"))) }, 401, "invalid_client"},
			{"Bearer instead of Basic", func() response { return header("Bearer abc") }, 401, "invalid_client"},
			{"Basic and client_secret", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "client_secret": {svcSecret}}, svc.ID, svcSecret)
			}, 400, "invalid_request"},
			{"Basic and another client_id", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {web.ID}}, svc.ID, svcSecret)
			}, 400, "invalid_request"},
			{"public client with a secret", func() response { return h.token(cc, pub.ID, "agcs_anything") }, 401, "invalid_client"},
			{"disabled client", func() response { return h.token(cc, off.ID, offSecret) }, 401, "invalid_client"},
			{"client_credentials by a public client", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {pub.ID}}, "", "")
			}, 400, "unauthorized_client"},
			{"client_credentials not allowed", func() response { return h.token(cc, web.ID, webSecret) }, 400, "unauthorized_client"},
			{"client_credentials scope not allowed", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:write"}}, svc.ID, svcSecret)
			}, 400, "invalid_scope"},
			{"client_credentials malformed scope", func() response {
				return h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read  test:read"}}, svc.ID, svcSecret)
			}, 400, "invalid_scope"},
			{"code: missing code", func() response {
				return h.token(url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {web.RedirectURIs[0]}, "code_verifier": {v}}, web.ID, webSecret)
			}, 400, "invalid_request"},
			{"code: missing redirect_uri and a wrong verifier", func() response {
				return h.token(url.Values{"grant_type": {"authorization_code"}, "code": {code()}, "code_verifier": {v}}, web.ID, webSecret)
			}, 400, "invalid_grant"},
			{"code: malformed", func() response { return h.token(ac("agac_123"), web.ID, webSecret) }, 400, "invalid_grant"},
			{"code: bad checksum", func() response { c := code(); return h.token(ac(c[:len(c)-1]+flip(c[len(c)-1])), web.ID, webSecret) }, 400, "invalid_grant"},
			{"code: unknown", func() response { return h.token(ac(wellFormedUnknown), web.ID, webSecret) }, 400, "invalid_grant"},
			{"code: a refresh token as code", func() response { return h.token(ac(rt), web.ID, webSecret) }, 400, "invalid_grant"},
			{"code: another client's", func() response {
				f := ac(code())
				f.Set("redirect_uri", other.RedirectURIs[0])
				return h.token(f, other.ID, otherSecret)
			}, 400, "invalid_grant"},
			{"code: wrong redirect_uri", func() response {
				f := ac(code())
				f.Set("redirect_uri", "https://app.example.com/other")
				return h.token(f, web.ID, webSecret)
			}, 400, "invalid_grant"},
			{"code: missing verifier", func() response { f := ac(code()); f.Del("code_verifier"); return h.token(f, web.ID, webSecret) }, 400, "invalid_request"},
			{"code: wrong verifier", func() response {
				other, _ := pkce()
				f := ac(code())
				f.Set("code_verifier", other)
				return h.token(f, web.ID, webSecret)
			}, 400, "invalid_grant"},
			{"code: malformed verifier", func() response {
				f := ac(code())
				f.Set("code_verifier", "short")
				return h.token(f, web.ID, webSecret)
			}, 400, "invalid_grant"},
			{"code: expired", func() response { return h.token(ac(expiredCode), web.ID, webSecret) }, 400, "invalid_grant"},
			{"code: grant not allowed", func() response {
				f := ac(code())
				return h.token(f, svc.ID, svcSecret)
			}, 400, "unauthorized_client"},
			{"refresh: missing refresh_token", func() response { return h.token(url.Values{"grant_type": {"refresh_token"}}, web.ID, webSecret) }, 400, "invalid_request"},
			{"refresh: malformed", func() response { return h.refresh(web, webSecret, "agrt_x", "") }, 400, "invalid_grant"},
			{"refresh: unknown", func() response { return h.refresh(web, webSecret, unknownRT, "") }, 400, "invalid_grant"},
			{"refresh: an access token", func() response { return h.refresh(web, webSecret, codeOnlyRT.str("access_token"), "") }, 400, "invalid_grant"},
			{"refresh: another client's", func() response { return h.refresh(other, otherSecret, rt, "") }, 400, "invalid_grant"},
			{"refresh: wider scope", func() response { return h.refresh(web, webSecret, rt, "test:read test:write") }, 400, "invalid_scope"},
			{"refresh: malformed scope", func() response { return h.refresh(web, webSecret, rt, " test:read") }, 400, "invalid_scope"},
			{"refresh: expired", func() response { return h.refresh(web, webSecret, expiredRT, "") }, 400, "invalid_grant"},
			{"refresh: grant not allowed", func() response { return h.refresh(svc, svcSecret, rt, "") }, 400, "unauthorized_client"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.do()
				if r.Status >= 500 {
					t.Fatalf("server error for a client mistake: %d %s", r.Status, r.Raw)
				}
				expectError(t, r, tc.status, tc.code)
			})
		}
		if codeOnlyRT.str("refresh_token") != "" {
			t.Error("a client without the refresh_token grant got a refresh token")
		}
		// The refresh token used in the attacks above still works.
		if r := h.refresh(web, webSecret, rt, ""); r.Status != http.StatusOK {
			t.Fatalf("refresh token burned by failed attempts: %d %s", r.Status, r.Raw)
		}
		// GET is not a token request: no 500, no token.
		if r := raw("GET", authserver.PathToken+"?grant_type=client_credentials", "", "", svcAuth); r.Status == 200 || r.Status >= 500 {
			t.Fatalf("GET /oauth/token: %d", r.Status)
		}
	})
}

// TestDeactivatedUserCannotRedeemOrRefresh: a code or refresh token of a
// user deactivated since is invalid_grant, and their tokens stop working.
func TestDeactivatedUserCannotRedeemOrRefresh(t *testing.T) {
	eachHarness(t, nil, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		tok := h.tokens(c, secret, "test:read")
		v, ch := pkce()
		code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
		if err := h.users.SetActive(context.Background(), h.alice.ID, false); err != nil {
			t.Fatal(err)
		}
		expectError(t, h.exchange(c, secret, code, v), http.StatusBadRequest, "invalid_grant")
		expectError(t, h.refresh(c, secret, tok.str("refresh_token"), ""), http.StatusBadRequest, "invalid_grant")
		if h.active(tok.str("access_token")) {
			t.Fatal("a deactivated user's access token is active")
		}
	})
}

// TestTokenRedirectURIOmitted: OAuth 2.1 §4.1.3 lets a client leave
// redirect_uri out of the token request when PKCE binds the code; a code
// issued without PKCE still needs it (RFC 6749 §4.1.3).
func TestTokenRedirectURIOmitted(t *testing.T) {
	eachHarness(t, func(c *authserver.Config) { c.AllowConfidentialWithoutPKCE = true }, func(t *testing.T, h *harness) {
		c, secret := h.webClient("test:read")
		form := func(code, verifier string) url.Values {
			f := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
			if verifier != "" {
				f.Set("code_verifier", verifier)
			}
			return f
		}

		v, ch := pkce()
		r := h.token(form(h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch}), v), c.ID, secret)
		if r.Status != http.StatusOK || r.str("access_token") == "" {
			t.Fatalf("PKCE code without redirect_uri: %d %s", r.Status, r.Raw)
		}

		_, ch2 := pkce()
		expectError(t, h.token(form(h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch2}), v), c.ID, secret),
			http.StatusBadRequest, "invalid_grant")

		expectError(t, h.token(form(h.mustCode(codeReq{client: c, scope: "test:read"}), ""), c.ID, secret),
			http.StatusBadRequest, "invalid_request")
		plain := h.mustCode(codeReq{client: c, scope: "test:read"})
		f := form(plain, "")
		f.Set("redirect_uri", c.RedirectURIs[0])
		if r := h.token(f, c.ID, secret); r.Status != http.StatusOK {
			t.Fatalf("non-PKCE code with redirect_uri: %d %s", r.Status, r.Raw)
		}
		// The marker itself is never a usable redirect_uri.
		f = form(h.mustCode(codeReq{client: c, scope: "test:read"}), "")
		f.Set("redirect_uri", "urn:authgate:redirect-uri-omitted") // token_endpoint.go's marker
		expectError(t, h.token(f, c.ID, secret), http.StatusBadRequest, "invalid_request")
	})
}
