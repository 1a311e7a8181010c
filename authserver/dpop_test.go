package authserver_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/resources/dpop"
)

// DPoP (RFC 9449) over real HTTP: the token endpoint binds tokens to the
// proof key, the Guard-protected /api/test/ demands proofs by that key, and
// every attack of §4.3 / §7 / §5 is refused.

type dpopKey struct {
	priv crypto.Signer
	jkt  string
}

func newDPoPKey(t testing.TB, kind string) dpopKey {
	t.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch kind {
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil || priv == nil {
		t.Fatalf("key %s: %v", kind, err)
	}
	jkt, err := dpop.Thumbprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return dpopKey{priv: priv, jkt: jkt}
}

// proof is a valid proof for method and target (query dropped by the
// server), bound to token when not empty.
func (k dpopKey) proof(t testing.TB, method, target, token string) string {
	t.Helper()
	p, err := dpop.NewProof(k.priv, dpop.ProofFields{Method: method, URL: target, AccessToken: token})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// craft signs a proof with k whose header and claims are changed by the
// mutators (a nil value deletes the member): the attacks' proofs.
func (k dpopKey) craft(t testing.TB, method, target, token string, hdr, cl map[string]any) string {
	t.Helper()
	jwk, alg, err := dpop.PublicJWK(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"jti": randomString(t), "htm": method, "htu": target, "iat": time.Now().Unix()}
	if token != "" {
		claims["ath"] = dpop.AccessTokenHash(token)
	}
	for key, v := range cl {
		if v == nil {
			delete(claims, key)
		} else {
			claims[key] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	tok.Header["typ"] = "dpop+jwt"
	tok.Header["jwk"] = jwk
	for key, v := range hdr {
		if v == nil {
			delete(tok.Header, key)
		} else {
			tok.Header[key] = v
		}
	}
	var signKey any = k.priv
	switch tok.Header["alg"] {
	case "none":
		tok.Method = jwt.SigningMethodNone
		signKey = jwt.UnsafeAllowNoneSignatureType
	case "HS256":
		tok.Method = jwt.SigningMethodHS256
		signKey = []byte("a shared secret the attacker picked, 32 bytes")
	}
	s, err := tok.SignedString(signKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomString(t testing.TB) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// withPrivate returns k's public JWK plus its private member d.
func (k dpopKey) withPrivate(t testing.TB) map[string]any {
	t.Helper()
	jwk, _, err := dpop.PublicJWK(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := k.priv.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatal("withPrivate needs a P-256 key")
	}
	b, err := ec.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	jwk["d"] = base64.RawURLEncoding.EncodeToString(b)
	return jwk
}

// dpopConfig turns DPoP on, then applies mutate.
func dpopConfig(mutate func(*authserver.Config)) func(*authserver.Config) {
	return func(c *authserver.Config) {
		c.DPoP.Enabled = true
		if mutate != nil {
			mutate(c)
		}
	}
}

// tokenDPoP posts to the token endpoint with the given DPoP headers.
func (h *harness) tokenDPoP(form url.Values, id, secret string, proofs ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+authserver.PathToken, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return h.do(req)
}

// apiDPoP calls /api/test/ with an Authorization header and DPoP proofs.
func (h *harness) apiDPoP(method, authorization string, proofs ...string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+"/api/test/", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return h.do(req)
}

func (h *harness) tokenURL() string { return h.srv.URL + authserver.PathToken }
func (h *harness) apiURL() string   { return h.srv.URL + "/api/test/" }

// ccDPoP gets a client_credentials token bound to k.
func (h *harness) ccDPoP(k dpopKey) string {
	h.t.Helper()
	c, secret := h.serviceClient()
	r := h.tokenDPoP(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret,
		k.proof(h.t, http.MethodPost, h.tokenURL(), ""))
	if r.Status != http.StatusOK || r.str("token_type") != "DPoP" {
		h.t.Fatalf("client_credentials with DPoP: %d %s", r.Status, r.Raw)
	}
	return r.str("access_token")
}

// expectDPoPRefusal checks a Guard 401: Djblets 104 and a DPoP challenge
// with the RFC 9449 §7.1 error.
func expectDPoPRefusal(t testing.TB, r response, code string) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("want 401, got %d %s", r.Status, r.Raw)
	}
	if e, _ := r.Body["err"].(map[string]any); e == nil || e["code"] != float64(104) {
		t.Fatalf("want Djblets code 104, got %s", r.Raw)
	}
	for _, v := range r.Header.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, "DPoP ") && strings.Contains(v, `error="`+code+`"`) {
			return
		}
	}
	t.Fatalf("want WWW-Authenticate DPoP error=%q, got %q", code, r.Header.Values("WWW-Authenticate"))
}

func TestDPoPBindsTokensAndResourcesAcceptThem(t *testing.T) {
	eachHarness(t, dpopConfig(nil), func(t *testing.T, h *harness) {
		pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
		for _, kind := range []string{"ed25519", "p256", "rsa"} {
			t.Run(kind, func(t *testing.T) {
				k := newDPoPKey(t, kind)
				v, ch := pkce()
				code := h.mustCode(codeReq{client: pub, scope: "test:read", challenge: ch})
				r := h.tokenDPoP(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {pub.ID},
					"redirect_uri": {pub.RedirectURIs[0]}, "code_verifier": {v}}, "", "", k.proof(t, http.MethodPost, h.tokenURL(), ""))
				if r.Status != http.StatusOK || r.str("token_type") != "DPoP" || r.str("refresh_token") == "" {
					t.Fatalf("code exchange with DPoP: %d %s", r.Status, r.Raw)
				}
				at := r.str("access_token")
				var claims struct {
					Cnf struct {
						JKT string `json:"jkt"`
					} `json:"cnf"`
				}
				decodeSegment(t, at, 1, &claims)
				if claims.Cnf.JKT != k.jkt {
					t.Fatalf("cnf.jkt = %q, want %q", claims.Cnf.JKT, k.jkt)
				}
				if res := h.apiDPoP(http.MethodGet, "DPoP "+at, k.proof(t, http.MethodGet, h.apiURL(), at)); res.Status != http.StatusOK {
					t.Fatalf("GET with DPoP: %d %s", res.Status, res.Raw)
				}
				in := h.introspect(at)
				cnf, _ := in.Body["cnf"].(map[string]any)
				if in.str("token_type") != "DPoP" || cnf == nil || cnf["jkt"] != k.jkt {
					t.Fatalf("introspection of a bound token: %s", in.Raw)
				}
			})
		}
		t.Run("no DPoP header gives Bearer", func(t *testing.T) {
			c, secret := h.serviceClient()
			r := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret)
			if r.Status != http.StatusOK || r.str("token_type") != "Bearer" {
				t.Fatalf("plain client_credentials: %d %s", r.Status, r.Raw)
			}
			var claims map[string]any
			decodeSegment(t, r.str("access_token"), 1, &claims)
			if _, ok := claims["cnf"]; ok {
				t.Fatalf("unbound token has cnf: %v", claims)
			}
			if res := h.api("Bearer " + r.str("access_token")); res.Status != http.StatusOK {
				t.Fatalf("Bearer: %d %s", res.Status, res.Raw)
			}
		})
		t.Run("metadata and challenges", func(t *testing.T) {
			m := h.s.Metadata()
			if strings.Join(m.DPoPSigningAlgValuesSupported, " ") != "ES256 EdDSA RS256" {
				t.Fatalf("dpop_signing_alg_values_supported = %v", m.DPoPSigningAlgValuesSupported)
			}
			r := h.api("")
			found := false
			for _, v := range r.Header.Values("WWW-Authenticate") {
				found = found || v == `DPoP realm="authgate", algs="ES256 EdDSA RS256"`
			}
			if r.Status != http.StatusUnauthorized || !found {
				t.Fatalf("401 without a DPoP challenge: %d %v", r.Status, r.Header.Values("WWW-Authenticate"))
			}
		})
	})
}

