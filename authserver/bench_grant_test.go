package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/server"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
)

// pkcePair is a fresh PKCE verifier and its S256 challenge: the server
// refuses a challenge the client has used before.
func pkcePair() (verifier, challenge string) {
	verifier = rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func mustScopes(b *testing.B, s string) scopes.Set {
	b.Helper()
	set, err := scopes.ParseSet(s)
	if err != nil {
		b.Fatal(err)
	}
	return set
}

// BenchmarkCodeAndRefresh measures the two grants that run in the token
// store's transaction, through the gin router: an authorization-code
// redemption, then refresh-token rotations, each rotating the last.
func BenchmarkCodeAndRefresh(b *testing.B) {
	benchDBs(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		s, h := benchServer(b, d, FormatJWT)
		u, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		c, secret, err := s.CreateClient(ctx, ClientSpec{Name: "bench", RedirectURIs: []string{"https://c.example/cb"}, Scopes: []string{"a:read"}})
		if err != nil {
			b.Fatal(err)
		}
		// The user consented, as on the consent page: each issuance
		// records the consent's last use (at most one write a minute).
		if _, err := s.Consents.Grant(ctx, u.ID, c.ID, mustScopes(b, "a:read")); err != nil {
			b.Fatal(err)
		}
		post := func(form url.Values) map[string]any {
			req := httptest.NewRequest(http.MethodPost, PathToken, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				b.Fatal(err)
			}
			return out
		}
		code := func() (raw, verifier string) {
			verifier, challenge := pkcePair()
			ti, err := s.OAuth2.GetAuthorizeToken(ctx, &server.AuthorizeRequest{
				ResponseType: oauth2.Code, ClientID: c.ID, RedirectURI: c.RedirectURIs[0], Scope: "a:read",
				UserID: strconv.FormatInt(u.ID, 10), Request: httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil),
				// PKCE is required of every client by default (RFC 9700 §2.1.1).
				CodeChallenge: challenge, CodeChallengeMethod: oauth2.CodeChallengeS256,
			})
			if err != nil {
				b.Fatal(err)
			}
			return ti.GetCode(), verifier
		}
		redeem := func(raw, verifier string) map[string]any {
			return post(url.Values{"grant_type": {"authorization_code"}, "code": {raw}, "redirect_uri": {c.RedirectURIs[0]}, "code_verifier": {verifier}})
		}
		b.Run("code", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				raw, verifier := code()
				b.StartTimer()
				redeem(raw, verifier)
			}
		})
		b.Run("refresh", func(b *testing.B) {
			refresh, _ := redeem(code())["refresh_token"].(string)
			b.ReportAllocs()
			for b.Loop() {
				refresh, _ = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})["refresh_token"].(string)
			}
		})
	})
}
