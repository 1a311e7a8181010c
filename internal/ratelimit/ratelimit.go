// Package ratelimit is authgate's one token bucket: a burst of attempts per
// key, then one more every window/attempts, so that unlike fixed windows a
// caller cannot spend two bursts across a boundary. The authorization
// server's sign-in and token-endpoint limits reserve attempts with Take (and
// give them back on success); the resources Guard's failed-authentication
// limit checks with Allow and counts with Spend. Keys are bounded: buckets
// that have refilled are forgotten, and a flood of distinct keys empties
// the table rather than exhausting memory. The clock is injectable. See
// docs/operations-security.md, "Rate limits".
package ratelimit

import (
	"sync"
	"time"
)

// MaxKeys bounds a limiter's table (about 10 MB at worst).
const MaxKeys = 100_000

// sweepEvery is how many counting calls pass between sweeps of refilled
// buckets when the table is under MaxKeys.
const sweepEvery = 1024

// Buckets is a token bucket per key. It is safe for concurrent use. A nil
// *Buckets allows everything (a limit configured off).
type Buckets struct {
	per   time.Duration // one attempt comes back every per
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweeps  int
	maxKeys int
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns buckets of attempts per window (at least 1 attempt; a window
// shorter than attempts nanoseconds refills one a nanosecond). now
// replaces time.Now (nil: time.Now).
func New(attempts int, window time.Duration, now func() time.Time) *Buckets {
	attempts = max(1, attempts)
	if now == nil {
		now = time.Now
	}
	return &Buckets{
		per:     max(1, window/time.Duration(attempts)),
		burst:   float64(attempts),
		now:     now,
		buckets: map[string]*bucket{},
		maxKeys: MaxKeys,
	}
}

// refill brings b up to date at now. A clock that steps back neither gives
// nor takes attempts, and the bucket keeps its later time.
func (l *Buckets) refill(b *bucket, now time.Time) {
	if now.After(b.at) {
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.per))
		b.at = now
	}
}

// wait is how long until b holds one attempt again.
func (l *Buckets) wait(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) * float64(l.per))
}

// counted returns key's bucket, brought up to date at now and created full
// when key has none, after sweeping the table when due. l.mu is held.
func (l *Buckets) counted(key string, now time.Time) *bucket {
	if l.sweeps++; l.sweeps >= sweepEvery || len(l.buckets) >= l.maxKeys {
		l.sweeps = 0
		l.sweep(now)
	}
	b, found := l.buckets[key]
	if !found {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	return b
}

// Take reserves one attempt for key. When none is left it returns false
// and how long until the next one. Otherwise refund gives the attempt back
// (once, however often it is called): a caller that succeeded calls it, so
// that only failures count while parallel attempts each hold one until
// they are decided.
func (l *Buckets) Take(key string) (ok bool, wait time.Duration, refund func()) {
	if l == nil {
		return true, 0, func() {}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.counted(key, l.now())
	if b.tokens < 1 {
		return false, l.wait(b), nil
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

// Allow reports whether key holds an attempt now, and when not, how long
// until it does. It counts nothing and stores nothing.
func (l *Buckets) Allow(key string) (ok bool, wait time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return true, 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return true, 0
	}
	return false, l.wait(b)
}

// Spend counts one attempt against key, with nothing to give back; an
// empty bucket stays empty (the debt does not grow).
func (l *Buckets) Spend(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.counted(key, l.now())
	b.tokens = max(0, b.tokens-1)
}

// Len is the number of keys the table holds.
func (l *Buckets) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweep drops buckets that are full again (they behave like new ones). If
// that is not enough to get under the cap, everything is dropped: a flood
// of distinct keys must not exhaust memory.
func (l *Buckets) sweep(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}
