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

	"golang.org/x/sync/singleflight"

	"github.com/authgate/authgate/resources"
)

// Default cache bounds of an Introspector. See docs/resource-servers.md,
// "Caching".
const (
	// DefaultAPITokenTTL bounds how long an active API token is reused: an
	// invalidated or deleted token keeps working here for at most this long.
	DefaultAPITokenTTL = 10 * time.Second
	// DefaultAccessTokenTTL bounds how long an active OAuth2 access token
	// is reused (its own exp bounds it too).
	DefaultAccessTokenTTL = 30 * time.Second
	// DefaultNegativeTTL is how long a refusal is remembered.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultMaxEntries bounds the cache.
	DefaultMaxEntries = 10000
	// DefaultTimeout bounds one introspection call.
	DefaultTimeout = 5 * time.Second
)

// IntrospectorOptions configures an Introspector. Zero values take the
// defaults above; a negative TTL turns that cache off.
type IntrospectorOptions struct {
	// URL is the RFC 7662 endpoint, e.g. https://auth.example/oauth/introspect.
	// Plain http is refused unless the host is loopback or
	// AllowInsecureHTTP is set.
	URL string
	// AllowInsecureHTTP accepts a plain-http URL to a host that is not
	// loopback (a private network you trust). Every token asked about and
	// the client secret then cross that network in clear.
	AllowInsecureHTTP bool
	// ClientID and ClientSecret authenticate this resource server
	// (client_secret_basic, RFC 6749 §2.3.1).
	ClientID, ClientSecret string
	// HTTPClient; default http.DefaultClient (Timeout bounds each call).
	HTTPClient *http.Client
	// Timeout bounds one introspection call; default DefaultTimeout.
	Timeout time.Duration
	// APITokenTTL and AccessTokenTTL bound how long an active answer is
	// reused; revocations take up to that long to be seen here.
	APITokenTTL, AccessTokenTTL time.Duration
	// NegativeTTL is how long "inactive" is remembered.
	NegativeTTL time.Duration
	// MaxEntries bounds the cache (answers are keyed by SHA-256 digest,
	// never by the raw token).
	MaxEntries int
	// APITokenTypes are the vendor prefixes of API tokens the server
	// issues; default DefaultAPITokenTypes. A token of another layout, or
	// with a wrong checksum, is refused without asking the server.
	APITokenTypes []string
	// Now replaces time.Now in tests.
	Now func() time.Time
}

// Introspector asks authgate's introspection endpoint about opaque or JWT
// access tokens (as a resources.BearerValidator) and API tokens (as a
// resources.TokenAuthenticator). It refuses malformed credentials locally,
// collapses identical concurrent lookups, caches answers for a bounded
// time, and reports an unreachable or overloaded server as
// *resources.UnavailableError (the Guard answers 503). It is safe for
// concurrent use.
type Introspector struct {
	opts  IntrospectorOptions
	group singleflight.Group

	mu      sync.Mutex
	cache   map[cacheKey]cached
	backoff time.Time // no calls before this, after a 429 or 5xx
}

type cacheKey struct {
	digest [32]byte
	hint   string
}

type cached struct {
	res   *introspection // nil: inactive
	until time.Time
}

// introspection is the RFC 7662 §2.2 response with authgate's extension
// members (docs/resource-servers.md, "Introspection extension members").
type introspection struct {
	Active    bool            `json:"active"`
	TokenType string          `json:"token_type"`
	ClientID  string          `json:"client_id"`
	Sub       string          `json:"sub"`
	Username  string          `json:"username"`
	Scope     string          `json:"scope"`
	Exp       int64           `json:"exp"`
	Iat       int64           `json:"iat"`
	JTI       string          `json:"jti"`
	Aud       json.RawMessage `json:"aud"`
	Policy    json.RawMessage `json:"policy"`
	Cnf       *cnf            `json:"cnf"`
	// API-token members.
	APITokenID       string `json:"api_token_id"`
	Deprecated       *bool  `json:"deprecated"`
	InactiveReason   string `json:"inactive_reason"`
	ErrorDescription string `json:"error_description"`

	// apiToken and apiTokenErr are the answer to AuthenticateAPIToken,
	// built once per call (with the compiled policy) and shared by every
	// cache hit.
	apiToken    *resources.AuthenticatedToken
	apiTokenErr error
}

