package remote

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// JWKSOptions configures a JWKSValidator.
type JWKSOptions struct {
	// Issuer is the authorization server's identifier; tokens must carry
	// it as iss. Required.
	Issuer string
	// Audience must be among a token's aud values (RFC 9068 §4). Required.
	Audience string
	// JWKSURL is where the keys are; default Issuer + "/oauth/jwks.json".
	JWKSURL string
	// HTTPClient fetches the JWKS; default a client with a 10s timeout.
	HTTPClient *http.Client
	// MaxAge is how long fetched keys are trusted before a refetch;
	// default 1h.
	MaxAge time.Duration
	// MinRefetch is the least time between two fetches triggered by a token
	// with an unknown kid (so junk tokens cannot hammer the issuer);
	// default 1m.
	MinRefetch time.Duration
	// Leeway allows for clock skew on exp, nbf and iat; default 5s.
	Leeway time.Duration
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// JWKSValidator validates RFC 9068 JWT access tokens against the issuer's
// published keys. It implements resources.BearerValidator and is safe for
// concurrent use. It cannot see revocations: a revoked JWT stays valid
// here until it expires (authgate keeps access tokens short-lived); use an
// Introspector where that matters.
type JWKSValidator struct {
	opts   JWKSOptions
	parser *jwt.Parser

	mu        sync.Mutex
	keys      map[string]jwk // by kid
	fetchedAt time.Time
	lastTry   time.Time
}

type jwk struct {
	alg string
	key crypto.PublicKey
}

// The algorithms authgate signs with.
var supportedAlgs = []string{"EdDSA", "RS256", "ES256"}

// NewJWKSValidator checks opts; keys are fetched on first use.
func NewJWKSValidator(opts JWKSOptions) (*JWKSValidator, error) {
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("remote JWKS validator: Issuer and Audience are required")
	}
	if opts.JWKSURL == "" {
		opts.JWKSURL = strings.TrimRight(opts.Issuer, "/") + "/oauth/jwks.json"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Hour
	}
	if opts.MinRefetch <= 0 {
		opts.MinRefetch = time.Minute
	}
	if opts.Leeway <= 0 {
		opts.Leeway = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &JWKSValidator{opts: opts}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(supportedAlgs),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
	)
	return v, nil
}

type atClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	// Cnf is RFC 9449 §6.1's confirmation of a DPoP-bound token.
	Cnf *cnf `json:"cnf,omitempty"`
}

// cnf is the RFC 7800 cnf claim (and RFC 9449 §6.2 introspection member).
type cnf struct {
	JKT string `json:"jkt"`
}

// jktOf returns the DPoP key thumbprint of a cnf; ok=false for a cnf that
// binds the token in a way this server cannot check (it must be refused).
func jktOf(c *cnf) (string, bool) {
	if c == nil {
		return "", true
	}
	return c.JKT, c.JKT != ""
}

// ValidateBearer implements resources.BearerValidator. Tokens that fail any
// check give an error wrapping resources.ErrBearerInvalid; a JWKS that
// cannot be fetched is a plain error (a server fault, not the client's).
func (v *JWKSValidator) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	var fetchErr error
	var c atClaims
	tok, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		// RFC 9068 §4: typ must be at+jwt.
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" && typ != "application/at+jwt" {
			return nil, errors.New("typ is not at+jwt")
		}
		kid, _ := t.Header["kid"].(string)
		k, ok, err := v.key(ctx, kid)
		if err != nil {
			fetchErr = err
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		// The key decides the algorithm, never the token (RFC 8725 §3.1).
		if t.Method.Alg() != k.alg {
			return nil, errors.New("algorithm does not match the key")
		}
		return k.key, nil
	})
	if fetchErr != nil {
		return nil, fetchErr
	}
	if err != nil || !tok.Valid {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	jkt, ok := jktOf(c.Cnf)
	if !ok {
		return nil, fmt.Errorf("%w: cnf without jkt", resources.ErrBearerInvalid)
	}
	bt, err := bearerFromClaims(c.ID, c.ClientID, c.Subject, "", c.Scope, c.Audience, c.ExpiresAt)
	if err != nil {
		return nil, err
	}
	// The Guard enforces the binding (DPoP scheme, proof by this key).
	bt.JKT = jkt
	return bt, nil
}

