package resources

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/internal/netaddr"
	"github.com/authgate/authgate/internal/ratelimit"
)

// FailureLimiter limits failed authentications (Djblets' LOGIN_LIMIT_RATE).
// The Guard asks Allow before it reads an Authorization header (as Djblets
// does, docs/api-tokens.md, "Authentication": the pre-check comes before
// parsing, so a client over the limit is refused even with a good
// credential) and calls Failed when the
// header was refused as the caller's fault (401). Successes and
// credentials that could not be checked (503, 500) are not counted. See
// docs/resource-servers.md, "Failed authentication".
type FailureLimiter interface {
	// Allow reports whether key may try to authenticate now; when not,
	// retryAfter says when it may. It does not count anything.
	Allow(key string) (ok bool, retryAfter time.Duration)
	// Failed counts one failed authentication for key.
	Failed(key string)
}

// Djblets' LOGIN_LIMIT_RATE, "5/m": failed authentications per client.
const (
	DefaultFailedAuthAttempts = 5
	DefaultFailedAuthWindow   = time.Minute
)

// LoginAttemptsExceededMessage is Djblets' message for a client over its
// failed-login limit (code 104, HTTP 401).
const LoginAttemptsExceededMessage = "Maximum number of login attempts exceeded."

// LoginAttemptsExceeded is code 104, HTTP 401, with Djblets' message and
// Retry-After (whole seconds, rounded up, at least 1).
func LoginAttemptsExceeded(retryAfter time.Duration) *APIError {
	secs := max(1, int64((retryAfter+time.Second-1)/time.Second))
	return LoginFailed().WithMessage(LoginAttemptsExceededMessage).
		WithHeader("Retry-After", strconv.FormatInt(secs, 10))
}

// FailureBuckets is the in-memory FailureLimiter: a token bucket per key,
// a burst of Attempts then one more every Window/Attempts, so that unlike
// fixed windows a client cannot spend two bursts across a boundary. Idle
// buckets that have refilled are forgotten, and a flood of distinct keys
// empties the table rather than exhausting memory. It is per process. It
// is safe for concurrent use.
type FailureBuckets struct{ b *ratelimit.Buckets }

// NewFailureBuckets returns a FailureLimiter allowing attempts failures per
// window (0: Djblets' 5 per minute). now replaces time.Now in tests (nil:
// time.Now).
func NewFailureBuckets(attempts int, window time.Duration, now func() time.Time) *FailureBuckets {
	if attempts <= 0 {
		attempts = DefaultFailedAuthAttempts
	}
	if window <= 0 {
		window = DefaultFailedAuthWindow
	}
	return &FailureBuckets{b: ratelimit.New(attempts, window, now)}
}

// Allow implements FailureLimiter.
func (l *FailureBuckets) Allow(key string) (bool, time.Duration) { return l.b.Allow(key) }

// Failed implements FailureLimiter.
func (l *FailureBuckets) Failed(key string) { l.b.Spend(key) }

// attempt is what a request's authentication holds against the failure
// limits: the key it counts under, and the sign-in attempt an HTTP Basic
// request reserved.
type attempt struct {
	key         string // "" when FailedAuth is off
	basicKey    string // the username's key in FailedAuth, for Basic
	basicRefund func()
}

// checkAttempt runs before the header is read: the 401 when the client IP
// is over the failure limit.
func (g *Guard) checkAttempt(c *call) *APIError {
	if g.failures == nil {
		return nil
	}
	// The address alone is the key (no prefix to concatenate): Basic's
	// keys start with "basic:", which no address does.
	c.att.key = netaddr.Key(g.clientIP(c))
	if ok, wait := g.failures.Allow(c.att.key); !ok {
		g.refused(c, "", "too many failed attempts")
		return LoginAttemptsExceeded(wait)
	}
	return nil
}

// settleAttempt records the outcome of a header authentication: a 401 is
// the caller's failure and counts; anything else gives back the Basic
// sign-in attempt.
func (g *Guard) settleAttempt(c *call, e *APIError) {
	if e != nil && e.HTTPStatus == http.StatusUnauthorized {
		if c.att.key != "" {
			g.failures.Failed(c.att.key)
		}
		if c.att.basicKey != "" {
			g.failures.Failed(c.att.basicKey)
		}
		return
	}
	if c.att.basicRefund != nil {
		c.att.basicRefund()
	}
}

// takeBasicAttempt reserves an attempt for the client IP and username of
// an HTTP Basic request, held until the password is decided: authgate
// shares its sign-in limits here (GuardConfig.BasicAttempts), so the API
// is no side door for guessing passwords. Without BasicAttempts, the
// username is limited like the address, by FailedAuth.
func (g *Guard) takeBasicAttempt(c *call, username string) *APIError {
	ip := netaddr.Key(g.clientIP(c))
	if g.cfg.BasicAttempts == nil {
		if g.failures == nil {
			return nil
		}
		key := "basic:" + ip + "\x00" + strings.ToLower(username)
		if ok, wait := g.failures.Allow(key); !ok {
			g.refused(c, "basic", "too many failed attempts")
			return LoginAttemptsExceeded(wait)
		}
		c.att.basicKey = key
		return nil
	}
	ok, wait, refund := g.cfg.BasicAttempts(ip, username)
	if !ok {
		g.refused(c, "basic", "too many failed attempts")
		return LoginAttemptsExceeded(wait)
	}
	c.att.basicRefund = refund
	return nil
}
