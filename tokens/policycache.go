package tokens

import (
	"hash/maphash"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/authgate/authgate/tokens/policy"
)

// maxCachedPolicies bounds the compiled-policy cache; past it the least
// recently used policy is evicted, which only costs its recompilation.
const maxCachedPolicies = 1024

// policyCache maps stored policy text to its compiled form, in a bounded
// LRU (docs/performance.md, "Caches"). It is keyed by content, and a
// policy.Compiled is immutable and safe for concurrent use, so entries never
// go stale: an edited policy is simply a different key. The key is a
// 64-bit hash of the text, so a lookup allocates nothing; the entry keeps
// the text and a hash collision only recompiles.
type policyCache struct {
	once sync.Once
	seed maphash.Seed
	mu   sync.Mutex
	lru  *simplelru.LRU[uint64, policyEntry]
}

type policyEntry struct {
	raw string
	p   *policy.Compiled
}

func (c *policyCache) get(raw []byte) *policy.Compiled {
	c.once.Do(func() {
		c.seed = maphash.MakeSeed()
		c.lru, _ = simplelru.NewLRU[uint64, policyEntry](maxCachedPolicies, nil) // size > 0: no error
	})
	h := maphash.Bytes(c.seed, raw)
	c.mu.Lock()
	e, ok := c.lru.Get(h)
	c.mu.Unlock()
	if ok && e.raw == string(raw) {
		return e.p
	}
	// FromStored fails closed: an unreadable policy denies everything.
	p := policy.FromStored(raw)
	c.mu.Lock()
	c.lru.Add(h, policyEntry{raw: string(raw), p: p})
	c.mu.Unlock()
	return p
}

func (c *policyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return 0
	}
	return c.lru.Len()
}
