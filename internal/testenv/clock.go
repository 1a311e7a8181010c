package testenv

import (
	"sync"
	"time"
)

// FixedClock is a clock that moves only when the test moves it. The
// application reads it wherever a constructor takes a clock
// (app.Options.Now): token and code expiry, refresh idle time, signing-key
// schedules, sessions, API tokens, the rate and failure limits, the
// sweeper. Database defaults (CURRENT_TIMESTAMP) and the clocks of
// components without that seam still read the real time; among them
// go-oauth2's manager, which stamps codes and tokens (a JWT's iat and exp)
// with time.Now: move the clock relative to a token's own claims.
type FixedClock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *FixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t (backwards too).
func (c *FixedClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Clock runs the application on a FixedClock starting at start (the zero
// time: the real time when New runs, to the second), available as e.Clock.
func Clock(start time.Time) Option {
	return func(o *options) {
		if start.IsZero() {
			start = time.Now().UTC().Truncate(time.Second)
		}
		o.clock = &FixedClock{now: start}
	}
}
