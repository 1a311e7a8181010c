package tokens

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

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
// Only found tokens are cached, so a new token works at once.
//
// Races with invalidation: a lookup reads the epoch before its query and
// stores its row only if no drop happened since, so a row read before a
// change committed can never be stored after that change's drop.
type AuthCache struct {
	ttl time.Duration
	max int

	mu      sync.RWMutex
	entries map[string]*cacheEntry // by digest
	byID    map[int64]string       // token ID → digest
	epoch   uint64
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
	return &AuthCache{ttl: ttl, max: size, entries: map[string]*cacheEntry{}, byID: map[int64]string{}}
}

// get returns the live entry for digest, or nil.
func (c *AuthCache) get(digest string, now time.Time) *cacheEntry {
	c.mu.RLock()
	e := c.entries[digest]
	c.mu.RUnlock()
	if e == nil || !now.Before(e.deadline) {
		return nil
	}
	return e
}

// currentEpoch is read before a lookup; put refuses rows read across a drop.
func (c *AuthCache) currentEpoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// put stores l (which the caller no longer modifies) unless a drop happened
// since epoch was read.
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
	if old, ok := c.entries[e.digest]; ok {
		delete(c.byID, old.tok.ID)
	} else if len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[e.digest] = e
	c.byID[e.tok.ID] = e.digest
	return e
}

// evict makes room: expired entries first, then arbitrary ones (Go's map
// order) down to 7/8 of the bound, so eviction runs rarely.
func (c *AuthCache) evict(now time.Time) {
	for d, e := range c.entries {
		if !now.Before(e.deadline) {
			c.remove(d, e)
		}
	}
	for d, e := range c.entries {
		if len(c.entries) < c.max-c.max/8 {
			break
		}
		c.remove(d, e)
	}
}

func (c *AuthCache) remove(digest string, e *cacheEntry) {
	delete(c.entries, digest)
	if c.byID[e.tok.ID] == digest {
		delete(c.byID, e.tok.ID)
	}
}

// dropToken forgets token id.
func (c *AuthCache) dropToken(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if d, ok := c.byID[id]; ok {
		c.remove(d, c.entries[d])
	}
}

// dropDigest forgets the entry for digest if it is still e.
func (c *AuthCache) dropEntry(e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if c.entries[e.digest] == e {
		c.remove(e.digest, e)
	}
}

// dropUser forgets every token of user id (its active or admin flag
// changed).
func (c *AuthCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for d, e := range c.entries {
		if e.tok.UserID == id {
			c.remove(d, e)
		}
	}
}

// clear forgets everything.
func (c *AuthCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	clear(c.entries)
	clear(c.byID)
}

func (c *AuthCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
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
