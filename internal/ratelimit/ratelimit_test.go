package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestTake: the sign-in limit (3 a minute per IP and username): a burst of
// 3, then a refusal with the wait until the next attempt, per key; after
// the wait exactly one attempt more.
func TestTake(t *testing.T) {
	c := newClock()
	l := New(3, time.Minute, c.Now)
	take := func(key string) (bool, time.Duration) {
		ok, wait, _ := l.Take(key)
		return ok, wait
	}
	for i := range 3 {
		if ok, _ := take("1.2.3.4\x00alice"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, wait := take("1.2.3.4\x00alice")
	if ok || wait != 20*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v; want refused with a wait of 20s", ok, wait)
	}
	if ok, _ := take("1.2.3.4\x00bob"); !ok {
		t.Fatal("another username from the same IP was limited")
	}
	if ok, _ := take("5.6.7.8\x00alice"); !ok {
		t.Fatal("the same username from another IP was limited")
	}
	c.Add(5 * time.Second) // a quarter of an attempt back: the wait shrinks
	if ok, wait := take("1.2.3.4\x00alice"); ok || wait != 15*time.Second {
		t.Fatalf("after 5s: ok=%v wait=%v; want refused with 15s", ok, wait)
	}
	c.Add(15 * time.Second)
	if ok, _ := take("1.2.3.4\x00alice"); !ok {
		t.Fatal("attempt refused after the announced wait")
	}
	if ok, _ := take("1.2.3.4\x00alice"); ok {
		t.Fatal("refill gave more than one attempt")
	}
	c.Add(time.Hour) // refills to the burst, never beyond
	for i := range 3 {
		if ok, _ := take("1.2.3.4\x00alice"); !ok {
			t.Fatalf("after an hour, attempt %d refused", i+1)
		}
	}
	if ok, _ := take("1.2.3.4\x00alice"); ok {
		t.Fatal("an hour's rest gave more than the burst")
	}
}

// TestTakeRefund: successful attempts give theirs back, so only failures
// count; parallel attempts each hold one until decided; a refund counts
// once and never lifts a bucket above its burst.
func TestTakeRefund(t *testing.T) {
	c := newClock()
	l := New(2, time.Minute, c.Now)
	for i := range 10 {
		ok, _, refund := l.Take("k")
		if !ok {
			t.Fatalf("sign-in %d refused although every earlier one succeeded", i+1)
		}
		c.Add(30 * time.Millisecond) // the password check takes time
		refund()
	}
	ok1, _, _ := l.Take("k")
	ok2, _, refund2 := l.Take("k")
	ok3, _, refund3 := l.Take("k")
	if !ok1 || !ok2 || ok3 || refund3 != nil {
		t.Fatalf("parallel takes: %v %v %v; want true true false (and no refund)", ok1, ok2, ok3)
	}
	c.Add(time.Second)
	refund2()
	refund2() // a second call gives nothing more
	if ok, _, _ := l.Take("k"); !ok {
		t.Fatal("refunded attempt not available")
	}
	if ok, _, _ := l.Take("k"); ok {
		t.Fatal("double refund gave an extra attempt")
	}

	// A refund after the bucket refilled does not overfill it.
	ok, _, refund := l.Take("full")
	if !ok {
		t.Fatal("first take refused")
	}
	c.Add(time.Hour)
	refund()
	for i := range 2 {
		if ok, _, _ := l.Take("full"); !ok {
			t.Fatalf("take %d refused", i+1)
		}
	}
	if ok, wait, _ := l.Take("full"); ok || wait != 30*time.Second {
		t.Fatalf("a late refund overfilled the bucket: ok=%v wait=%v", ok, wait)
	}
}

// TestAllowSpend: the failed-authentication limit (Djblets'
// LOGIN_LIMIT_RATE): with 5/m the 6th attempt is refused, with 3/s the
// 4th, with 4/h the 5th; checking counts nothing; attempts come back one
// per window/attempts.
func TestAllowSpend(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		window   time.Duration
	}{{5, time.Minute}, {3, time.Second}, {4, time.Hour}, {1, time.Minute}} {
		c := newClock()
		l := New(tc.attempts, tc.window, c.Now)
		for i := 1; i <= tc.attempts; i++ {
			for range 3 { // checking is free
				if ok, wait := l.Allow("ip:a"); !ok || wait != 0 {
					t.Fatalf("%d/%v: attempt %d refused (wait %v)", tc.attempts, tc.window, i, wait)
				}
			}
			l.Spend("ip:a")
		}
		per := tc.window / time.Duration(tc.attempts)
		ok, wait := l.Allow("ip:a")
		if ok || wait != per {
			t.Fatalf("%d/%v: attempt %d: ok=%v wait=%v, want refused for %v", tc.attempts, tc.window, tc.attempts+1, ok, wait, per)
		}
		if ok, _ := l.Allow("ip:b"); !ok {
			t.Fatalf("another key is limited too")
		}
		c.Add(per / 4)
		if ok, wait := l.Allow("ip:a"); ok || wait != per-per/4 {
			t.Fatalf("%d/%v: after %v: ok=%v wait=%v, want %v", tc.attempts, tc.window, per/4, ok, wait, per-per/4)
		}
		c.Add(per - per/4)
		if ok, _ := l.Allow("ip:a"); !ok {
			t.Fatalf("%d/%v: no attempt back after %v", tc.attempts, tc.window, per)
		}
	}
}

