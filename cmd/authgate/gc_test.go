package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestGCCommand: on both databases, `authgate gc --dry-run` counts and
// deletes nothing; `authgate gc` deletes the expired codes and tokens, DPoP
// proof ids and audit events past audit.retention (in batches of
// gc.batch_size), keeps the live rows, and prints the count per table; a
// second run deletes nothing.
func TestGCCommand(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dsn := dbtest.SQLiteDSN(t)
			if dialect == "postgres" {
				dsn = dbtest.PostgresDSN(t)
			}
			ctx := context.Background()
			environ := []string{"AUTHGATE_AUDIT__RETENTION=720h", "AUTHGATE_GC__BATCH_SIZE=2"}
			gc := func(args ...string) (int, string, string) {
				var out, errOut bytes.Buffer
				code := run(ctx, append(append([]string{"gc"}, args...), "--database-url", dsn),
					stdio{in: strings.NewReader(""), out: &out, err: &errOut, environ: environ})
				return code, out.String(), errOut.String()
			}
			if code, _, errOut := runCLI(t, "", "migrate", "--database-url", dsn); code != 0 {
				t.Fatalf("migrate: %s", errOut)
			}
			d, err := db.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			now := time.Now().UTC()
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := d.ExecContext(ctx, d.Rebind(q), args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			exec(`INSERT INTO oauth_clients (client_id, name, scopes, created_at, updated_at) VALUES ('agci_gc', 'gc', '[]', ?, ?)`, now, now)
			// 3 expired and 2 live rows in each table; audit: 5 past the
			// retention, 2 within it.
			for i, exp := range []time.Duration{-48 * time.Hour, -2 * time.Hour, -2 * time.Minute, time.Hour, 24 * time.Hour} {
				exec(`INSERT INTO oauth_tokens (kind, digest, grant_id, client_id, grant_created_at, created_at, expires_at)
					VALUES ('access', ?, ?, 'agci_gc', ?, ?, ?)`, fmt.Sprintf("digest-%d", i), fmt.Sprintf("grant-%d", i), now, now, now.Add(exp))
				exec(`INSERT INTO dpop_jtis (jti_key, expires_at) VALUES (?, ?)`, fmt.Sprintf("jti-%d", i), now.Add(exp))
			}
			for i, age := range []time.Duration{400, 100, 40, 35, 31, 29, 1} {
				exec(`INSERT INTO audit_events (at, kind, subject_type, subject_id, data) VALUES (?, 'gc.test', 'thing', ?, '{}')`,
					now.Add(-age*24*time.Hour), fmt.Sprint(i))
			}
			count := func(table string) int {
				t.Helper()
				var n int
				if err := d.GetContext(ctx, &n, `SELECT COUNT(*) FROM `+table); err != nil {
					t.Fatal(err)
				}
				return n
			}
			lines := func(out string) map[string]string {
				m := map[string]string{}
				for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
					f := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), 2)
					m[f[0]] = f[1]
				}
				return m
			}

			code, out, errOut := gc("--dry-run")
			if code != 0 || !strings.HasPrefix(out, "TABLE") || !strings.Contains(out, "WOULD DELETE") {
				t.Fatalf("gc --dry-run: code %d\n%s\n%s", code, out, errOut)
			}
			if got := lines(out); got["audit_events"] != "5" || got["oauth_tokens"] != "?" || got["dpop_jtis"] != "?" {
				t.Errorf("gc --dry-run counts = %v", got)
			}
			if count("oauth_tokens") != 5 || count("dpop_jtis") != 5 || count("audit_events") != 7 {
				t.Fatal("gc --dry-run deleted rows")
			}

			code, out, errOut = gc()
			if code != 0 || !strings.Contains(out, "DELETED") {
				t.Fatalf("gc: code %d\n%s\n%s", code, out, errOut)
			}
			want := map[string]string{"dpop_jtis": "3", "oauth_tokens": "3", "audit_events": "5"}
			if got := lines(out); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("gc printed %v, want %v:\n%s", got, want, out)
			}
			if count("oauth_tokens") != 2 || count("dpop_jtis") != 2 || count("audit_events") != 2 {
				t.Errorf("after gc: %d oauth_tokens, %d dpop_jtis, %d audit_events; want 2, 2, 2",
					count("oauth_tokens"), count("dpop_jtis"), count("audit_events"))
			}
			var old int
			if err := d.GetContext(ctx, &old, d.Rebind(`SELECT COUNT(*) FROM audit_events WHERE at < ?`), now.Add(-30*24*time.Hour)); err != nil || old != 0 {
				t.Errorf("%d audit events older than the 30-day retention survived (%v)", old, err)
			}

			code, out, _ = gc("--output", "json")
			if code != 0 || strings.Count(out, `"deleted": 0`) != 3 {
				t.Errorf("second gc: code %d, want nothing deleted:\n%s", code, out)
			}
		})
	}
}
