package notify

// Announcing many ids with one transaction.

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/authgate/authgate/internal/db"
)

// MaxEach is the most ids PublishEachInTx announces one by one; a
// transaction that changed more announces kind:All instead, which
// subscribers treat as "reload what you hold of kind". It keeps a burst
// inside the in-process queue (maxQueue), whose overflow would reload
// every cache of every kind.
const MaxEach = 256

// PublishEachInTx runs fn in a transaction, as PublishInTx does, and
// announces kind:id with it for every id fn returns (none: nothing is
// announced); more than MaxEach ids are announced as kind:All. On
// PostgreSQL the notices go out in one statement. fn's error is returned
// unchanged.
func (b *Bus) PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error {
	if _, err := payloadOf(kind, All); err != nil {
		return err
	}
	if b.closed() {
		return ErrClosed
	}
	pg := b.db.Dialect == db.Postgres
	var ids []string
	var seqs []int64
	err := b.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if ids, err = fn(tx); err != nil {
			return err
		}
		if len(ids) > MaxEach {
			ids = []string{All}
		}
		payloads := make([]string, len(ids))
		for i, id := range ids {
			if payloads[i], err = payloadOf(kind, id); err != nil {
				return err
			}
		}
		if len(payloads) == 0 {
			return nil
		}
		if pg {
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, Channel, pq.Array(payloads)); err != nil {
				return fmt.Errorf("notify %d %s notices: %w", len(payloads), kind, err)
			}
			return nil
		}
		for _, id := range ids {
			seq, err := appendFeed(ctx, tx, kind, id)
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil || pg {
		return err
	}
	for i, seq := range seqs {
		b.delivered(seq)
		b.enqueue(notice{kind, ids[i]})
	}
	return nil
}
