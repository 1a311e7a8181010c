package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// ErrInvalidLimit is returned by PurgeBefore for a batch size below 1.
var ErrInvalidLimit = errors.New("audit purge: the batch size must be at least 1")

// PurgeBefore deletes up to limit events recorded before cutoff, oldest
// first, and returns how many it deleted. The log is otherwise
// append-only: the database refuses every other UPDATE or DELETE, and this
// transaction opens the purge gate only for its own batch (see
// docs/operations.md, "Retention and garbage collection").
func PurgeBefore(ctx context.Context, d *db.DB, cutoff time.Time, limit int) (int, error) {
	if limit < 1 {
		return 0, ErrInvalidLimit
	}
	var n int64
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := setGate(ctx, tx, true); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM audit_events WHERE id IN
			(SELECT id FROM audit_events WHERE at < ? ORDER BY at, id LIMIT ?)`), dbTime(cutoff), limit)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return setGate(ctx, tx, false)
	})
	if err != nil {
		return 0, fmt.Errorf("purge audit events before %s: %w", cutoff.UTC().Format(time.RFC3339), err)
	}
	return int(n), nil
}

// setGate opens or closes the purge gate within tx.
func setGate(ctx context.Context, tx *sqlx.Tx, open bool) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE audit_purge_gate SET open = ? WHERE id = 1`), open)
	return err
}

// CountBefore returns how many events were recorded before cutoff (what
// PurgeBefore would delete, given batches enough).
func CountBefore(ctx context.Context, d *db.DB, cutoff time.Time) (int, error) {
	var n int
	if err := d.GetContext(ctx, &n, d.Rebind(`SELECT COUNT(*) FROM audit_events WHERE at < ?`), dbTime(cutoff)); err != nil {
		return 0, fmt.Errorf("count audit events: %w", err)
	}
	return n, nil
}

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Retention purges the events older than Keep, for the periodic sweeper
// and `authgate gc`. A Keep of zero or less keeps every event.
type Retention struct {
	DB   *db.DB
	Keep time.Duration
}

// PurgeExpired deletes up to limit events recorded more than r.Keep before
// now.
func (r Retention) PurgeExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	if r.Keep <= 0 {
		return 0, nil
	}
	return PurgeBefore(ctx, r.DB, now.Add(-r.Keep), limit)
}

// CountExpired is what PurgeExpired would delete in all.
func (r Retention) CountExpired(ctx context.Context, now time.Time) (int, error) {
	if r.Keep <= 0 {
		return 0, nil
	}
	return CountBefore(ctx, r.DB, now.Add(-r.Keep))
}
