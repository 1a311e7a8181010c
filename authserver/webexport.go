package authserver

import (
	"context"
	"time"

	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/scopes"
)

// What the browser half of the authorization server (package
// authserver/web: /oauth/authorize, login, consent, account) takes from the
// protocol half. The web pages import this package, never the reverse.

// Limiter is a token bucket per key: a burst of attempts, one more every
// window/attempts, idle keys forgotten. It is the limiter of the token
// endpoints, exported for the sign-in form's limits. A nil *Limiter allows
// everything. See docs/operations-security.md, "Rate limits".
type Limiter struct{ b *ratelimit.Buckets }

// NewLimiter returns a limiter allowing attempts per window per key; now
// replaces time.Now (nil: time.Now).
func NewLimiter(attempts int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{b: ratelimit.New(attempts, window, now)}
}

// Take reserves one attempt for key. When none is left it returns false
// and how long until the next one. Otherwise refund gives the attempt back
// (once, however often it is called): a successful sign-in calls it, so
// that only failures count while parallel guesses each hold an attempt
// until they are decided.
func (l *Limiter) Take(key string) (ok bool, wait time.Duration, refund func()) {
	if l == nil {
		return true, 0, func() {}
	}
	return l.b.Take(key)
}

// ResolveAudience is the audience an authorization request binds into its
// code (RFC 8707 §2; the rules are resolveAudience's): own is authgate's
// own API audience. On failure errCode is the RFC 6749 §4.1.2.1 error code
// (invalid_target) and errDesc its description.
func ResolveAudience(src AudienceSource, own string, resource []string, scope scopes.Set) (aud []string, errCode, errDesc string) {
	aud, e := resolveAudience(src, own, resource, scope)
	if e != nil {
		return nil, e.Code, e.Description
	}
	return aud, "", ""
}

// WithAudience carries the audience of a new grant in ctx to the code
// generator: the authorization endpoint calls go-oauth2's
// GetAuthorizeToken with a request whose context holds it.
func WithAudience(ctx context.Context, aud []string) context.Context {
	return withAudience(ctx, aud)
}

// truncateDesc shortens s to n bytes for an error description, so an
// echoed request parameter cannot make a response arbitrarily long.
func truncateDesc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
