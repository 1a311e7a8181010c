package oauthstore

import (
	"context"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/jmoiron/sqlx"
)

// ClientNotifyKind is the invalidation-notice kind of OAuth clients:
// "oauth_client:<client_id>" drops that client from every instance's client
// cache, "oauth_client:*" empties it. Update, RotateSecret, SetDisabled and
// Delete announce it in their transaction (docs/architecture.md, "Storage
// and invalidation").
const ClientNotifyKind = "oauth_client"

// DefaultClientCacheSize bounds the client cache when the size given is 0.
const DefaultClientCacheSize = 1000

// ClientNotifier is the cross-instance invalidation bus as the client store
// uses it (internal/notify.Bus implements it).
type ClientNotifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
	Subscribe(kind string, fn func(id string))
}

// clientCache is a bounded LRU of loaded clients by client_id, so the token
// endpoint and introspection authenticate a client without a query
// (docs/performance.md, "Caches"). Only found clients are cached. A lookup
// reads the epoch before its query and stores its row only if no drop
// happened since, so a row read before a change committed is never stored
// after that change's drop.
type clientCache struct {
	mu    sync.Mutex
	lru   *simplelru.LRU[string, *Client]
	epoch uint64
}

func newClientCache(size int) *clientCache {
	if size <= 0 {
		size = DefaultClientCacheSize
	}
	l, _ := simplelru.NewLRU[string, *Client](size, nil) // size > 0: no error
	return &clientCache{lru: l}
}

// get returns a copy of the cached client (callers may modify their copy;
// the slices are shared and must not be written) and the epoch to hand to
// put on a miss.
func (c *clientCache) get(id string) (*Client, uint64) {
	c.mu.Lock()
	cl, ok := c.lru.Get(id)
	epoch := c.epoch
	c.mu.Unlock()
	if !ok {
		return nil, epoch
	}
	cp := *cl
	return &cp, epoch
}

func (c *clientCache) put(epoch uint64, cl *Client) {
	cp := *cl
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch == epoch {
		c.lru.Add(cp.ID, &cp)
	}
}

// drop applies a notice: one client_id, or All ("*") for every client.
func (c *clientCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if id == "*" {
		c.lru.Purge()
		return
	}
	c.lru.Remove(id)
}

func (c *clientCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// EnableCache turns on the client cache, holding at most size clients (0:
// DefaultClientCacheSize), and announces every change through n so that
// every instance drops the client at once (PostgreSQL) or within the
// change feed's bound (SQLite). Call it once, before the store is used.
func (s *SQLClientStore) EnableCache(n ClientNotifier, size int) {
	s.notifier = n
	s.cache = newClientCache(size)
	n.Subscribe(ClientNotifyKind, s.cache.drop)
}

// CacheLen reports how many clients are cached (0 without a cache).
func (s *SQLClientStore) CacheLen() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.len()
}

// changeTx runs fn in a transaction that announces ClientNotifyKind:id when
// a notifier is set, and drops id from this process's cache after it (also
// after an error: the commit may have happened).
func (s *SQLClientStore) changeTx(ctx context.Context, id string, fn func(tx *sqlx.Tx) error) error {
	if s.notifier == nil {
		return s.db.InTx(ctx, fn)
	}
	err := s.notifier.PublishInTx(ctx, ClientNotifyKind, id, fn)
	s.cache.drop(id)
	return err
}

// getCached is GetClient through the cache.
func (s *SQLClientStore) getCached(ctx context.Context, id string) (*Client, error) {
	c, epoch := s.cache.get(id)
	var err error
	if c != nil {
		return c, nil
	}
	c, err = getClient(ctx, s.db.Prepared(), s.db.Rebind(`SELECT `+clientColumns+` FROM oauth_clients WHERE client_id = ?`), id)
	if err != nil {
		return nil, err
	}
	s.cache.put(epoch, c)
	return c, nil
}
