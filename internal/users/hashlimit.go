package users

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrBusy means every password-hashing slot stayed taken for the whole
// queue wait: the caller should answer 503 with Retry-After (HashRetryAfter)
// rather than pile up more 19 MiB argon2id computations.
var ErrBusy = errors.New("too many password checks in progress; try again shortly")

// HashRetryAfter is the Retry-After a caller sends with ErrBusy: about the
// time a queue of hashes takes to drain.
const HashRetryAfter = time.Second

// Defaults of HashLimits' zero fields.
const (
	DefaultHashMemoryMiB = 64
	DefaultHashWait      = time.Second
)

// HashLimits bound the memory argon2id may use at once. Each hash holds its
// m parameter (19 MiB for ours) for ~40 ms, so unbounded concurrent sign-ins
// are a memory bomb: 64 parallel wrong passwords reach ~1.2 GiB. See
// docs/operations-security.md, "Password hashing".
type HashLimits struct {
	// MemoryMiB is the most memory concurrent hashes may use together:
	// max(1, MemoryMiB / 19) of our hashes run at once. 0 = 64 (3 at once:
	// with the garbage the collector lets build up, ~2× that at peak).
	MemoryMiB int
	// Wait is how long a hash queues for memory before ErrBusy. 0 = 1s.
	Wait time.Duration
}

// hashLimiter is a semaphore weighted in KiB of argon2id memory.
type hashLimiter struct {
	sem       *semaphore.Weighted
	budgetKiB int64
	wait      time.Duration
}

func newHashLimiter(l HashLimits) *hashLimiter {
	if l.MemoryMiB <= 0 {
		l.MemoryMiB = DefaultHashMemoryMiB
	}
	if l.Wait <= 0 {
		l.Wait = DefaultHashWait
	}
	// Never below one of our own hashes, or no sign-in could ever run.
	budget := max(int64(l.MemoryMiB)*1024, argonMemoryKiB)
	return &hashLimiter{sem: semaphore.NewWeighted(budget), budgetKiB: budget, wait: l.Wait}
}

// defaultHashes is shared by every store built without HashLimits, so that
// the bound holds for the whole process, not per store.
var defaultHashes = newHashLimiter(HashLimits{})

// slots is how many hashes of our own parameters may run at once.
func (h *hashLimiter) slots() int { return int(h.budgetKiB / argonMemoryKiB) }

// run runs fn while holding memKiB of the budget (all of it when a stored
// hash asks for more than the budget: it then runs alone). It returns
// ErrBusy when the memory is not free within the wait, or ctx's error.
func (h *hashLimiter) run(ctx context.Context, memKiB uint32, fn func()) error {
	w := min(int64(memKiB), h.budgetKiB)
	wctx, cancel := context.WithTimeout(ctx, h.wait)
	defer cancel()
	if err := h.sem.Acquire(wctx, w); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrBusy
	}
	defer h.sem.Release(w)
	fn()
	return nil
}
