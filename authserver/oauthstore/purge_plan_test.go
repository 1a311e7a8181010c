package oauthstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestPurgePlansUseExpiryIndex: on both databases, every purge batch is
// found through its table's expires_at index, so a batch reads what it
// deletes and a sweep with nothing to delete reads nothing, however many
// live rows the table holds (docs/performance.md, "Growth"). PostgreSQL
// is asked with sequential scans off: on a near-empty table it would
// rightly prefer one; the question is whether the index serves the query
// at all (with ORDER BY id it answered with the primary key instead).
func TestPurgePlansUseExpiryIndex(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, c := range []struct{ query, index string }{
			{purgeQueries[0], "oauth_tokens_expires_at"},
			{purgeQueries[1], "revoked_jti_expires_at"},
			{purgeQueries[2], "device_codes_expires_at"},
			{purgeDPoPQuery, "dpop_jtis_expires_at"},
		} {
			plan := explain(t, d, c.query, time.Now().UTC(), 500)
			if !strings.Contains(plan, c.index) {
				t.Errorf("%s\nplan does not use %s:\n%s", c.query, c.index, plan)
			}
		}
	})
}

// explain returns the plan of query (EXPLAIN QUERY PLAN on SQLite,
// EXPLAIN with sequential scans off on PostgreSQL), one line per step.
func explain(t *testing.T, d *db.DB, query string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if d.Dialect == db.Postgres {
			prefix = "EXPLAIN "
			if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, prefix+tx.Rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			var parts []string
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					parts = append(parts, string(v))
				case string:
					parts = append(parts, v)
				}
			}
			lines = append(lines, strings.Join(parts, " "))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return strings.Join(lines, "\n")
}
