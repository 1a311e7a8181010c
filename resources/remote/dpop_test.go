package remote_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/dpop"
	"github.com/authgate/authgate/resources/remote"
)

// TestRemoteDPoP: a separate resource server sees cnf.jkt through the JWKS
// validator and introspection, and its Guard enforces the binding.
func TestRemoteDPoP(t *testing.T) {
	gin.SetMode(gin.TestMode)
	srv := newIssuer(t)
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	srv.publish("k", k.Public())
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	thief, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jkt, err := dpop.Thumbprint(holder.Public())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{
		"iss": issuer, "sub": "42", "aud": "https://photos.example", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"jti": "jti-d", "client_id": "agci_app", "scope": "photos:read", "cnf": map[string]string{"jkt": jkt},
	})
	tok.Header["typ"], tok.Header["kid"] = "at+jwt", "k"
	bound, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	jv, _ := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: issuer, JWKSURL: srv.URL + "/oauth/jwks.json"})
	bt, err := jv.ValidateBearer(context.Background(), bound)
	if err != nil || bt.JKT != jkt {
		t.Fatalf("JWKS validator: jkt %q, %v", bt.JKT, err)
	}

	boundOpaque := opaqueAT(t)
	srv.set(boundOpaque, map[string]any{"active": true, "token_type": "DPoP", "client_id": "agci_app", "sub": "7",
		"scope": "photos:read", "exp": now.Add(time.Hour).Unix(), "cnf": map[string]string{"jkt": jkt}})
	in, _ := remote.NewIntrospector(remote.IntrospectorOptions{URL: srv.URL + "/oauth/introspect", ClientID: "rs_1", ClientSecret: "s3cret"})
	if bt, err := in.ValidateBearer(context.Background(), boundOpaque); err != nil || bt.JKT != jkt {
		t.Fatalf("introspector: %+v %v", bt, err)
	}

	v, _ := dpop.NewVerifier(dpop.Options{}) // in-memory replay store
	g, err := resources.NewGuard(resources.GuardConfig{Bearer: jv, DPoP: v, PublicURL: "https://photos.example", Audience: "https://photos.example"})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	r.GET("/photos/", g.Protect(resources.Resource{Name: "photos"}), func(c *gin.Context) { c.JSON(200, gin.H{"stat": "ok"}) })
	proof := func(key *ecdsa.PrivateKey) string {
		p, err := dpop.NewProof(key, dpop.ProofFields{Method: "GET", URL: "https://photos.example/photos/", AccessToken: bound})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, authz, proof string
		status             int
		challenge          string
	}{
		{"DPoP with the bound key", "DPoP " + bound, proof(holder), 200, ""},
		{"proof from another key", "DPoP " + bound, proof(thief), 401, `error="invalid_dpop_proof"`},
		{"bound token as Bearer", "Bearer " + bound, "", 401, `error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/photos/", nil)
			req.Header.Set("Authorization", tc.authz)
			if tc.proof != "" {
				req.Header.Set("DPoP", tc.proof)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tc.status || !strings.Contains(w.Header().Get("WWW-Authenticate"), tc.challenge) {
				t.Fatalf("%d %v %s", w.Code, w.Header().Values("WWW-Authenticate"), w.Body)
			}
		})
	}
}