func TestDPoPOpaqueTokenBoundInItsRow(t *testing.T) {
	eachHarness(t, dpopConfig(func(c *authserver.Config) { c.AccessTokenFormat = authserver.FormatOpaque }), func(t *testing.T, h *harness) {
		k := newDPoPKey(t, "p256")
		at := h.ccDPoP(k)
		if !oauthstore.HasPrefix(at, authserver.PrefixAccessToken) {
			t.Fatalf("not opaque: %q", at)
		}
		var jkt string
		if err := h.d.Get(&jkt, h.d.Rebind(`SELECT jkt FROM oauth_tokens WHERE digest = ?`), oauthstore.Digest(at)); err != nil || jkt != k.jkt {
			t.Fatalf("row jkt = %q (%v), want %q", jkt, err, k.jkt)
		}
		if r := h.apiDPoP(http.MethodGet, "DPoP "+at, k.proof(t, http.MethodGet, h.apiURL(), at)); r.Status != http.StatusOK {
			t.Fatalf("GET with DPoP: %d %s", r.Status, r.Raw)
		}
		expectDPoPRefusal(t, h.api("Bearer "+at), "invalid_token")
	})
}

func TestDPoPTokenEndpointRefusesBadProofs(t *testing.T) {
	eachHarness(t, dpopConfig(nil), func(t *testing.T, h *harness) {
		c, secret := h.serviceClient()
		k := newDPoPKey(t, "p256")
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}
		tu := h.tokenURL()
		replayed := k.proof(t, http.MethodPost, tu, "")
		if r := h.tokenDPoP(form, c.ID, secret, replayed); r.Status != http.StatusOK {
			t.Fatalf("first use of a proof: %d %s", r.Status, r.Raw)
		}
		old := time.Now().Add(-5 * time.Minute).Unix()
		for _, tc := range []struct {
			name   string
			proofs []string
		}{
			{"alg none", []string{k.craft(t, "POST", tu, "", map[string]any{"alg": "none"}, nil)}},
			{"HS256", []string{k.craft(t, "POST", tu, "", map[string]any{"alg": "HS256"}, nil)}},
			{"private key in jwk", []string{k.craft(t, "POST", tu, "", map[string]any{"jwk": k.withPrivate(t)}, nil)}},
			{"wrong typ", []string{k.craft(t, "POST", tu, "", map[string]any{"typ": "JWT"}, nil)}},
			{"no jwk", []string{k.craft(t, "POST", tu, "", map[string]any{"jwk": nil}, nil)}},
			{"wrong htm", []string{k.proof(t, http.MethodGet, tu, "")}},
			{"wrong htu", []string{k.proof(t, http.MethodPost, h.srv.URL+"/oauth/other", "")}},
			{"stale iat", []string{k.craft(t, "POST", tu, "", nil, map[string]any{"iat": old})}},
			{"future iat", []string{k.craft(t, "POST", tu, "", nil, map[string]any{"iat": time.Now().Add(5 * time.Minute).Unix()})}},
			{"no jti", []string{k.craft(t, "POST", tu, "", nil, map[string]any{"jti": nil})}},
			{"replayed jti", []string{replayed}},
			{"two DPoP headers", []string{k.proof(t, http.MethodPost, tu, ""), k.proof(t, http.MethodPost, tu, "")}},
			{"not a JWT", []string{"not-a-jwt"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.tokenDPoP(form, c.ID, secret, tc.proofs...)
				expectError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
				// Refused for the reason under test, not another.
				if !strings.Contains(r.str("error_description"), endpointReasons[tc.name]) {
					t.Fatalf("refused for %q, want %q", r.str("error_description"), endpointReasons[tc.name])
				}
			})
		}
	})
}

