package tokens

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/singleflight"

	"github.com/authgate/authgate/internal/users"
)

// NotifyKind is the invalidation-notice kind of API tokens: "api_token:<id>"
// drops token id from every instance's authentication cache, and
// "api_token:*" empties it. The id is the database ID, never the secret or
// its digest.
const NotifyKind = "api_token"

// DefaultCacheSize bounds the authentication cache when Options.CacheSize
// is zero.
const DefaultCacheSize = 10000

// Publisher announces a change with the transaction that makes it.
type Publisher interface {
	// PublishInTx runs fn in a transaction and announces kind:id with its
	// commit (on PostgreSQL a NOTIFY delivered only if it commits).
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// Notifier is the cross-instance invalidation bus as package tokens uses it
// (internal/notify.Bus implements it; docs/architecture.md, "Storage and invalidation").
type Notifier interface {
	Publisher
	// Subscribe calls fn with the id of every notice of kind, and with "*"
	// when everything must be dropped (e.g. after a listener reconnect).
	Subscribe(kind string, fn func(id string))
}

// AuthCache maps token digests to looked-up rows (token + owner) for
// Options.CacheTTL (docs/api-tokens.md, "Deliberate differences": "a cached decision is dropped on
// invalidation"). It caches the row, not the decision: validity, expiry,
// owner state and policy are decided on every request from the entry.
// Only found tokens are cached, so a new token works at once. It holds at
// most its size of rows, evicting the least recently used
// (docs/performance.md, "Caches").
//
// Races with invalidation: a lookup reads the epoch before its query and
// stores its row only if no drop happened since, so a row read before a
// change committed can never be stored after that change's drop.
type AuthCache struct {
	ttl time.Duration

	mu      sync.Mutex                          // a hit moves the entry to the front, so even reads write
	entries *simplelru.LRU[string, *cacheEntry] // by digest
	byID    map[int64]string                    // token ID → digest, kept in step by onEvict
	epoch   uint64

	// misses collapses concurrent lookups of one digest that missed into
	// one query, whose entry they all share (so that they also share the
	// claim on its last_used write).
	misses singleflight.Group
}

type cacheEntry struct {
	digest   string
	tok      *Token // never modified once stored; Authenticate works on a clone
	owner    users.User
	deadline time.Time
	// lastUsed is the newest last_used this process knows of (UnixNano, 0
	// none), so a cached row neither rewrites last_used on every request
	// nor stops writing it.
	lastUsed atomic.Int64
}

// NewAuthCache returns an authentication cache keeping rows for ttl, at
// most size of them (0: DefaultCacheSize), or nil (no cache) when ttl is
// not positive. Hand it to NewManager in Options.Cache.
func NewAuthCache(ttl time.Duration, size int) *AuthCache {
	if ttl <= 0 {
		return nil
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	c := &AuthCache{ttl: ttl, byID: map[int64]string{}}
	c.entries, _ = simplelru.NewLRU(size, c.onEvict) // size > 0: no error
	return c
}

// onEvict runs under c.mu for every entry leaving the LRU (eviction,
// removal, purge).
func (c *AuthCache) onEvict(digest string, e *cacheEntry) {
	if c.byID[e.tok.ID] == digest {
		delete(c.byID, e.tok.ID)
	}
}

// get returns the live entry for digest, or nil.
func (c *AuthCache) get(digest string, now time.Time) *cacheEntry {
	c.mu.Lock()
	e, _ := c.entries.Get(digest)
	c.mu.Unlock()
	if e == nil || !now.Before(e.deadline) {
		return nil
	}
	return e
}

// currentEpoch is read before a lookup; put refuses rows read across a drop.
func (c *AuthCache) currentEpoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// put stores l (which the caller no longer modifies) unless a drop happened
// since epoch was read. A full cache evicts its least recently used row.
func (c *AuthCache) put(epoch uint64, l *Lookup, now time.Time) *cacheEntry {
	e := &cacheEntry{digest: l.Digest, tok: l.Token, owner: l.Owner, deadline: now.Add(c.ttl)}
	if l.Token.LastUsed != nil {
		e.lastUsed.Store(l.Token.LastUsed.UnixNano())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return e // answer this request from it, but do not keep it
	}
	c.entries.Remove(e.digest) // its old row, if any, leaves byID too
	c.entries.Add(e.digest, e)
	c.byID[e.tok.ID] = e.digest
	return e
}

// dropToken forgets token id.
func (c *AuthCache) dropToken(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if d, ok := c.byID[id]; ok {
		c.entries.Remove(d)
	}
}

// dropEntry forgets the entry for e's digest if it is still e.
func (c *AuthCache) dropEntry(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if cur, ok := c.entries.Peek(e.digest); ok && cur == e {
		c.entries.Remove(e.digest)
	}
}

// dropUser forgets every token of user id (its active or admin flag
// changed).
func (c *AuthCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, e := range c.entries.Values() {
		if e.tok.UserID == id {
			c.entries.Remove(e.digest)
		}
	}
}

// clear forgets everything.
func (c *AuthCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.entries.Purge()
}

func (c *AuthCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Len()
}

// Drop applies a notice: kind NotifyKind (token ID) or users.NotifyKind
// (user ID); "*" or an unreadable ID empties the cache (fail safe). On a
// nil cache it does nothing.
func (c *AuthCache) Drop(kind, id string) {
	if c == nil {
		return
	}
	n, err := strconv.ParseInt(id, 10, 64)
	switch {
	case id == "*" || err != nil:
		c.clear()
	case kind == users.NotifyKind:
		c.dropUser(n)
	default:
		c.dropToken(n)
	}
}
