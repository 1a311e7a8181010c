package remote_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// fakeAuthgate stands in for `authgate serve`: its JWKS, and an
// introspection endpoint that knows one API token and one expired one.
func fakeAuthgate(pub ed25519.PublicKey, apiToken, expiredToken string) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "k1",
			"x": base64.RawURLEncoding.EncodeToString(pub)}}})
	})
	mux.HandleFunc("/oauth/introspect", func(w http.ResponseWriter, r *http.Request) {
		res := map[string]any{"active": false}
		switch r.PostFormValue("token") {
		case apiToken:
			res = map[string]any{"active": true, "token_type": "api_token", "sub": "7", "username": "alice",
				"api_token_id": "3", "deprecated": false,
				"policy": map[string]any{"resources": map[string]any{"photos": map[string]any{"*": map[string]any{"block": []string{"DELETE"}}}}}}
		case expiredToken:
			res = map[string]any{"active": false, "token_type": "api_token", "inactive_reason": "expired",
				"error_description": "This API token expired on Aug. 2, 2022, 10:45 a.m.."}
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	return httptest.NewServer(mux)
}

func exampleToken(entropy string) string {
	sum := tokenformat.Checksum(entropy)
	return "agp_" + entropy + string(sum[:])
}

// A resource server apart from authgate: JWT access tokens are verified
// locally against authgate's JWKS, API tokens are introspected (RFC 7662),
// and the Guard enforces scopes and policies with authgate's envelope.
// This is the README's "Protecting a resource server" snippet.
func Example() {
	gin.SetMode(gin.ReleaseMode)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	apiToken, expired := exampleToken("0123456789abcdefghijklmnopqrst"), exampleToken("tsrqponmlkjihgfedcba9876543210")
	auth := fakeAuthgate(pub, apiToken, expired)
	defer auth.Close()
	issuer, id, secret := auth.URL, "agci_photos", "agcs_secret"

	// --- the README snippet ---
	jwks, err := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer}) // JWT access tokens, verified locally
	if err != nil {
		panic(err)
	}
	introspector, err := remote.NewIntrospector(remote.IntrospectorOptions{
		URL: issuer + "/oauth/introspect", ClientID: id, ClientSecret: secret}) // API tokens, by RFC 7662
	if err != nil {
		panic(err)
	}
	guard, err := resources.NewGuard(resources.GuardConfig{
		Bearer: jwks, Tokens: introspector,
		Audience: "https://photos.example", // the one audience setting: tokens must name this server
	})
	if err != nil {
		panic(err)
	}
	r := gin.New()
	photos := resources.Resource{Name: "photos", IDParam: "id"} // scopes photos:read|write|destroy, policy ID "photos"
	owner := func(u resources.User) string { return u.Username }
	r.Any("/photos/:id/", guard.Protect(photos), func(c *gin.Context) {
		p, _ := resources.PrincipalFrom(c) // user, auth method, token facts, scopes or policy
		c.String(http.StatusOK, "photo %s of %s via %s", c.Param("id"), owner(p.User), p.Method)
	})
	// --- end of snippet ---

	at := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": issuer, "aud": "https://photos.example", "sub": "7", "username": "alice", "client_id": "agci_app", "scope": "photos:read",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "jti": "j1"})
	at.Header["typ"], at.Header["kid"] = "at+jwt", "k1"
	jwtTok, _ := at.SignedString(priv)

	for _, req := range []struct{ method, authz string }{
		{"GET", "Bearer " + jwtTok},
		{"PUT", "Bearer " + jwtTok},
		{"PUT", "token " + apiToken},
		{"DELETE", "token " + apiToken},
		{"GET", "token " + expired},
		{"GET", "token agp_junk"},
	} {
		q := httptest.NewRequest(req.method, "/photos/42/", nil)
		q.Header.Set("Authorization", req.authz)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, q)
		fmt.Println(req.method, w.Code, w.Body.String())
	}
	// Output:
	// GET 200 photo 42 of alice via oauth2
	// PUT 403 {"stat":"fail","err":{"code":112,"msg":"Your OAuth2 token lacks the necessary scopes for this request.","type":"auth-oauth2-missing-scope"}}
	// PUT 200 photo 42 of alice via api_token
	// DELETE 403 {"stat":"fail","err":{"code":101,"msg":"You don't have permission for this","type":"resource-permission-denied"}}
	// GET 401 {"stat":"fail","err":{"code":104,"msg":"This API token expired on Aug. 2, 2022, 10:45 a.m..","type":"auth-login-failed"}}
	// GET 401 {"stat":"fail","err":{"code":104,"msg":"The API token is malformed: its format or checksum is wrong.","type":"auth-login-failed"}}
}
