package resources

import (
	"strconv"
	"testing"
	"time"
)

// TestFailureBucketsMemoryBound: the table never holds more than
// failureBucketsMaxKeys keys, however many distinct keys fail, and buckets
// that have refilled are forgotten as failures keep arriving.
func TestFailureBucketsMemoryBound(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewFailureBuckets(5, time.Minute, func() time.Time { return now })

	l.Failed("idle")
	now = now.Add(time.Minute) // "idle" refills
	for i := range 2048 {
		l.Failed("busy")
		if i == 0 && len(l.buckets) != 2 {
			t.Fatalf("%d buckets after two keys failed", len(l.buckets))
		}
	}
	if _, found := l.buckets["idle"]; found {
		t.Fatal("a refilled idle bucket is still held after 2048 more failures")
	}
	if _, found := l.buckets["busy"]; !found {
		t.Fatal("the busy bucket was forgotten")
	}

	for i := range failureBucketsMaxKeys + 1 {
		l.Failed("ip:" + strconv.Itoa(i))
		if n := len(l.buckets); n > failureBucketsMaxKeys {
			t.Fatalf("%d keys held after %d distinct failures; the bound is %d", n, i+1, failureBucketsMaxKeys)
		}
	}
}
