package tokens

import (
	"hash/maphash"
	"testing"
)

// TestPolicyCacheHitAndCollision: the same policy text is compiled once
// (the second get returns the cached *Compiled), and an entry whose hash
// matches but whose text differs is never served for it: a collision only
// recompiles.
func TestPolicyCacheHitAndCollision(t *testing.T) {
	var c policyCache
	full := []byte(`{"resources":{"*":{"allow":["*"]}}}`)
	none := []byte(`{"resources":{"*":{"block":["*"]}}}`)
	first := c.get(full)
	if !first.Decide("user", "GET", "").Allowed {
		t.Fatal("the allow-all policy denies GET user")
	}
	if again := c.get(full); again != first {
		t.Fatal("the same policy text was compiled again instead of served from the cache")
	}
	// Plant the full-access entry under the hash of the deny-all text.
	c.mu.Lock()
	c.lru.Add(maphash.Bytes(c.seed, none), policyEntry{raw: string(full), p: first})
	c.mu.Unlock()
	if got := c.get(none); got == first || got.Decide("user", "GET", "").Allowed {
		t.Fatal("a hash collision served another policy's compiled form")
	}
}
