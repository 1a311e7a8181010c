package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// BenchmarkListByActor measures the admin audit page's actor filter (one
// page, newest first) on a log of 50,000 events where the actor caused one
// in 1,000, with migration 00016's index and without it (dropped), on both
// databases. See docs/web-pages.md, "Admin: audit log".
func BenchmarkListByActor(b *testing.B) {
	for _, dialect := range []struct {
		name string
		open func(testing.TB) *db.DB
	}{{"sqlite", dbtest.Open}, {"postgres", dbtest.OpenPostgres}} {
		b.Run(dialect.name, func(b *testing.B) {
			d := dialect.open(b)
			ctx := context.Background()
			const events = 50000
			if err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				for i := range events {
					actor := int64(100 + i%50)
					if i%1000 == 0 {
						actor = 7
					}
					e := &audit.Event{At: time.Unix(int64(i), 0), Kind: "bench.event", ActorUserID: &actor,
						SubjectType: "thing", SubjectID: fmt.Sprint(i)}
					if err := audit.Append(ctx, tx, e); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			if _, err := d.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			f := audit.Filter{ActorUserID: 7, NewestFirst: true, Limit: 51}
			run := func(b *testing.B) {
				for b.Loop() {
					evs, err := audit.List(ctx, d, f)
					if err != nil || len(evs) != events/1000 {
						b.Fatalf("%d events, %v", len(evs), err)
					}
				}
			}
			b.Run("index", run)
			if _, err := d.ExecContext(ctx, `DROP INDEX audit_events_actor_idx`); err != nil {
				b.Fatal(err)
			}
			b.Run("no_index", run)
		})
	}
}
