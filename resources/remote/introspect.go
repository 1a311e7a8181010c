package remote

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
	"github.com/authgate/authgate/tokens/policy"
)

// IntrospectorOptions configures an Introspector.
type IntrospectorOptions struct {
	// URL is the RFC 7662 endpoint, e.g. https://auth.example/oauth/introspect.
	URL string
	// ClientID and ClientSecret authenticate this resource server
	// (client_secret_basic, RFC 6749 §2.3.1).
	ClientID, ClientSecret string
	// HTTPClient; default a client with a 10s timeout.
	HTTPClient *http.Client
	// CacheTTL bounds how long an answer is reused; a token's own expiry
	// bounds it too. Revocations take up to CacheTTL to be seen. Default
	// 30s; negative disables caching.
	CacheTTL time.Duration
	// NegativeTTL is how long "inactive" is remembered; default 5s.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache; default 10000.
	MaxEntries int
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Introspector asks authgate's introspection endpoint about opaque access
// tokens (as a resources.BearerValidator) and API tokens (as a
// resources.TokenAuthenticator), caching answers by token digest. It is
// safe for concurrent use.
type Introspector struct {
	opts IntrospectorOptions

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	res   *introspection // nil: inactive
	until time.Time
}

// introspection is the RFC 7662 §2.2 response, with authgate's API-token
// extensions (token_type "api_token", username, policy).
type introspection struct {
	Active    bool            `json:"active"`
	TokenType string          `json:"token_type"`
	ClientID  string          `json:"client_id"`
	Sub       string          `json:"sub"`
	Username  string          `json:"username"`
	Scope     string          `json:"scope"`
	Exp       int64           `json:"exp"`
	JTI       string          `json:"jti"`
	Aud       json.RawMessage `json:"aud"`
	Policy    json.RawMessage `json:"policy"`
	Cnf       *cnf            `json:"cnf"`
}

// NewIntrospector checks opts.
func NewIntrospector(opts IntrospectorOptions) (*Introspector, error) {
	if opts.URL == "" || opts.ClientID == "" {
		return nil, errors.New("remote introspector: URL and ClientID are required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 30 * time.Second
	}
	if opts.NegativeTTL == 0 {
		opts.NegativeTTL = 5 * time.Second
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Introspector{opts: opts, cache: map[[32]byte]cached{}}, nil
}

// introspect returns the active introspection of raw, or nil if inactive.
func (in *Introspector) introspect(ctx context.Context, raw, hint string) (*introspection, error) {
	key := sha256.Sum256([]byte(raw))
	now := in.opts.Now()
	in.mu.Lock()
	if c, ok := in.cache[key]; ok && now.Before(c.until) {
		in.mu.Unlock()
		return c.res, nil
	}
	in.mu.Unlock()

	res, err := in.call(ctx, raw, hint)
	if err != nil {
		return nil, err
	}
	if res != nil && res.Exp != 0 && !now.Before(time.Unix(res.Exp, 0)) {
		res = nil // RFC 7662 §4: check exp ourselves too
	}
	ttl := in.opts.NegativeTTL
	if res != nil {
		ttl = in.opts.CacheTTL
		if res.Exp != 0 {
			ttl = min(ttl, time.Unix(res.Exp, 0).Sub(now))
		}
	}
	if ttl > 0 {
		in.mu.Lock()
		if len(in.cache) >= in.opts.MaxEntries {
			for k, c := range in.cache { // drop expired entries, else everything
				if !now.Before(c.until) {
					delete(in.cache, k)
				}
			}
			if len(in.cache) >= in.opts.MaxEntries {
				clear(in.cache)
			}
		}
		in.cache[key] = cached{res: res, until: now.Add(ttl)}
		in.mu.Unlock()
	}
	return res, nil
}

func (in *Introspector) call(ctx context.Context, raw, hint string) (*introspection, error) {
	form := url.Values{"token": {raw}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.opts.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: form-urlencode the credentials before Basic.
	req.SetBasicAuth(url.QueryEscape(in.opts.ClientID), url.QueryEscape(in.opts.ClientSecret))
	resp, err := in.opts.HTTPClient.Do(req)
	if err != nil {
		// The *url.Error names only the URL; the token is in the body.
		return nil, fmt.Errorf("introspect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspect %s: HTTP %d", in.opts.URL, resp.StatusCode)
	}
	var res introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("introspect: decode response: %w", err)
	}
	if !res.Active {
		return nil, nil
	}
	return &res, nil
}

func audience(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// ValidateBearer implements resources.BearerValidator for access tokens
// (opaque or JWT). An inactive token, or one that is not an access token,
// gives an error wrapping resources.ErrBearerInvalid.
func (in *Introspector) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	res, err := in.introspect(ctx, raw, "access_token")
	if err != nil {
		return nil, err
	}
	// RFC 9449 §6.2: a DPoP-bound token is token_type DPoP with cnf.jkt.
	if res == nil || !strings.EqualFold(res.TokenType, "Bearer") && res.TokenType != "access_token" && res.TokenType != "DPoP" {
		return nil, fmt.Errorf("%w: inactive or not an access token", resources.ErrBearerInvalid)
	}
	var exp *jwt.NumericDate
	if res.Exp != 0 {
		exp = jwt.NewNumericDate(time.Unix(res.Exp, 0))
	}
	jkt, ok := jktOf(res.Cnf)
	if !ok {
		return nil, fmt.Errorf("%w: cnf without jkt", resources.ErrBearerInvalid)
	}
	bt, err := bearerFromClaims(res.JTI, res.ClientID, res.Sub, res.Username, res.Scope, audience(res.Aud), exp)
	if err != nil {
		return nil, err
	}
	bt.JKT = jkt
	return bt, nil
}

// Authenticate implements resources.TokenAuthenticator for API tokens via
// introspection. The returned Token carries what introspection reveals
// (owner, expiry, policy); the policy is compiled fail-closed. Inactive
// tokens give *tokens.AuthError with kind ErrTokenNotFound: introspection
// does not say why (RFC 7662 §2.2), so the client sees LOGIN_FAILED's
// default message rather than Djblets' "became invalid" text.
func (in *Introspector) Authenticate(ctx context.Context, raw string) (*tokens.Authenticated, error) {
	res, err := in.introspect(ctx, raw, "api_token")
	if err != nil {
		return nil, err
	}
	if res == nil || res.TokenType != "api_token" {
		return nil, &tokens.AuthError{Kind: tokens.ErrTokenNotFound}
	}
	uid, err := strconv.ParseInt(res.Sub, 10, 64)
	if err != nil || uid <= 0 || res.Username == "" {
		return nil, fmt.Errorf("introspect: api token response without a user (sub %q)", res.Sub)
	}
	tok := &tokens.Token{UserID: uid, Username: res.Username, Valid: true, Policy: res.Policy}
	if res.Exp != 0 {
		t := time.Unix(res.Exp, 0).UTC()
		tok.Expires = &t
	}
	// A response without a policy is anomalous: deny everything (a nil
	// *policy.Compiled denies) rather than read it as {} (full access).
	var pol *policy.Compiled
	if len(res.Policy) > 0 && string(res.Policy) != "null" {
		pol = policy.FromStored(res.Policy)
	}
	return &tokens.Authenticated{
		Token:  tok,
		User:   users.User{ID: uid, Username: res.Username, IsActive: true},
		Policy: pol,
	}, nil
}
