package authserver

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/netaddr"
)

// bucketLimiter is a token bucket per key (a client IP, IP and username, or
// a client ID): a burst of attempts, one more every window/attempts. It
// limits sign-ins (OWASP Authentication Cheat Sheet: throttle per account
// and per source) and the token endpoints. Idle buckets that have refilled
// are forgotten, so memory stays bounded by the keys currently active. A
// nil *bucketLimiter allows everything. See docs/operations-security.md,
// "Rate limits".
type bucketLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	per     time.Duration // one attempt comes back every per
	burst   float64
	now     func() time.Time
	sweeps  int
}

type bucket struct {
	tokens float64
	at     time.Time
}

const bucketLimiterMaxKeys = 100_000

func newBucketLimiter(attempts int, window time.Duration, now func() time.Time) *bucketLimiter {
	return &bucketLimiter{
		buckets: map[string]*bucket{},
		per:     window / time.Duration(attempts),
		burst:   float64(attempts),
		now:     now,
	}
}

// refill brings b up to date at now.
func (l *bucketLimiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.per))
		b.at = now
	}
}

// take reserves one attempt for key. When none is left it returns false
// and how long until the next one. Otherwise refund gives the attempt back:
// it is called after a successful sign-in, so that only failures count while
// parallel guesses still each hold an attempt until they are decided.
func (l *bucketLimiter) take(key string) (ok bool, wait time.Duration, refund func()) {
	if l == nil {
		return true, 0, func() {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.sweeps++; l.sweeps >= 1024 || len(l.buckets) >= bucketLimiterMaxKeys {
		l.sweeps = 0
		l.sweep(now)
	}
	b, found := l.buckets[key]
	if !found {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.per)), nil
	}
	b.tokens--
	var once sync.Once
	return true, 0, func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.refill(b, l.now())
			b.tokens = min(l.burst, b.tokens+1)
		})
	}
}

// sweep drops buckets that are full again (they behave like new ones). If
// that is not enough to get under the cap, everything is dropped: a flood of
// distinct keys must not exhaust memory.
func (l *bucketLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= bucketLimiterMaxKeys {
		clear(l.buckets)
	}
}

// EndpointLimits are the rate limits of the token, revocation and
// introspection endpoints. A zero field means its default, a negative one
// no limit. See docs/operations-security.md, "Rate limits".
type EndpointLimits struct {
	// ClientPerMinute is the calls an authenticated client may make per
	// minute (a burst of as many, then one every minute/ClientPerMinute),
	// wherever it calls from: clients behind one proxy or NAT do not share
	// it. Default 6000.
	ClientPerMinute int
	// IPFailuresPerMinute is the failed calls (any 4xx: no or wrong client
	// credentials, a replayed code, a bad request) a client IP may make per
	// minute; successful calls do not count. Default 60.
	IPFailuresPerMinute int
}

// Defaults of EndpointLimits.
const (
	DefaultClientPerMinute     = 6000
	DefaultIPFailuresPerMinute = 60
)

// newEndpointLimiter returns the bucket limiter for perMinute (0: def),
// nil when perMinute is negative.
func newEndpointLimiter(perMinute, def int, now func() time.Time) *bucketLimiter {
	if perMinute < 0 {
		return nil
	}
	if perMinute == 0 {
		perMinute = def
	}
	return newBucketLimiter(perMinute, time.Minute, now)
}

// rateLimited is the answer to a caller over a limit: 429 with Retry-After.
// RFC 6749 §5.2 has no code for it (slow_down is RFC 8628's device-flow
// polling code, temporarily_unavailable an authorization-endpoint code), so
// the body uses invalid_request, which every client library handles; the
// status and Retry-After say the rest.
func rateLimited(wait time.Duration, why string) *oauthError {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &oauthError{Code: codeInvalidRequest, retryAfter: secs,
		Description: fmt.Sprintf("rate limit exceeded: %s; retry after %ds", why, secs)}
}

// admitClient spends one call of an authenticated client's limit.
func (s *Server) admitClient(c *Client) error {
	if ok, wait, _ := s.clientLimit.take(c.ID); !ok {
		return rateLimited(wait, "too many calls by this client")
	}
	return nil
}

// limitFailures wraps an endpoint handler with the per-IP failure limit.
// Each call holds one of its IP's failures while it runs (so parallel
// guesses are bounded too) and gives it back when it succeeds, when it
// was refused by its client's own limit, or when the handler marked its
// refusal as expected (a device's pending poll): an authenticated client's
// traffic must not lock out its neighbours behind the same address.
func (s *Server) limitFailures(h gin.HandlerFunc) gin.HandlerFunc {
	if s.ipFailLimit == nil {
		return h
	}
	return func(c *gin.Context) {
		ok, wait, refund := s.ipFailLimit.take(netaddr.Key(c.ClientIP()))
		if !ok {
			writeOAuthError(c.Writer, rateLimited(wait, "too many failed calls from this address"))
			c.Abort()
			return
		}
		h(c)
		if st := c.Writer.Status(); st < http.StatusBadRequest || st == http.StatusTooManyRequests || c.GetBool(ctxExpectedRefusal) {
			refund()
		}
	}
}