func TestDPoPResourceRefusesAttacks(t *testing.T) {
	eachHarness(t, dpopConfig(nil), func(t *testing.T, h *harness) {
		k := newDPoPKey(t, "p256")
		other := newDPoPKey(t, "p256")
		at := h.ccDPoP(k)
		au := h.apiURL()
		replayed := k.proof(t, http.MethodGet, au, at)
		if r := h.apiDPoP(http.MethodGet, "DPoP "+at, replayed); r.Status != http.StatusOK {
			t.Fatalf("control: %d %s", r.Status, r.Raw)
		}
		c, secret := h.serviceClient()
		plain := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret).str("access_token")
		old := time.Now().Add(-5 * time.Minute).Unix()
		for _, tc := range []struct {
			name          string
			authorization string
			proofs        []string
			code          string
		}{
			{"no proof with bound token", "DPoP " + at, nil, "invalid_dpop_proof"},
			{"proof from another key", "DPoP " + at, []string{other.proof(t, http.MethodGet, au, at)}, "invalid_dpop_proof"},
			{"wrong htm", "DPoP " + at, []string{k.proof(t, http.MethodPost, au, at)}, "invalid_dpop_proof"},
			{"wrong htu", "DPoP " + at, []string{k.proof(t, http.MethodGet, h.srv.URL+"/api/other/", at)}, "invalid_dpop_proof"},
			{"wrong htu host", "DPoP " + at, []string{k.proof(t, http.MethodGet, "https://evil.example/api/test/", at)}, "invalid_dpop_proof"},
			{"stale iat", "DPoP " + at, []string{k.craft(t, "GET", au, at, nil, map[string]any{"iat": old})}, "invalid_dpop_proof"},
			{"replayed jti", "DPoP " + at, []string{replayed}, "invalid_dpop_proof"},
			{"missing ath", "DPoP " + at, []string{k.proof(t, http.MethodGet, au, "")}, "invalid_dpop_proof"},
			{"wrong ath", "DPoP " + at, []string{k.proof(t, http.MethodGet, au, plain)}, "invalid_dpop_proof"},
			{"alg none", "DPoP " + at, []string{k.craft(t, "GET", au, at, map[string]any{"alg": "none"}, nil)}, "invalid_dpop_proof"},
			{"HS256", "DPoP " + at, []string{k.craft(t, "GET", au, at, map[string]any{"alg": "HS256"}, nil)}, "invalid_dpop_proof"},
			{"private key in jwk", "DPoP " + at, []string{k.craft(t, "GET", au, at, map[string]any{"jwk": k.withPrivate(t)}, nil)}, "invalid_dpop_proof"},
			{"two proofs", "DPoP " + at, []string{k.proof(t, http.MethodGet, au, at), k.proof(t, http.MethodGet, au, at)}, "invalid_dpop_proof"},
			{"bound token as Bearer", "Bearer " + at, nil, "invalid_token"},
			{"bound token as Bearer with proof", "Bearer " + at, []string{k.proof(t, http.MethodGet, au, at)}, "invalid_token"},
			{"unbound token with DPoP scheme", "DPoP " + plain, []string{k.proof(t, http.MethodGet, au, plain)}, "invalid_token"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := h.apiDPoP(http.MethodGet, tc.authorization, tc.proofs...)
				expectDPoPRefusal(t, r, tc.code)
				if ch := r.Header.Values("WWW-Authenticate")[0]; !strings.Contains(ch, resourceReasons[tc.name]) {
					t.Fatalf("refused with %q, want reason %q", ch, resourceReasons[tc.name])
				}
			})
		}
	})
}

