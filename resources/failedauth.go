package resources

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FailureLimiter limits failed authentications (Djblets' LOGIN_LIMIT_RATE).
// The Guard takes one attempt before it reads an Authorization header and
// gives it back (refund) when the header authenticated, or when it could
// not be checked for a reason that is not the caller's (503, 500): only
// failures count, and parallel guesses each hold an attempt until decided.
// See docs/resource-servers.md, "Failed authentication".
type FailureLimiter interface {
	// Take reserves one attempt for key. When none is left, ok is false and
	// retryAfter says when the next one comes; otherwise refund, called at
	// most once, gives the attempt back.
	Take(key string) (ok bool, retryAfter time.Duration, refund func())
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
type FailureBuckets struct {
	per   time.Duration
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*failBucket
	sweeps  int
}

type failBucket struct {
	tokens float64
	at     time.Time
}

// failureBucketsMaxKeys bounds the table (about 10 MB at worst).
const failureBucketsMaxKeys = 100_000

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
	if now == nil {
		now = time.Now
	}
	per := window / time.Duration(attempts)
	if per <= 0 {
		per = 1
	}
	return &FailureBuckets{per: per, burst: float64(attempts), now: now, buckets: map[string]*failBucket{}}
}

func (l *FailureBuckets) refill(b *failBucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.per))
		b.at = now
	}
}

// Take implements FailureLimiter.
func (l *FailureBuckets) Take(key string) (bool, time.Duration, func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.sweeps++; l.sweeps >= 1024 || len(l.buckets) >= failureBucketsMaxKeys {
		l.sweeps = 0
		l.sweep(now)
	}
	b, found := l.buckets[key]
	if !found {
		b = &failBucket{tokens: l.burst, at: now}
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

func (l *FailureBuckets) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= failureBucketsMaxKeys {
		clear(l.buckets)
	}
}

// addressKey keys a client IP for the failure limits: the IP for IPv4, its
// /64 for IPv6, since one host usually holds a whole /64 and could
// otherwise spread its guesses over 2^64 addresses.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// attempt is one failure-limited authentication in progress: the attempts
// it holds, given back by succeeded.
type attempt struct {
	refunds []func()
}

func (a *attempt) succeeded() {
	for _, r := range a.refunds {
		r()
	}
}

// takeAttempt reserves an attempt for the client IP before the header is
// read (Djblets §7.2 step 1: the pre-check runs before parsing). It returns
// the 401 when the IP has none left.
func (g *Guard) takeAttempt(c *call) *APIError {
	if g.failures == nil {
		return nil
	}
	ok, wait, refund := g.failures.Take("ip:" + addressKey(g.clientIP(c)))
	if !ok {
		g.refused(c, "", "too many failed attempts")
		return LoginAttemptsExceeded(wait)
	}
	c.att.refunds = append(c.att.refunds, refund)
	return nil
}

// takeBasicAttempt reserves an attempt for the client IP and username of an
// HTTP Basic request: authgate shares its sign-in limits here
// (GuardConfig.BasicAttempts), so the API is no side door for guessing.
func (g *Guard) takeBasicAttempt(c *call, username string) *APIError {
	ip := addressKey(g.clientIP(c))
	var (
		ok     bool
		wait   time.Duration
		refund func()
	)
	switch {
	case g.cfg.BasicAttempts != nil:
		ok, wait, refund = g.cfg.BasicAttempts(ip, username)
	case g.failures != nil:
		ok, wait, refund = g.failures.Take("basic:" + ip + "\x00" + strings.ToLower(username))
	default:
		return nil
	}
	if !ok {
		g.refused(c, "basic", "too many failed attempts")
		return LoginAttemptsExceeded(wait)
	}
	if refund != nil {
		c.att.refunds = append(c.att.refunds, refund)
	}
	return nil
}
