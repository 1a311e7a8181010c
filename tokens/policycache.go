package tokens

import (
	"sync"

	"github.com/authgate/authgate/tokens/policy"
)

// maxCachedPolicies bounds the compiled-policy cache; past it the cache is
// emptied and refilled, which only costs recompilation.
const maxCachedPolicies = 1024

// policyCache maps stored policy text to its compiled form. It is keyed by
// content, and a policy.Compiled is immutable and safe for concurrent use,
// so entries never go stale: an edited policy is simply a different key.
type policyCache struct {
	mu sync.RWMutex
	m  map[string]*policy.Compiled
}

func (c *policyCache) get(raw []byte) *policy.Compiled {
	c.mu.RLock()
	p, ok := c.m[string(raw)] // no allocation for the lookup
	c.mu.RUnlock()
	if ok {
		return p
	}
	// FromStored fails closed: an unreadable policy denies everything.
	p = policy.FromStored(raw)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = make(map[string]*policy.Compiled)
	}
	c.m[string(raw)] = p
	c.mu.Unlock()
	return p
}