func TestDPoPPublicClientRefreshTokenBound(t *testing.T) {
	eachHarness(t, dpopConfig(nil), func(t *testing.T, h *harness) {
		pub, _ := h.client(authserver.ClientSpec{Public: true, RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"test:read"}})
		k := newDPoPKey(t, "ed25519")
		other := newDPoPKey(t, "ed25519")
		v, ch := pkce()
		code := h.mustCode(codeReq{client: pub, scope: "test:read", challenge: ch})
		r := h.tokenDPoP(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {pub.ID},
			"redirect_uri": {pub.RedirectURIs[0]}, "code_verifier": {v}}, "", "", k.proof(t, http.MethodPost, h.tokenURL(), ""))
		if r.Status != http.StatusOK {
			t.Fatalf("exchange: %d %s", r.Status, r.Raw)
		}
		rt := r.str("refresh_token")
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {pub.ID}}

		t.Run("refresh without proof", func(t *testing.T) {
			expectError(t, h.tokenDPoP(form, "", ""), http.StatusBadRequest, "invalid_dpop_proof")
		})
		t.Run("refresh with proof from another key", func(t *testing.T) {
			expectError(t, h.tokenDPoP(form, "", "", other.proof(t, http.MethodPost, h.tokenURL(), "")), http.StatusBadRequest, "invalid_grant")
		})
		t.Run("refresh with the bound key", func(t *testing.T) {
			// The refusals above did not spend the token.
			r := h.tokenDPoP(form, "", "", k.proof(t, http.MethodPost, h.tokenURL(), ""))
			if r.Status != http.StatusOK || r.str("token_type") != "DPoP" {
				t.Fatalf("refresh with the bound key: %d %s", r.Status, r.Raw)
			}
			var claims struct {
				Cnf struct{ JKT string } `json:"cnf"`
			}
			decodeSegment(t, r.str("access_token"), 1, &claims)
			if claims.Cnf.JKT != k.jkt {
				t.Fatalf("refreshed cnf.jkt = %q", claims.Cnf.JKT)
			}
			// The rotated refresh token is bound too.
			next := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}, "client_id": {pub.ID}}
			expectError(t, h.tokenDPoP(next, "", ""), http.StatusBadRequest, "invalid_dpop_proof")
		})
		t.Run("confidential client refresh token not bound", func(t *testing.T) {
			c, secret := h.webClient("test:read")
			v, ch := pkce()
			code := h.mustCode(codeReq{client: c, scope: "test:read", challenge: ch})
			r := h.tokenDPoP(url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {c.RedirectURIs[0]}, "code_verifier": {v}}, c.ID, secret, k.proof(t, http.MethodPost, h.tokenURL(), ""))
			if r.Status != http.StatusOK || r.str("token_type") != "DPoP" {
				t.Fatalf("exchange: %d %s", r.Status, r.Raw)
			}
			rr := h.refresh(c, secret, r.str("refresh_token"), "")
			if rr.Status != http.StatusOK || rr.str("token_type") != "Bearer" {
				t.Fatalf("confidential refresh without proof: %d %s", rr.Status, rr.Raw)
			}
		})
	})
}

