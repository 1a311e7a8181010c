package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// The SQLite change feed (docs/architecture.md, "Storage and invalidation").
// SQLite has no NOTIFY, and management commands run in their own process, so
// every announced change also appends a row to change_feed in the
// transaction that makes it, and every serving process polls the table for
// rows past the last seq it saw. SQLite has one writer at a time and a seq
// is never reused (AUTOINCREMENT), so seqs become visible in order and
// without holes except where rows were pruned: a poller that finds a hole,
// or more rows than one batch, delivers All.

const (
	// DefaultPollInterval is how often a SQLite process reads the feed, so
	// another process's change reaches its caches within about this long
	// (documented bound: 1 s, with room for a slow query).
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultFeedRetention is how long feed rows are kept: a process that
	// could not poll for longer reloads everything instead.
	DefaultFeedRetention = 2 * time.Minute
	// feedBatch is the most rows one poll delivers one by one; past it the
	// process has fallen behind and reloads everything.
	feedBatch = 512
)

// feed is the SQLite-only state of a Bus.
type feed struct {
	interval, retention time.Duration
	last                int64 // newest seq delivered or skipped; delivery goroutine only
	lastPrune           time.Time
	failing             bool               // the previous poll failed (logged once per streak)
	mine                map[int64]struct{} // seqs this process delivered itself; under Bus.qmu
}

type feedRow struct {
	Seq  int64  `db:"seq"`
	Kind string `db:"kind"`
	Item string `db:"item"`
}

// openFeed reads where the feed stands, so this process delivers only the
// changes committed from now on.
func (b *Bus) openFeed(ctx context.Context, opts Options) error {
	f := &feed{interval: opts.PollInterval, retention: opts.FeedRetention, mine: map[int64]struct{}{}}
	if f.interval <= 0 {
		f.interval = DefaultPollInterval
	}
	if f.retention <= 0 {
		f.retention = DefaultFeedRetention
	}
	var newest int64
	if err := b.db.GetContext(ctx, &newest, `SELECT COALESCE(MAX(seq), 0) FROM change_feed`); err != nil {
		return fmt.Errorf("notify: read the change feed (is the database migrated?): %w", err)
	}
	// The feed may have been pruned empty; sqlite_sequence still holds the
	// newest seq ever assigned, so the next row is not mistaken for a hole.
	var assigned int64
	err := b.db.GetContext(ctx, &assigned, `SELECT seq FROM sqlite_sequence WHERE name = 'change_feed'`)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("notify: read the change feed's sequence: %w", err)
	}
	f.last = max(newest, assigned)
	f.lastPrune = time.Now()
	b.feed = f
	return nil
}

// appendFeed records kind:id in the feed through ex (the change's
// transaction, or the pool for Publish) and returns the row's seq.
func appendFeed(ctx context.Context, ex sqlx.ExecerContext, kind, id string) (int64, error) {
	res, err := ex.ExecContext(ctx, `INSERT INTO change_feed (kind, item, created_at) VALUES (?, ?, ?)`,
		kind, id, time.Now().Unix())
	if err != nil {
		return 0, fmt.Errorf("notify %s:%s: append to the change feed: %w", kind, id, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("notify %s:%s: change feed seq: %w", kind, id, err)
	}
	return seq, nil
}

// delivered notes that this process delivers seq itself (in process, at
// once), so that its poller skips the row. Called before enqueue.
func (b *Bus) delivered(seq int64) {
	if b.feed == nil || b.tick == nil {
		return // publish-only: no poller to skip it
	}
	b.qmu.Lock()
	b.feed.mine[seq] = struct{}{}
	b.qmu.Unlock()
}

// poll delivers the feed rows committed since the last poll (on the
// delivery goroutine) and prunes old rows now and then.
func (b *Bus) poll(ctx context.Context) {
	f := b.feed
	var rows []feedRow
	err := b.db.SelectContext(ctx, &rows, `SELECT seq, kind, item FROM change_feed WHERE seq > ? ORDER BY seq LIMIT ?`,
		f.last, feedBatch+1)
	if err != nil {
		if !f.failing && ctx.Err() == nil {
			b.log.Warn("cannot read the change feed; will retry", "error", err)
		}
		f.failing = true
		return
	}
	if f.failing {
		b.log.Info("reading the change feed again")
		f.failing = false
	}
	switch {
	case len(rows) == 0:
	case len(rows) > feedBatch:
		var newest int64
		if err := b.db.GetContext(ctx, &newest, `SELECT COALESCE(MAX(seq), 0) FROM change_feed`); err != nil {
			return // retried on the next tick
		}
		b.log.Warn("change feed fell behind; reloading every cache", "behind", len(rows))
		f.last = max(newest, rows[len(rows)-1].Seq)
		b.forgetMine()
		b.deliverAll()
	case rows[0].Seq != f.last+1:
		b.log.Warn("change feed rows were pruned before this process read them; reloading every cache",
			"last_seen", f.last, "next", rows[0].Seq)
		f.last = rows[len(rows)-1].Seq
		b.forgetMine()
		b.deliverAll()
	default:
		for _, r := range rows {
			f.last = r.Seq
			if b.isMine(r.Seq) {
				continue
			}
			switch {
			case r.Kind == All:
				b.deliverAll()
			case r.Kind == "" || r.Item == "":
				b.log.Warn("ignoring malformed change feed row", "seq", r.Seq)
			default:
				b.deliver(r.Kind, r.Item)
			}
		}
		b.forgetMine()
	}
	if time.Since(f.lastPrune) >= f.retention/4 {
		f.lastPrune = time.Now()
		cutoff := time.Now().Add(-f.retention).Unix()
		if _, err := b.db.ExecContext(ctx, `DELETE FROM change_feed WHERE created_at < ?`, cutoff); err != nil && ctx.Err() == nil {
			b.log.Warn("cannot prune the change feed; will retry", "error", err)
		}
	}
}

func (b *Bus) isMine(seq int64) bool {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	_, ok := b.feed.mine[seq]
	delete(b.feed.mine, seq)
	return ok
}

// forgetMine drops the skip marks the poller has gone past (a row polled
// before its publisher marked it was delivered twice, which is harmless).
func (b *Bus) forgetMine() {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	for seq := range b.feed.mine {
		if seq <= b.feed.last {
			delete(b.feed.mine, seq)
		}
	}
}
