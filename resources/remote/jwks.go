package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"

	"github.com/authgate/authgate/internal/jwk"
	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// JWKSOptions configures a JWKSValidator. The audience is not here: it is
// the Guard's one Audience setting (resources.GuardConfig.Audience).
type JWKSOptions struct {
	// Issuer is the authorization server's identifier; tokens must carry
	// it as iss. Required.
	Issuer string
	// JWKSURL is where the keys are; default Issuer + "/oauth/jwks.json".
	// Plain http is refused unless the host is loopback or
	// AllowInsecureHTTP is set.
	JWKSURL string
	// AllowInsecureHTTP accepts a plain-http JWKSURL to a host that is not
	// loopback (a private network you trust): keys fetched that way can be
	// replaced by anyone on the path, who can then sign tokens.
	AllowInsecureHTTP bool
	// HTTPClient fetches the JWKS; default http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds one fetch; default DefaultTimeout.
	Timeout time.Duration
	// MaxAge is how long fetched keys are trusted before a refetch;
	// default 1h. Known keys keep working past MaxAge while the issuer
	// cannot be reached.
	MaxAge time.Duration
	// MinRefetch is the least time between two fetches, successful or not
	// (so neither junk tokens with unknown kids nor an issuer outage make
	// every validation a fetch); default 1m.
	MinRefetch time.Duration
	// Leeway allows for clock skew on exp, nbf and iat; default 5s.
	Leeway time.Duration
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// JWKSValidator validates RFC 9068 JWT access tokens against the issuer's
// published keys. It implements resources.BearerValidator and is safe for
// concurrent use; validating with a known key takes no lock that a fetch
// holds. It cannot see revocations: a revoked JWT stays valid here until it
// expires (authgate keeps access tokens short-lived); use an Introspector
// where that matters. It leaves the audience to the Guard, which refuses a
// config without one (resources.AudienceRequirer).
type JWKSValidator struct {
	opts   JWKSOptions
	parser *jwt.Parser
	group  singleflight.Group
	// inflight is set while a fetch runs (tests wait on it).
	inflight atomic.Bool

	mu        sync.RWMutex
	keys      map[string]jwk.Key // by kid; nil until the first good fetch
	fetchedAt time.Time
	lastTry   time.Time
	lastErr   error // of the last fetch; nil when it succeeded
}

// The algorithms authgate signs with; the key rules are internal/jwk's.
// See docs/security.md, "JWK rules".
var supportedAlgs = []string{jwk.EdDSA, jwk.RS256, jwk.ES256}

var keyPolicy = jwk.Policy{Algs: supportedAlgs}

// NewJWKSValidator checks opts and returns an error for a configuration it
// cannot use; keys are fetched on first use.
func NewJWKSValidator(opts JWKSOptions) (*JWKSValidator, error) {
	if opts.Issuer == "" {
		return nil, errors.New("remote JWKS validator: Issuer is required")
	}
	if opts.JWKSURL == "" {
		opts.JWKSURL = strings.TrimRight(opts.Issuer, "/") + "/oauth/jwks.json"
	}
	if err := checkEndpoint("remote JWKS validator: JWKS", opts.JWKSURL, opts.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	if opts.MaxAge < 0 || opts.MinRefetch < 0 || opts.Leeway < 0 || opts.Timeout < 0 {
		return nil, errors.New("remote JWKS validator: durations may not be negative")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	opts.Timeout = orDefault(opts.Timeout, DefaultTimeout)
	opts.MaxAge = orDefault(opts.MaxAge, time.Hour)
	opts.MinRefetch = orDefault(opts.MinRefetch, time.Minute)
	opts.Leeway = orDefault(opts.Leeway, 5*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &JWKSValidator{opts: opts}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(supportedAlgs),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
	)
	return v, nil
}

// RequiresAudience implements resources.AudienceRequirer.
func (v *JWKSValidator) RequiresAudience() bool { return true }

type atClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Username string `json:"username"`
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
// check give an error wrapping resources.ErrBearerInvalid (a value that is
// not shaped like a JWS is refused before any parsing); keys that cannot be
// fetched give *resources.UnavailableError.
func (v *JWKSValidator) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	if !tokenformat.LooksLikeJWS(raw) {
		return nil, fmt.Errorf("%w: not a JWT", resources.ErrBearerInvalid)
	}
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
			return nil, errors.New("unknown kid")
		}
		// The key decides the algorithm, never the token (RFC 8725 §3.1).
		if t.Method.Alg() != k.Alg {
			return nil, errors.New("algorithm does not match the key")
		}
		return k.Public, nil
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
	var exp time.Time
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.Time
	}
	bt, err := bearerFromClaims(c.ID, c.ClientID, c.Subject, c.Username, c.Scope, c.Audience, exp)
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
func bearerFromClaims(jti, clientID, sub, username, scope string, aud []string, exp time.Time) (*resources.BearerToken, error) {
	if clientID == "" || sub == "" {
		return nil, fmt.Errorf("%w: client_id or sub missing", resources.ErrBearerInvalid)
	}
	set, err := scopes.ParseSet(scope)
	if err != nil {
		return nil, fmt.Errorf("%w: scope claim: %v", resources.ErrBearerInvalid, err)
	}
	bt := &resources.BearerToken{TokenID: jti, ClientID: clientID, Username: username, Scopes: set, Audience: aud, ExpiresAt: exp}
	if sub != clientID {
		if bt.UserID, err = strconv.ParseInt(sub, 10, 64); err != nil || bt.UserID <= 0 {
			return nil, fmt.Errorf("%w: sub is neither a user ID nor the client", resources.ErrBearerInvalid)
		}
	}
	return bt, nil
}

// key returns the key with this kid. It fetches the JWKS when the keys are
// older than MaxAge or the kid is unknown, but never twice within
// MinRefetch, whether the last fetch worked or not; concurrent callers
// share one fetch. Known keys keep working while fetches fail. An unknown
// kid is an invalid token when the last fetch worked, and the issuer's
// unavailability (503) when it did not.
func (v *JWKSValidator) key(ctx context.Context, kid string) (jwk.Key, bool, error) {
	now := v.opts.Now()
	v.mu.RLock()
	k, ok := v.keys[kid]
	fresh := v.keys != nil && now.Sub(v.fetchedAt) < v.opts.MaxAge
	throttled := !v.lastTry.IsZero() && now.Sub(v.lastTry) < v.opts.MinRefetch
	lastErr := v.lastErr
	v.mu.RUnlock()
	switch {
	case ok && (fresh || throttled):
		return k, true, nil
	case ok:
		// Stale but known: refresh in the background, validate now.
		v.group.DoChan("jwks", v.refresh(ctx))
		return k, true, nil
	case throttled && lastErr != nil:
		return jwk.Key{}, false, v.unavailable(now, lastErr)
	case throttled:
		return jwk.Key{}, false, nil
	}
	_, _, _ = v.group.Do("jwks", v.refresh(ctx))
	v.mu.RLock()
	defer v.mu.RUnlock()
	if k, ok := v.keys[kid]; ok {
		return k, true, nil
	}
	if v.lastErr != nil {
		return jwk.Key{}, false, v.unavailable(now, v.lastErr)
	}
	return jwk.Key{}, false, nil
}

// refresh returns the fetch run under the singleflight group.
func (v *JWKSValidator) refresh(ctx context.Context) func() (any, error) {
	return func() (any, error) {
		v.mu.RLock()
		again := !v.lastTry.IsZero() && v.opts.Now().Sub(v.lastTry) < v.opts.MinRefetch
		v.mu.RUnlock()
		if again { // a fetch finished while this caller waited
			return nil, nil
		}
		v.inflight.Store(true)
		defer v.inflight.Store(false)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.opts.Timeout)
		defer cancel()
		keys, err := v.fetch(cctx)
		v.mu.Lock()
		defer v.mu.Unlock()
		v.lastTry, v.lastErr = v.opts.Now(), err
		if err == nil {
			v.keys, v.fetchedAt = keys, v.lastTry
		}
		return nil, nil
	}
}

// unavailable is the error for a kid that could not be checked because the
// JWKS fetch failed; Retry-After is the time until the next fetch.
func (v *JWKSValidator) unavailable(now time.Time, err error) error {
	v.mu.RLock()
	next := v.lastTry.Add(v.opts.MinRefetch)
	v.mu.RUnlock()
	return &resources.UnavailableError{RetryAfter: max(next.Sub(now), time.Second), Err: err}
}

func (v *JWKSValidator) fetch(ctx context.Context) (map[string]jwk.Key, error) {
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
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	out := make(map[string]jwk.Key, len(set.Keys))
	for _, r := range set.Keys {
		k, err := keyPolicy.Parse(r, "")
		if err != nil {
			continue // RFC 7517 §5: ignore keys we cannot use
		}
		out[k.KID] = k
	}
	return out, nil
}
