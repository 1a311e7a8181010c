package users

import (
	"context"
	"strconv"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultStatusCacheSize bounds the user-status cache when the size given
// is 0.
const DefaultStatusCacheSize = 10000

// Subscriber hears the invalidation notices of other instances
// (internal/notify.Bus implements it).
type Subscriber interface {
	Subscribe(kind string, fn func(id string))
}

// statusCache is a bounded LRU of user records by ID, so bearer validation
// learns whether a token's user is active, and GET /api/session/ who the
// caller is, without a query (docs/performance.md, "Caches"). A record
// changes only through SetActive, SetAdmin, SetPassword and SetProfile
// (usernames are fixed, users are never deleted), which announce
// "user:<id>" with their transaction and drop the entry here at once. A
// lookup reads the epoch before its query and stores the row only if no
// drop happened since, so a row read before a change committed is never
// stored after that change's drop.
type statusCache struct {
	mu    sync.Mutex
	lru   *simplelru.LRU[int64, User]
	epoch uint64
}

// EnableStatusCache turns on the status cache of s (at most size users; 0:
// DefaultStatusCacheSize), dropping entries on the "user:<id>" notices sub
// delivers. s must have a notifier (NewSQLStoreWith) so its own changes are
// announced to the other instances. Call it once, before s is used.
func (s *SQLStore) EnableStatusCache(sub Subscriber, size int) {
	if size <= 0 {
		size = DefaultStatusCacheSize
	}
	l, _ := simplelru.NewLRU[int64, User](size, nil) // size > 0: no error
	s.status = &statusCache{lru: l}
	sub.Subscribe(NotifyKind, s.status.dropNotice)
}

// StatusCacheLen reports how many users' status is cached (0 without a
// cache).
func (s *SQLStore) StatusCacheLen() int {
	if s.status == nil {
		return 0
	}
	s.status.mu.Lock()
	defer s.status.mu.Unlock()
	return s.status.lru.Len()
}

func (c *statusCache) get(id int64) (User, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.lru.Get(id)
	return u, ok, c.epoch
}

func (c *statusCache) put(epoch uint64, u User) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch == epoch {
		c.lru.Add(u.ID, u)
	}
}

// drop forgets user id; id < 0 forgets everyone.
func (c *statusCache) drop(id int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if id < 0 {
		c.lru.Purge()
		return
	}
	c.lru.Remove(id)
}

// dropNotice applies a "user:<id>" notice; "*" or an unreadable ID empties
// the cache (fail safe).
func (c *statusCache) dropNotice(id string) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		n = -1
	}
	c.drop(n)
}

// cachedUser is Get through the cache.
func (s *SQLStore) cachedUser(ctx context.Context, id int64) (User, error) {
	u, ok, epoch := s.status.get(id)
	if ok {
		return u, nil
	}
	u, err := s.getOne(ctx, "id = ?", id)
	if err != nil {
		return User{}, err
	}
	s.status.put(epoch, u)
	return u, nil
}

// cachedStatus is Status through the cache.
func (s *SQLStore) cachedStatus(ctx context.Context, id int64) (Status, error) {
	u, err := s.cachedUser(ctx, id)
	if err != nil {
		return Status{}, err
	}
	return Status{ID: u.ID, Username: u.Username, IsActive: u.IsActive, IsAdmin: u.IsAdmin}, nil
}
