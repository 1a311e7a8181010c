package authserver

import (
	"sync"
	"time"
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
