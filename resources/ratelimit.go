package resources

import (
	"sync"
	"time"
)

// Limiter decides whether a caller may make another request. key names the
// caller ("user:<id>", "client:<id>" or "ip:<address>"); authenticated says
// which limit applies. When ok is false, retryAfter is how long until the
// caller may try again and limit is the limit that was exceeded.
type Limiter interface {
	Allow(key string, authenticated bool) (ok bool, retryAfter time.Duration, limit int)
}

// Djblets' defaults (docs/api-tokens.md, "Authentication", step 3):
// API_AUTHENTICATED_LIMIT_RATE and
// API_ANONYMOUS_LIMIT_RATE.
const (
	DefaultAuthenticatedLimit = 10000
	DefaultAnonymousLimit     = 1000
	DefaultLimitPeriod        = time.Hour
)

// WindowLimiter is Djblets' API rate limit: a count per caller in fixed
// windows aligned to the period (docs/api-tokens.md, "Authentication", step 3;
// docs/api-tokens.md, "Authentication"), refused once the
// count exceeds the limit. It is per process: several instances each allow
// the full rate. The zero value uses Djblets' defaults (10000/h
// authenticated, 1000/h anonymous). It is safe for concurrent use.
type WindowLimiter struct {
	// Authenticated and Anonymous are requests per Period; 0 = default,
	// negative = unlimited.
	Authenticated, Anonymous int
	Period                   time.Duration
	// Now replaces time.Now in tests.
	Now func() time.Time

	mu     sync.Mutex
	start  time.Time
	counts map[string]int
}

// Allow implements Limiter.
func (l *WindowLimiter) Allow(key string, authenticated bool) (bool, time.Duration, int) {
	limit := l.Anonymous
	if authenticated {
		limit = l.Authenticated
	}
	switch {
	case limit < 0:
		return true, 0, 0
	case limit == 0 && authenticated:
		limit = DefaultAuthenticatedLimit
	case limit == 0:
		limit = DefaultAnonymousLimit
	}
	period := l.Period
	if period <= 0 {
		period = DefaultLimitPeriod
	}
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Every key shares the window boundaries, so a new window simply
	// forgets every count; memory is bounded by one window's callers.
	if ws := now.Truncate(period); !ws.Equal(l.start) || l.counts == nil {
		l.start = ws
		l.counts = make(map[string]int)
	}
	l.counts[key]++
	if l.counts[key] > limit {
		return false, l.start.Add(period).Sub(now), limit
	}
	return true, 0, limit
}
