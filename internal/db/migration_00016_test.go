package db_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00016KeepsData fills a database at schema 00011 with audit
// events, with and without an actor, applies 00016 (the actor index) and
// checks every event survived unchanged, the log is still append-only, and
// on SQLite the actor filter of the audit page uses the new index.
func TestMigration00016KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 11)
			now := time.Now().UTC().Truncate(time.Second)
			for i, actor := range []any{int64(7), nil, int64(8), int64(7)} {
				if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO audit_events (at, kind, actor_user_id, subject_type, subject_id, data)
					VALUES (?, ?, ?, 'user', ?, '{"n":1}')`), now, "user.created", actor, string(rune('1'+i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.MigrateUpTo(ctx, d, 16); err != nil {
				t.Fatalf("migrate from 00011 to 00016: %v", err)
			}
			var rows []struct {
				Actor   *int64 `db:"actor_user_id"`
				Subject string `db:"subject_id"`
				Data    string `db:"data"`
			}
			if err := d.SelectContext(ctx, &rows, `SELECT actor_user_id, subject_id, data FROM audit_events ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 || rows[0].Actor == nil || *rows[0].Actor != 7 || rows[1].Actor != nil || rows[2].Subject != "3" || rows[3].Data != `{"n":1}` {
				t.Fatalf("events after 00016 = %+v", rows)
			}
			var n int
			if err := d.GetContext(ctx, &n, d.Rebind(`SELECT COUNT(*) FROM audit_events WHERE actor_user_id = ?`), 7); err != nil || n != 2 {
				t.Fatalf("events of actor 7: %d, %v", n, err)
			}
			if _, err := d.ExecContext(ctx, `UPDATE audit_events SET kind = 'x'`); err == nil {
				t.Fatal("the audit log accepted an UPDATE after 00016")
			}
			if tc.name != "sqlite" {
				if err := d.GetContext(ctx, &n, `SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'audit_events_actor_idx' AND schemaname = current_schema()`); err != nil || n != 1 {
					t.Fatalf("audit_events_actor_idx on PostgreSQL: %d, %v", n, err)
				}
				return
			}
			var plan []struct {
				ID      int    `db:"id"`
				Parent  int    `db:"parent"`
				NotUsed int    `db:"notused"`
				Detail  string `db:"detail"`
			}
			if err := d.SelectContext(ctx, &plan, `EXPLAIN QUERY PLAN SELECT id FROM audit_events WHERE actor_user_id = 7 AND id < 100 ORDER BY id DESC LIMIT 51`); err != nil {
				t.Fatal(err)
			}
			var details []string
			for _, p := range plan {
				details = append(details, p.Detail)
			}
			if got := strings.Join(details, "; "); !strings.Contains(got, "audit_events_actor_idx") {
				t.Errorf("the actor filter's plan does not use the index: %s", got)
			}
		})
	}
}