// bearerFromClaims builds a BearerToken from RFC 9068 / RFC 7662 claims.
// authgate's sub is the user's decimal ID, or the client ID for a
// client_credentials token (client IDs are never numeric).
func bearerFromClaims(jti, clientID, sub, username, scope string, aud []string, exp *jwt.NumericDate) (*resources.BearerToken, error) {
	if clientID == "" || sub == "" {
		return nil, fmt.Errorf("%w: client_id or sub missing", resources.ErrBearerInvalid)
	}
	set, err := scopes.ParseSet(scope)
	if err != nil {
		return nil, fmt.Errorf("%w: scope claim: %v", resources.ErrBearerInvalid, err)
	}
	bt := &resources.BearerToken{TokenID: jti, ClientID: clientID, Username: username, Scopes: set, Audience: aud}
	if exp != nil {
		bt.ExpiresAt = exp.Time
	}
	if sub != clientID {
		if bt.UserID, err = strconv.ParseInt(sub, 10, 64); err != nil || bt.UserID <= 0 {
			return nil, fmt.Errorf("%w: sub is neither a user ID nor the client", resources.ErrBearerInvalid)
		}
	}
	return bt, nil
}

// key returns the key with this kid, fetching the JWKS when the cache is
// stale, or when the kid is unknown and MinRefetch has passed (a key
// rotation publishes the new key before it signs, so this is rare).
func (v *JWKSValidator) key(ctx context.Context, kid string) (jwk, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.opts.Now()
	k, ok := v.keys[kid]
	stale := v.keys == nil || now.Sub(v.fetchedAt) >= v.opts.MaxAge
	if ok && !stale {
		return k, true, nil
	}
	if !stale && now.Sub(v.lastTry) < v.opts.MinRefetch {
		return jwk{}, false, nil
	}
	v.lastTry = now
	keys, err := v.fetch(ctx)
	if err != nil {
		if v.keys != nil && ok {
			return k, true, nil // keep serving known keys through an outage
		}
		return jwk{}, false, err
	}
	v.keys, v.fetchedAt = keys, now
	k, ok = v.keys[kid]
	return k, ok, nil
}

func (v *JWKSValidator) fetch(ctx context.Context) (map[string]jwk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: HTTP %d", v.opts.JWKSURL, resp.StatusCode)
	}
	var set struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	out := make(map[string]jwk, len(set.Keys))
	for _, r := range set.Keys {
		k, err := r.parse()
		if err != nil {
			continue // RFC 7517 §5: ignore keys we cannot use
		}
		out[r.KID] = k
	}
	return out, nil
}

type rawJWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	KID string `json:"kid"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// parse turns a JWK into a public key and the one algorithm it may verify.
func (r rawJWK) parse() (jwk, error) {
	if r.Use != "" && r.Use != "sig" {
		return jwk{}, errors.New("not a signing key")
	}
	switch {
	case r.Kty == "OKP" && r.Crv == "Ed25519" && (r.Alg == "" || r.Alg == "EdDSA"):
		x, err := b64(r.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return jwk{}, errors.New("bad Ed25519 key")
		}
		return jwk{alg: "EdDSA", key: ed25519.PublicKey(x)}, nil
	case r.Kty == "RSA" && (r.Alg == "" || r.Alg == "RS256"):
		n, err1 := b64(r.N)
		e, err2 := b64(r.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return jwk{}, errors.New("bad RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return jwk{}, errors.New("RSA key shorter than 2048 bits")
		}
		return jwk{alg: "RS256", key: pub}, nil
	case r.Kty == "EC" && r.Crv == "P-256" && (r.Alg == "" || r.Alg == "ES256"):
		x, err1 := b64(r.X)
		y, err2 := b64(r.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return jwk{}, errors.New("bad P-256 key")
		}
		// Validate the point via the uncompressed encoding.
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return jwk{}, errors.New("P-256 point not on the curve")
		}
		return jwk{alg: "ES256", key: pub}, nil
	}
	return jwk{}, errors.New("unsupported key")
}
