package integration

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authgate/authgate/resources/dpop"
)

// dpopTransport is a DPoP client (RFC 9449 §4, §7) in an http.RoundTripper:
// every request gets a fresh proof for its method and URL (query dropped),
// with ath when it carries "Authorization: DPoP <token>". x/oauth2 sends
// the token with the scheme of its token_type, so a DPoP token response
// makes it use the DPoP scheme on its own.
type dpopTransport struct {
	key  crypto.Signer
	base http.RoundTripper
}

func (d *dpopTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	u := *r.URL
	u.RawQuery, u.Fragment = "", ""
	f := dpop.ProofFields{Method: r.Method, URL: u.String()}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP "); ok {
		f.AccessToken = tok
	}
	p, err := dpop.NewProof(d.key, f)
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("DPoP", p)
	return d.base.RoundTrip(r)
}

// TestDPoPWithXOAuth2 runs the code flow of the public client with
// golang.org/x/oauth2 over a DPoP transport: the tokens are DPoP-bound
// (token_type DPoP, cnf.jkt = the key's thumbprint), /api/session/ accepts
// them with proofs and refuses them as Bearer, and the refresh token only
// works with the same key.
func TestDPoPWithXOAuth2(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, ag *authgate) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jkt, err := dpop.Thumbprint(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &dpopTransport{key: key, base: http.DefaultTransport}}
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

		var md map[string]any
		ag.getJSON("/.well-known/oauth-authorization-server", &md)
		if algs, _ := md["dpop_signing_alg_values_supported"].([]any); len(algs) == 0 {
			t.Fatalf("metadata without dpop_signing_alg_values_supported: %v", md)
		}

		cfg := ag.oauthConfig(ag.public, "session:read")
		verifier := oauth2.GenerateVerifier()
		q := callback(t, ag, ag.browser().authorize(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), ag.public.RedirectURI)
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.TokenType != "DPoP" || tok.RefreshToken == "" {
			t.Fatalf("token_type %q, refresh %t", tok.TokenType, tok.RefreshToken != "")
		}
		parts := strings.Split(tok.AccessToken, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Cnf struct {
				JKT string `json:"jkt"`
			} `json:"cnf"`
		}
		if err := json.Unmarshal(payload, &claims); err != nil || claims.Cnf.JKT != jkt {
			t.Fatalf("cnf.jkt %q, want %q (%v)", claims.Cnf.JKT, jkt, err)
		}

		// x/oauth2's client sends "Authorization: DPoP …"; the transport adds the proof.
		api := cfg.Client(ctx, tok)
		resp, err := api.Get(ag.URL + "/api/session/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/session/ with DPoP: %d", resp.StatusCode)
		}
		if status, body := ag.apiSession(tok.AccessToken); status != http.StatusUnauthorized || djbletsCode(body) != 104 {
			t.Fatalf("bound token as Bearer: %d %v", status, body)
		}

		// Refresh: without a proof (plain client) refused; with the key fine.
		_, err = cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		wantRetrieveError(t, err, http.StatusBadRequest, "invalid_dpop_proof")
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || fresh.TokenType != "DPoP" {
			t.Fatalf("refresh with the key: %+v %v", fresh, err)
		}
		resp, err = cfg.Client(ctx, fresh).Get(ag.URL + "/api/session/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refreshed DPoP token: %d", resp.StatusCode)
		}
	})
}