func TestDPoPOffIgnoresHeader(t *testing.T) {
	// The configuration enables DPoP by default; this test turns it off.
	h := newHarness(t, func(c *authserver.Config) { c.DPoP.Enabled = false })
	k := newDPoPKey(t, "p256")
	c, secret := h.serviceClient()
	r := h.tokenDPoP(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret,
		k.proof(t, http.MethodPost, h.tokenURL(), ""))
	if r.Status != http.StatusOK || r.str("token_type") != "Bearer" {
		t.Fatalf("DPoP off: %d %s", r.Status, r.Raw)
	}
	if len(h.s.Metadata().DPoPSigningAlgValuesSupported) != 0 {
		t.Fatal("DPoP off but algorithms advertised")
	}
	if res := h.apiDPoP(http.MethodGet, "DPoP "+r.str("access_token"), k.proof(t, http.MethodGet, h.apiURL(), r.str("access_token"))); res.Status != http.StatusUnauthorized {
		t.Fatalf("DPoP scheme accepted while off: %d", res.Status)
	}
}

// endpointReasons and resourceReasons are the error descriptions each attack
// must be refused with.
var endpointReasons = map[string]string{
	"alg none": "algorithm is not accepted", "HS256": "algorithm is not accepted",
	"private key in jwk": "private key material", "wrong typ": "typ is not dpop+jwt", "no jwk": "no jwk",
	"wrong htm": "htm does not match", "wrong htu": "htu does not match", "stale iat": "iat is outside",
	"future iat": "iat is outside", "no jti": "jti is missing", "replayed jti": "already used",
	"two DPoP headers": "exactly one", "not a JWT": "not a well-formed JWT",
}

var resourceReasons = map[string]string{
	"no proof with bound token": "exactly one", "proof from another key": "not the key the access token is bound to",
	"wrong htm": "htm does not match", "wrong htu": "htu does not match", "wrong htu host": "htu does not match",
	"stale iat": "iat is outside", "replayed jti": "already used", "missing ath": "ath does not match",
	"wrong ath": "ath does not match", "alg none": "algorithm is not accepted", "HS256": "algorithm is not accepted",
	"private key in jwk": "private key material", "two proofs": "exactly one",
	"bound token as Bearer": "DPoP-bound; use the DPoP scheme", "bound token as Bearer with proof": "DPoP-bound; use the DPoP scheme",
	"unbound token with DPoP scheme": "not DPoP-bound",
}

// TestDPoPInsufficientScopeChallenge: a DPoP-bound token lacking the scope
// gets the 403 challenge in its own scheme (RFC 9449 §7.1), a bearer token
// in Bearer (RFC 6750 §3.1).
func TestDPoPInsufficientScopeChallenge(t *testing.T) {
	eachHarness(t, dpopConfig(nil), func(t *testing.T, h *harness) {
		k := newDPoPKey(t, "p256")
		at := h.ccDPoP(k) // scope test:read; POST needs test:write
		r := h.apiDPoP(http.MethodPost, "DPoP "+at, k.proof(t, http.MethodPost, h.apiURL(), at))
		want := `DPoP realm="authgate", error="insufficient_scope", scope="test:write"`
		if r.Status != http.StatusForbidden || r.Header.Get("WWW-Authenticate") != want {
			t.Fatalf("DPoP token without test:write: %d %q, want 403 %q", r.Status, r.Header.Get("WWW-Authenticate"), want)
		}
		c, secret := h.serviceClient()
		bt := h.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"test:read"}}, c.ID, secret).str("access_token")
		r = h.apiDPoP(http.MethodPost, "Bearer "+bt)
		want = `Bearer realm="authgate", error="insufficient_scope", scope="test:write"`
		if r.Status != http.StatusForbidden || r.Header.Get("WWW-Authenticate") != want {
			t.Fatalf("bearer token without test:write: %d %q, want 403 %q", r.Status, r.Header.Get("WWW-Authenticate"), want)
		}
	})
}