// NewIntrospector checks opts and returns an error for a configuration it
// cannot use.
func NewIntrospector(opts IntrospectorOptions) (*Introspector, error) {
	if err := checkEndpoint("remote introspector:", opts.URL, opts.AllowInsecureHTTP); err != nil {
		return nil, err
	}
	switch {
	case opts.ClientID == "":
		return nil, errors.New("remote introspector: ClientID is required")
	case opts.MaxEntries < 0 || opts.Timeout < 0:
		return nil, errors.New("remote introspector: MaxEntries and Timeout may not be negative")
	}
	for _, t := range opts.APITokenTypes {
		if t == "" || strings.ContainsAny(t, "_ ") {
			return nil, fmt.Errorf("remote introspector: API token type %q is not a vendor prefix", t)
		}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	opts.Timeout = orDefault(opts.Timeout, DefaultTimeout)
	opts.APITokenTTL = orDefault(opts.APITokenTTL, DefaultAPITokenTTL)
	opts.AccessTokenTTL = orDefault(opts.AccessTokenTTL, DefaultAccessTokenTTL)
	opts.NegativeTTL = orDefault(opts.NegativeTTL, DefaultNegativeTTL)
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if len(opts.APITokenTypes) == 0 {
		opts.APITokenTypes = DefaultAPITokenTypes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Introspector{opts: opts, cache: map[cacheKey]cached{}}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// RequiresAudience implements resources.AudienceRequirer: the Guard's
// Audience is checked against the introspected aud.
func (in *Introspector) RequiresAudience() bool { return true }

// introspect returns the introspection of raw (Active false when
// inactive), from the cache or from one call shared by concurrent callers.
func (in *Introspector) introspect(ctx context.Context, raw, hint string) (*introspection, error) {
	var buf [256]byte // no allocation for API and opaque tokens
	key := cacheKey{sha256.Sum256(append(buf[:0], raw...)), hint}
	now := in.opts.Now()
	in.mu.Lock()
	c, ok := in.cache[key]
	backoff := in.backoff
	in.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.res, nil
	}
	if now.Before(backoff) {
		// The server said to wait (429, 503): asking again now would only
		// prolong its overload.
		return nil, &resources.UnavailableError{RetryAfter: backoff.Sub(now), Err: errors.New("introspection backing off")}
	}
	return in.lookup(ctx, key, raw, hint)
}

// lookup is the cache miss: one call per key, shared by concurrent
// callers. (A separate function, so that the hit path allocates nothing
// for the closure.)
func (in *Introspector) lookup(ctx context.Context, key cacheKey, raw, hint string) (*introspection, error) {
	ch := in.group.DoChan(string(key.digest[:])+hint, func() (any, error) {
		// The first caller's cancellation must not fail the others.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.opts.Timeout)
		defer cancel()
		res, err := in.call(cctx, raw, hint)
		if err != nil {
			return nil, err
		}
		in.expire(res)
		if hint == hintAPIToken {
			res.apiToken, res.apiTokenErr = in.apiTokenAnswer(res, raw)
		}
		in.store(key, res, hint)
		return res, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*introspection), nil
	case <-ctx.Done():
		// This caller gave up; the call goes on for the others.
		return nil, fmt.Errorf("introspect: %w", ctx.Err())
	}
}

// expire marks an answer whose exp has passed inactive (RFC 7662 §4: check
// exp ourselves too).
func (in *Introspector) expire(res *introspection) {
	if res.Active && res.Exp != 0 && !in.opts.Now().Before(time.Unix(res.Exp, 0)) {
		res.Active = false
	}
}

// store caches res for its bounded lifetime.
func (in *Introspector) store(key cacheKey, res *introspection, hint string) {
	now := in.opts.Now()
	ttl := in.opts.NegativeTTL
	if res.Active {
		ttl = in.opts.AccessTokenTTL
		if hint == hintAPIToken {
			ttl = in.opts.APITokenTTL
		}
		if res.Exp != 0 {
			ttl = min(ttl, time.Unix(res.Exp, 0).Sub(now))
		}
	}
	if ttl <= 0 {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
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
}

const (
	hintAPIToken    = "api_token"
	hintAccessToken = "access_token"
)

func (in *Introspector) call(ctx context.Context, raw, hint string) (*introspection, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {hint}}
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
		// Unreachable or timed out. The *url.Error names only the URL; the
		// token is in the body.
		return nil, &resources.UnavailableError{Err: fmt.Errorf("introspect: %w", err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		retry := retryAfter(resp.Header.Get("Retry-After"), in.opts.Now())
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			in.mu.Lock()
			in.backoff = in.opts.Now().Add(max(retry, time.Second))
			in.mu.Unlock()
		}
		return nil, &resources.UnavailableError{RetryAfter: retry, Err: fmt.Errorf("introspect %s: HTTP %d", in.opts.URL, resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		// 400 or 401: this resource server's configuration is wrong.
		return nil, fmt.Errorf("introspect %s: HTTP %d", in.opts.URL, resp.StatusCode)
	}
	var res introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
		return nil, fmt.Errorf("introspect: decode response: %w", err)
	}
	return &res, nil
}

// maxRetryAfter caps a server's Retry-After, so that one bad header cannot
// stop all introspection for long.
const maxRetryAfter = time.Minute

// retryAfter reads Retry-After (RFC 9110 §10.2.3: seconds or an HTTP
// date); 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

var errNotAccessToken = fmt.Errorf("%w: not an authgate access token", resources.ErrBearerInvalid)

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
// (opaque or JWT). A value that cannot be an authgate access token is
// refused without a call. An inactive token, or one that is not an access
// token, gives an error wrapping resources.ErrBearerInvalid.
func (in *Introspector) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	if !wellFormedAccessToken(raw) {
		return nil, errNotAccessToken
	}
	res, err := in.introspect(ctx, raw, hintAccessToken)
	if err != nil {
		return nil, err
	}
	// RFC 9449 §6.2: a DPoP-bound token is token_type DPoP with cnf.jkt.
	if !res.Active || !strings.EqualFold(res.TokenType, "Bearer") && res.TokenType != "access_token" && res.TokenType != "DPoP" {
		return nil, fmt.Errorf("%w: inactive or not an access token", resources.ErrBearerInvalid)
	}
	var exp time.Time
	if res.Exp != 0 {
		exp = time.Unix(res.Exp, 0)
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
