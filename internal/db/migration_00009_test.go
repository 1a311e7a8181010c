package db_test

import (
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// TestMigration00009KeepsData fills a database at schema 00007 with audit
// events, applies 00009 (the audit purge gate and the index on at) and
// checks the events survived unchanged, the log still refuses UPDATE and
// DELETE, and the gate is closed.
func TestMigration00009KeepsData(t *testing.T) {
	for _, tc := range dialects {
		t.Run(tc.name, func(t *testing.T) {
			ctx, d := openAtVersion(t, tc.dsn, 7)
			at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, kind := range []string{"token.created", "token.invalidated"} {
				if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO audit_events (at, kind, subject_type, subject_id, data)
					VALUES (?, ?, 'api_token', '42', '{"k":"v"}')`), at, kind); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.MigrateUpTo(ctx, d, 9); err != nil {
				t.Fatalf("migrate to 00009: %v", err)
			}
			var rows []struct {
				At   time.Time `db:"at"`
				Kind string    `db:"kind"`
				Data string    `db:"data"`
			}
			if err := d.SelectContext(ctx, &rows, `SELECT at, kind, data FROM audit_events ORDER BY id`); err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Kind != "token.created" || rows[1].Kind != "token.invalidated" ||
				!rows[0].At.Equal(at) || rows[1].Data != `{"k":"v"}` {
				t.Fatalf("audit events after 00009 = %+v", rows)
			}
			for _, q := range []string{`UPDATE audit_events SET kind = 'x'`, `DELETE FROM audit_events`} {
				if _, err := d.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("after 00009, %s: err = %v, want the append-only refusal", q, err)
				}
			}
			var open bool
			if err := d.GetContext(ctx, &open, `SELECT open FROM audit_purge_gate WHERE id = 1`); err != nil || open {
				t.Errorf("gate open = %v, %v; want closed", open, err)
			}
			// And back down: 00009's Down restores the unconditional refusal.
			if err := db.MigrateDownTo(ctx, d, 7); err != nil {
				t.Fatalf("down to 00007: %v", err)
			}
			if _, err := d.ExecContext(ctx, `DELETE FROM audit_events`); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("after 00009 down, DELETE: err = %v, want the append-only refusal", err)
			}
		})
	}
}
