package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/notify"
)

// feedBound is the documented delivery bound of the SQLite change feed
// (docs/architecture.md, "Storage and invalidation").
const feedBound = time.Second

// TestFeedAcrossProcesses: two *db.DB on one SQLite file stand for two
// processes. A notice published by one (in a transaction or after a commit)
// reaches the other's subscriber within the bound, exactly once; a rolled
// back transaction leaves no feed row and announces nothing; the publisher's
// own subscribers hear each notice once, not again from the feed.
func TestFeedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.SQLiteDSN(t)
	cliDB, srvDB := openDB(t, dsn), openDB(t, dsn)
	cli := newBus(t, cliDB, dsn, notify.Options{PublishOnly: true})
	srv := newBus(t, srvDB, dsn, notify.Options{})
	peer := newBus(t, openDB(t, dsn), dsn, notify.Options{}) // a second server
	rSrv, rPeer := subscribe(srv, "api_token"), subscribe(peer, "api_token")

	boom := errors.New("boom")
	if err := cli.PublishInTx(ctx, "api_token", "rolled-back", func(*sqlx.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("PublishInTx = %v, want fn's error", err)
	}
	var rows int
	if err := cliDB.GetContext(ctx, &rows, `SELECT COUNT(*) FROM change_feed`); err != nil || rows != 0 {
		t.Fatalf("change_feed holds %d rows after a rollback (%v), want 0", rows, err)
	}

	start := time.Now()
	if err := cli.PublishInTx(ctx, "api_token", "7", func(*sqlx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rSrv.expect(t, "7")
	if took := time.Since(start); took > feedBound {
		t.Fatalf("notice took %s to cross processes, bound %s", took, feedBound)
	} else {
		t.Logf("PublishInTx reached another process in %s", took.Round(time.Millisecond))
	}
	rPeer.expect(t, "7")
	if err := cli.Publish(ctx, "api_token", "8"); err != nil {
		t.Fatal(err)
	}
	rSrv.expect(t, "8")
	rPeer.expect(t, "8")

	// The server's own change: heard once at once, and once by the peer.
	start = time.Now()
	if err := srv.PublishInTx(ctx, "api_token", "9", func(*sqlx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rSrv.expect(t, "9")
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("own notice took %s, want in-process delivery", took)
	}
	rPeer.expect(t, "9")
	rSrv.quiet(t, 3*notify.DefaultPollInterval)
	rPeer.quiet(t, 3*notify.DefaultPollInterval)
}

// TestFeedHoleOrBacklogDeliversAll: rows pruned before a process read them
// (a hole in the seqs), or more rows than one poll delivers, make the
// process reload everything instead of missing a change.
func TestFeedHoleOrBacklogDeliversAll(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.SQLiteDSN(t)
	d := openDB(t, dsn)
	srv := newBus(t, openDB(t, dsn), dsn, notify.Options{})
	r := subscribe(srv, "user")
	write := func(n int, deleteFirst bool) {
		t.Helper()
		err := d.InTx(ctx, func(tx *sqlx.Tx) error {
			var first int64
			for i := range n {
				res, err := tx.ExecContext(ctx, `INSERT INTO change_feed (kind, item, created_at) VALUES ('user', 'x', ?)`, time.Now().Unix())
				if err != nil {
					return err
				}
				if i == 0 {
					first, _ = res.LastInsertId()
				}
			}
			if deleteFirst {
				_, err := tx.ExecContext(ctx, `DELETE FROM change_feed WHERE seq = ?`, first)
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(2, true) // one row pruned unseen
	r.expect(t, notify.All)
	r.quiet(t, 3*notify.DefaultPollInterval)
	write(1, false) // in step again
	r.expect(t, "x")
	write(2000, false) // far behind
	r.expect(t, notify.All)
	r.quiet(t, 3*notify.DefaultPollInterval)
}

// TestFeedPrunesOldRows: the poller deletes rows past the retention.
func TestFeedPrunesOldRows(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.SQLiteDSN(t)
	d := openDB(t, dsn)
	b := newBus(t, d, dsn, notify.Options{PollInterval: 50 * time.Millisecond, FeedRetention: time.Second})
	if err := b.Publish(ctx, "user", "1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := d.GetContext(ctx, &n, `SELECT COUNT(*) FROM change_feed`); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d change_feed rows left past the retention", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A new bus after pruning emptied the table does not see a hole.
	other := newBus(t, openDB(t, dsn), dsn, notify.Options{})
	r := subscribe(other, "user")
	if err := b.Publish(ctx, "user", "2"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "2")
}
