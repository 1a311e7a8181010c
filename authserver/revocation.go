package authserver

// The revocation state a JWT access token is checked against, held in
// memory so that a valid JWT is accepted with no database query: revoked
// jtis (every revocation of a JWT, of its grant, client or user-client pair
// lists its jti in revoked_jti). The state of users and clients comes from
// their stores' caches (internal/users, authserver/oauthstore), dropped on
// change through the same bus. See docs/security.md,
// "Revocation bound", for how current it is kept and how late another
// instance may learn of a revocation.

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/authserver/oauthstore"
	"github.com/authgate/authgate/internal/db"
)

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
)

// InvalidationBus announces changes with their transaction and delivers
// other instances' notices (internal/notify.Bus).
type InvalidationBus interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
	PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error
	Subscribe(kind string, fn func(id string))
}

// revocationState is the in-memory revocation state. Its methods are safe
// for concurrent use.
type revocationState struct {
	db      *db.DB
	store   *TokenStore
	now     func() time.Time
	log     *slog.Logger
	period  time.Duration
	life    sync.Mutex // orders schedule's wg.Add before stop's Wait
	stopped atomic.Bool
	wg      sync.WaitGroup

	mu   sync.RWMutex
	jtis map[string]uint64 // revoked jti → sequence number when added
	seq  uint64

	lastFull        atomic.Int64 // unix nanoseconds of the last full reload's start
	running         atomic.Bool
	wantFull, wantR atomic.Bool
}

func newRevocationState(d *db.DB, now func() time.Time, log *slog.Logger, period time.Duration) *revocationState {
	return &revocationState{db: d, now: now, log: log, period: period, jtis: map[string]uint64{}}
}

// subscribe keeps the state current through bus. A handler runs on the
// bus's delivery goroutine, so it only changes memory or schedules a
// reload; "*" (a reconnection, or a revocation of more jtis than a
// transaction announces one by one) rereads.
func (r *revocationState) subscribe(bus InvalidationBus) {
	bus.Subscribe(RevokedJTINotifyKind, func(id string) {
		if id == oauthstore.AnnounceAll {
			r.schedule(false)
			return
		}
		r.add(id)
	})
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

// reloadFull replaces the revoked jtis with those in the database (keeping
// any added while it ran).
func (r *revocationState) reloadFull(ctx context.Context) error {
	start := r.now()
	r.lastFull.Store(start.UnixNano())
	r.mu.RLock()
	seq0 := r.seq
	r.mu.RUnlock()
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

// revocationNotifier is the token store's notifier: it announces the jtis
// a transaction revoked on the bus (when there is one) with the
// transaction, then records them in this instance's state at once, without
// waiting for the notices to come back.
type revocationNotifier struct {
	bus InvalidationBus // nil: no other instance to tell
	db  *db.DB
	rev *revocationState
}

func (n revocationNotifier) PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error {
	var jtis []string
	listing := func(tx *sqlx.Tx) ([]string, error) {
		var err error
		jtis, err = fn(tx)
		return jtis, err
	}
	var err error
	if n.bus != nil {
		err = n.bus.PublishEachInTx(ctx, kind, listing)
	} else {
		err = n.db.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := listing(tx)
			return err
		})
	}
	if err == nil {
		for _, jti := range jtis {
			n.rev.add(jti)
		}
		return nil
	}
	// A failure after which the commit may have happened: read back what
	// the database holds.
	if rerr := n.rev.reloadRecent(context.WithoutCancel(ctx)); rerr != nil {
		n.rev.log.Warn("cannot reread recent revocations", "error", rerr)
		n.rev.schedule(false)
	}
	return err
}
