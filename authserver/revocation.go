package authserver

// The revocation state a JWT access token is checked against, held in
// memory so that a valid JWT is accepted with no database query: revoked
// jtis (every revocation of a JWT, of its grant, client or user-client pair
// lists its jti in revoked_jti), and the active flag of users and the state
// of clients, cached and dropped on change. See docs/security.md,
// "Revocation bound", for how current it is kept and how late another
// instance may learn of a revocation.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
)

// ClientNotifyKind is the invalidation-notice kind of OAuth clients:
// "oauth_client:<id>" is announced when a client is disabled, enabled or
// deleted, so every instance drops its cached state.
const ClientNotifyKind = "oauth_client"

// RevokedJTINotifyKind is the notice kind of revoked JWT access tokens
// (oauthstore.RevokedJTINotifyKind).
const RevokedJTINotifyKind = oauthstore.RevokedJTINotifyKind

const (
	// RevocationReload is the default period of the full reload of the
	// revocation state (oauth.revocation_reload), the safety net for lost
	// notices (docs/security.md, "Revocation bound").
	RevocationReload = 30 * time.Second
	// revocationSlack is how far back a "revoked_jti:*" notice rereads
	// revoked_jti: it covers a revoking transaction's time between its
	// revoked_at and its commit, and clock skew between instances.
	revocationSlack = 2 * time.Minute
	// statusCacheSize bounds each of the user and client state caches.
	statusCacheSize = 16384
)

// InvalidationBus announces changes with their transaction and delivers
// other instances' notices (internal/notify.Bus).
type InvalidationBus interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
	Subscribe(kind string, fn func(id string))
}

type userState struct {
	found, active bool
	username      string
}

// revocationState is the in-memory revocation state. Its methods are safe
// for concurrent use.
type revocationState struct {
	db      *db.DB
	store   *TokenStore
	client  func(ctx context.Context, id string) (*Client, error)
	now     func() time.Time
	log     *slog.Logger
	period  time.Duration
	life    sync.Mutex // orders schedule's wg.Add before stop's Wait
	stopped atomic.Bool
	wg      sync.WaitGroup

	mu   sync.RWMutex
	jtis map[string]uint64 // revoked jti → sequence number when added
	seq  uint64

	// users and clients cache the state of the users and clients of
	// tokens seen; a load that races with a drop (gen moved) is not kept.
	users     *lru.Cache[int64, userState]
	userGen   atomic.Uint64
	clients   *lru.Cache[string, bool] // client id → usable
	clientGen atomic.Uint64

	lastFull        atomic.Int64 // unix nanoseconds of the last full reload's start
	running         atomic.Bool
	wantFull, wantR atomic.Bool
}

func newRevocationState(d *db.DB, now func() time.Time, log *slog.Logger, period time.Duration) *revocationState {
	us, _ := lru.New[int64, userState](statusCacheSize)
	cs, _ := lru.New[string, bool](statusCacheSize)
	return &revocationState{db: d, now: now, log: log, period: period, jtis: map[string]uint64{}, users: us, clients: cs}
}

// subscribe keeps the state current through bus. A handler runs on the
// bus's delivery goroutine, so it only changes memory or schedules a
// reload; "*" (a reconnection, or a revocation of many jtis) rereads.
func (r *revocationState) subscribe(bus InvalidationBus) {
	bus.Subscribe(RevokedJTINotifyKind, func(id string) {
		if id == oauthstore.AnnounceAll {
			r.schedule(false)
			return
		}
		r.add(id)
	})
	bus.Subscribe(users.NotifyKind, func(id string) { r.drop(users.NotifyKind, id) })
	bus.Subscribe(ClientNotifyKind, func(id string) { r.drop(ClientNotifyKind, id) })
}

// drop forgets the cached state named by a notice of kind; id "*" drops
// every entry of kind and schedules a full reload (after a reconnection
// every subscriber gets "*").
func (r *revocationState) drop(kind, id string) {
	switch kind {
	case users.NotifyKind:
		r.userGen.Add(1)
		if id == oauthstore.AnnounceAll {
			r.users.Purge()
			r.schedule(true)
			return
		}
		if uid, err := strconv.ParseInt(id, 10, 64); err == nil {
			r.users.Remove(uid)
		}
	case ClientNotifyKind:
		r.clientGen.Add(1)
		if id == oauthstore.AnnounceAll {
			r.clients.Purge()
			r.schedule(true)
			return
		}
		r.clients.Remove(id)
	}
}

// add lists jti as revoked.
func (r *revocationState) add(jti string) {
	r.mu.Lock()
	r.seq++
	r.jtis[jti] = r.seq
	r.mu.Unlock()
}

// revoked reports whether jti is listed as revoked, and starts the
// periodic full reload when it is due.
func (r *revocationState) revoked(jti string) bool {
	if r.now().UnixNano()-r.lastFull.Load() > int64(r.period) {
		r.schedule(true)
	}
	r.mu.RLock()
	_, ok := r.jtis[jti]
	r.mu.RUnlock()
	return ok
}