// TestSpendDoesNotGoIntoDebt: failures beyond the limit do not push the
// next attempt further away.
func TestSpendDoesNotGoIntoDebt(t *testing.T) {
	c := newClock()
	l := New(1, time.Minute, c.Now)
	for range 5 {
		l.Spend("k")
	}
	if ok, wait := l.Allow("k"); ok || wait != time.Minute {
		t.Fatalf("ok=%v wait=%v; want refused for 1m", ok, wait)
	}
	c.Add(time.Minute)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("extra failures pushed the next attempt beyond one window")
	}
}

// TestAllowStoresNothing: checking a key creates no bucket.
func TestAllowStoresNothing(t *testing.T) {
	l := New(5, time.Minute, newClock().Now)
	for i := range 100 {
		l.Allow("k" + strconv.Itoa(i))
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("Allow stored %d keys", n)
	}
}

// TestClockBackwards: a clock that steps back gives nothing and takes
// nothing away.
func TestClockBackwards(t *testing.T) {
	c := newClock()
	l := New(2, time.Minute, c.Now)
	l.Spend("k")
	c.Add(-time.Hour)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("a clock step back took an attempt away")
	}
	l.Spend("k")
	if ok, wait := l.Allow("k"); ok || wait != 30*time.Second {
		t.Fatalf("ok=%v wait=%v; want refused for 30s", ok, wait)
	}
	c.Add(time.Hour + 30*time.Second) // the bucket's time did not move back
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("no attempt back 30s after the last failure")
	}
}

// TestNewDefaults: at least one attempt, at least a nanosecond per
// attempt, time.Now without a clock.
func TestNewDefaults(t *testing.T) {
	c := newClock()
	l := New(0, time.Minute, c.Now)
	if ok, _, _ := l.Take("k"); !ok {
		t.Fatal("zero attempts: the first was refused")
	}
	if ok, wait, _ := l.Take("k"); ok || wait != time.Minute {
		t.Fatalf("zero attempts: ok=%v wait=%v; want one attempt a minute", ok, wait)
	}
	l = New(-3, time.Minute, c.Now)
	if ok, _, _ := l.Take("k"); !ok {
		t.Fatal("negative attempts: the first was refused")
	}
	l = New(10, 5*time.Nanosecond, c.Now)
	for range 10 {
		l.Spend("k")
	}
	if ok, wait := l.Allow("k"); ok || wait != time.Nanosecond {
		t.Fatalf("sub-nanosecond refill: ok=%v wait=%v; want refused for 1ns", ok, wait)
	}
	l = New(1, time.Hour, nil)
	if ok, _, _ := l.Take("k"); !ok {
		t.Fatal("time.Now clock: first attempt refused")
	}
	if ok, wait, _ := l.Take("k"); ok || wait <= 59*time.Minute || wait > time.Hour {
		t.Fatalf("time.Now clock: ok=%v wait=%v", ok, wait)
	}
}

