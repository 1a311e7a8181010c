package authserver

import (
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	l := newBucketLimiter(3, time.Minute, func() time.Time { return now })
	allow := func(key string) (bool, time.Duration) {
		ok, wait, _ := l.take(key)
		return ok, wait
	}
	for i := range 3 {
		if ok, _ := allow("1.2.3.4\x00alice"); !ok {
			t.Fatalf("attempt %d refused within the burst", i+1)
		}
	}
	ok, wait := allow("1.2.3.4\x00alice")
	if ok || wait <= 0 || wait > 20*time.Second {
		t.Fatalf("4th attempt: ok=%v wait=%v; want refused with a wait of at most 20s", ok, wait)
	}
	if ok, _ := allow("1.2.3.4\x00bob"); !ok {
		t.Fatal("another username from the same IP was limited")
	}
	if ok, _ := allow("5.6.7.8\x00alice"); !ok {
		t.Fatal("the same username from another IP was limited")
	}
	now = now.Add(wait)
	if ok, _ := allow("1.2.3.4\x00alice"); !ok {
		t.Fatal("attempt refused after the announced wait")
	}
	if ok, _ := allow("1.2.3.4\x00alice"); ok {
		t.Fatal("refill gave more than one attempt")
	}
}

func TestLoginLimiterRefund(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	l := newBucketLimiter(2, time.Minute, func() time.Time { return now })
	for i := range 10 { // successful sign-ins give their attempt back
		ok, _, refund := l.take("k")
		if !ok {
			t.Fatalf("sign-in %d refused although every earlier one succeeded", i+1)
		}
		now = now.Add(30 * time.Millisecond) // the password check takes time
		refund()
	}
	// Two parallel guesses hold both attempts until decided.
	ok1, _, _ := l.take("k")
	ok2, _, refund2 := l.take("k")
	ok3, _, _ := l.take("k")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("parallel takes: %v %v %v; want true true false", ok1, ok2, ok3)
	}
	now = now.Add(time.Second)
	refund2()
	refund2() // a second call gives nothing more
	if ok, _, _ := l.take("k"); !ok {
		t.Fatal("refunded attempt not available")
	}
	if ok, _, _ := l.take("k"); ok {
		t.Fatal("double refund gave an extra attempt")
	}
}