// user returns user uid's state (found false: no such user), from the
// cache or, on a miss, from the database.
func (r *revocationState) user(ctx context.Context, uid int64) (st userState, found bool, err error) {
	if st, ok := r.users.Get(uid); ok {
		return st, st.found, nil
	}
	gen := r.userGen.Load()
	s, err := users.StatusIn(ctx, r.db, uid)
	switch {
	case errors.Is(err, users.ErrNotFound):
		st = userState{}
	case err != nil:
		return userState{}, false, fmt.Errorf("check access token status: %w", err)
	default:
		st = userState{found: true, active: s.IsActive, username: s.Username}
	}
	if r.userGen.Load() == gen {
		r.users.Add(uid, st)
	}
	return st, st.found, nil
}

// clientUsable reports whether client id exists and is not disabled, from
// the cache or, on a miss, from the database.
func (r *revocationState) clientUsable(ctx context.Context, id string) (bool, error) {
	if ok, hit := r.clients.Get(id); hit {
		return ok, nil
	}
	gen := r.clientGen.Load()
	c, err := r.client(ctx, id)
	usable := err == nil && !c.Disabled()
	if err != nil && !errors.Is(err, ErrClientNotFound) {
		return false, fmt.Errorf("check access token client: %w", err)
	}
	if r.clientGen.Load() == gen {
		r.clients.Add(id, usable)
	}
	return usable, nil
}

// reloadFull replaces the revoked jtis with those in the database (keeping
// any added while it ran) and empties the user and client caches.
func (r *revocationState) reloadFull(ctx context.Context) error {
	start := r.now()
	r.lastFull.Store(start.UnixNano())
	r.mu.RLock()
	seq0 := r.seq
	r.mu.RUnlock()
	r.userGen.Add(1)
	r.clientGen.Add(1)
	r.users.Purge()
	r.clients.Purge()
	list, err := r.store.RevokedJTIs(ctx, time.Time{}, start)
	if err != nil {
		return err
	}
	fresh := make(map[string]uint64, len(list))
	r.mu.Lock()
	for _, jti := range list {
		fresh[jti] = 0
	}
	for jti, seq := range r.jtis {
		if seq > seq0 {
			fresh[jti] = seq
		}
	}
	r.jtis = fresh
	r.mu.Unlock()
	return nil
}

// reloadRecent adds the jtis revoked in the last revocationSlack.
func (r *revocationState) reloadRecent(ctx context.Context) error {
	now := r.now()
	list, err := r.store.RevokedJTIs(ctx, now.Add(-revocationSlack), now)
	if err != nil {
		return err
	}
	for _, jti := range list {
		r.add(jti)
	}
	return nil
}

// schedule asks for a reload (full, or of the recent revocations) on one
// background goroutine; requests made while it runs are coalesced.
func (r *revocationState) schedule(full bool) {
	if full {
		r.wantFull.Store(true)
	} else {
		r.wantR.Store(true)
	}
	r.life.Lock()
	defer r.life.Unlock()
	if r.stopped.Load() || !r.running.CompareAndSwap(false, true) {
		return
	}
	r.wg.Add(1)
	go r.work()
}

func (r *revocationState) work() {
	defer r.wg.Done()
	for {
		full, recent := r.wantFull.Swap(false), r.wantR.Swap(false)
		if r.stopped.Load() || (!full && !recent) {
			r.running.Store(false)
			// A request that came after the swap but before the store
			// would otherwise wait for the next one.
			if !r.stopped.Load() && (r.wantFull.Load() || r.wantR.Load()) && r.running.CompareAndSwap(false, true) {
				continue
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var err error
		if full {
			r.lastFull.Store(r.now().UnixNano()) // a failing database is retried next period, not at once
			err = r.reloadFull(ctx)
		} else {
			err = r.reloadRecent(ctx)
		}
		cancel()
		if err != nil {
			r.log.Warn("cannot reload the revocation state; keeping the last one", "error", err)
		}
	}
}

// stop ends background reloads and waits for one in progress.
func (r *revocationState) stop() {
	r.life.Lock()
	r.stopped.Store(true)
	r.life.Unlock()
	r.wg.Wait()
}

// revocationNotifier is the token store's notifier: it announces a
// revocation on the bus (when there is one) with its transaction, then
// records it in this instance's state at once, without waiting for the
// notice to come back.
type revocationNotifier struct {
	bus InvalidationBus // nil: no other instance to tell
	db  *db.DB
	rev *revocationState
}

func (n revocationNotifier) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	var err error
	if n.bus != nil {
		err = n.bus.PublishInTx(ctx, kind, id, fn)
	} else {
		err = n.db.InTx(ctx, fn)
	}
	if err == nil && id != oauthstore.AnnounceAll {
		n.rev.add(id)
		return nil
	}
	// Many jtis, or a failure after which the commit may have happened:
	// read back what the database holds.
	if rerr := n.rev.reloadRecent(context.WithoutCancel(ctx)); rerr != nil {
		n.rev.log.Warn("cannot reread recent revocations", "error", rerr)
		n.rev.schedule(false)
	}
	return err
}