// TestNil: a nil *Buckets is a limit configured off.
func TestNil(t *testing.T) {
	var l *Buckets
	ok, wait, refund := l.Take("k")
	if !ok || wait != 0 || refund == nil {
		t.Fatalf("Take = %v, %v, %v", ok, wait, refund == nil)
	}
	refund()
	l.Spend("k")
	if ok, wait := l.Allow("k"); !ok || wait != 0 {
		t.Fatalf("Allow = %v, %v", ok, wait)
	}
	if l.Len() != 0 {
		t.Fatal("Len of nil")
	}
}

// TestSweepEvery: every sweepEvery-th counting call drops the buckets that
// have refilled; buckets still spent stay.
func TestSweepEvery(t *testing.T) {
	c := newClock()
	l := New(1, time.Second, c.Now)
	l.Spend("a") // call 1
	c.Add(time.Second)
	for range sweepEvery - 2 { // calls 2 … sweepEvery-1
		l.Spend("x")
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("before the sweep: %d keys, want 2", n)
	}
	l.Spend("x") // call sweepEvery sweeps: a has refilled, x has not
	if n := l.Len(); n != 1 {
		t.Fatalf("after the sweep: %d keys, want 1", n)
	}
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("a swept key is not a fresh one")
	}
	// The count starts again: a refilled key lives until the next sweep.
	ok, _, _ := l.Take("b")
	if !ok {
		t.Fatal("take refused")
	}
	c.Add(time.Second)
	for range sweepEvery - 2 {
		l.Spend("x")
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("before the second sweep: %d keys, want 2", n)
	}
	l.Take("x")
	if n := l.Len(); n != 1 {
		t.Fatalf("after the second sweep: %d keys, want 1", n)
	}
}

// TestMaxKeys: a table at its bound is swept; when every bucket is still
// spent, it is emptied rather than grown.
func TestMaxKeys(t *testing.T) {
	c := newClock()
	l := New(2, time.Minute, c.Now)
	l.maxKeys = 3
	l.Spend("a")
	l.Spend("b")
	l.Spend("c")
	if n := l.Len(); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
	l.Spend("d") // at the bound, nothing refilled: emptied, then d
	if n := l.Len(); n != 1 {
		t.Fatalf("a full table of spent buckets: %d keys after one more, want 1", n)
	}
	l.Spend("e")
	l.Spend("f")
	c.Add(30 * time.Second) // d, e and f have refilled
	l.Spend("e")            // … but e is spent again after the sweep
	if n := l.Len(); n != 1 {
		t.Fatalf("after sweeping refilled buckets: %d keys, want 1", n)
	}
	l.Spend("g")
	l.Spend("h")
	l.Spend("i") // e, g and h at the bound, none refilled: emptied again
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys, want 1 (emptied again)", n)
	}
}

// TestMaxKeysKeepsWhatFits: a sweep that frees room keeps the buckets still
// spent.
func TestMaxKeysKeepsWhatFits(t *testing.T) {
	c := newClock()
	l := New(1, time.Minute, c.Now)
	l.maxKeys = 3
	l.Spend("a")
	c.Add(time.Minute) // a has refilled
	l.Spend("b")
	l.Spend("c")
	l.Spend("d") // the sweep drops a only: b and c stay, then d
	if n := l.Len(); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
	if ok, wait := l.Allow("b"); ok || wait != time.Minute {
		t.Fatalf("b's failure was forgotten by the sweep: %v %v", ok, wait)
	}
}

func TestConcurrent(t *testing.T) {
	l := New(100, time.Hour, newClock().Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if ok, _, _ := l.Take("k"); ok {
					mu.Lock()
					granted++
					mu.Unlock()
				}
				l.Spend("other")
				l.Allow("k")
			}
		}()
	}
	wg.Wait()
	if granted != 100 {
		t.Fatalf("granted %d of 400 takes, want 100", granted)
	}
}
