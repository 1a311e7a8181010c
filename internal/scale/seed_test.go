package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// Counts is what Seed writes for a size of n: n API tokens and n OAuth
// tokens, one user per ten API tokens, one client per thousand OAuth
// tokens, a revoked JWT id per twenty OAuth tokens and an audit event per
// two. The proportions of expired rows (what `authgate gc` deletes) are in
// Expired.
type Counts struct {
	Users, APITokens, Clients, OAuthTokens, RevokedJTIs, Audit int
}

// CountsFor returns the rows Seed writes for n.
func CountsFor(n int) Counts {
	return Counts{Users: max(n/10, 10), APITokens: n, Clients: max(n/1000, 5), OAuthTokens: n,
		RevokedJTIs: n / 20, Audit: n / 2}
}

// Expired is how many rows of c a sweep at the seed's now deletes, per
// table as GCTables names them: a fifth of the OAuth tokens (every code,
// consumed, and tokens past their expiry) with half the revoked JWT ids,
// and a fifth of the audit events (older than auditAge, past a retention
// of a year).
func (c Counts) Expired() (oauthTokens, audit int) {
	return multiples(c.OAuthTokens, 5) + multiples(c.RevokedJTIs, 2), multiples(c.Audit, 5)
}

// multiples counts the i in 1..n with i % k == 0.
func multiples(n, k int) int { return n / k }

// auditAge is the age of the audit events meant to be past retention.
const auditAge = 400 * 24 * time.Hour

// Seed writes CountsFor(n) rows in one INSERT … SELECT per table over a
// generated series (generate_series on PostgreSQL, a recursive CTE on
// SQLite): no HTTP, no per-row round trip. Names start with "scale-", so
// they cannot collide with what a test creates. Digests are 64 hex
// characters (random on SQLite, md5-derived on PostgreSQL), the shape the
// stores write. Times are bound parameters, so each driver writes them in
// its own format and the stores' comparisons hold. On PostgreSQL it runs
// ANALYZE afterwards, as autovacuum would within a minute; SQLite gets no
// statistics, as in production, and a checkpoint of its WAL.
//
// The seeding connection's page cache is reset to SQLite's default
// (2 MB, -2000) before it goes back to the pool.
func Seed(ctx context.Context, d *db.DB, n int, now time.Time) error {
	c := CountsFor(n)
	now = now.UTC()
	past, future := now.Add(-2*time.Hour), now.Add(30*24*time.Hour)
	ts := "?"
	if d.Dialect == db.Postgres {
		ts = "CAST(? AS TIMESTAMPTZ)"
	}
	conn, err := d.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.Dialect == db.SQLite {
		// Random digests land all over each index: with SQLite's default
		// 2 MB page cache, every insert would read and write pages. The
		// seeding connection gets 512 MB, and the default back after.
		if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -524288`); err != nil {
			return err
		}
		defer conn.ExecContext(context.Background(), `PRAGMA cache_size = -2000`) //nolint:errcheck // best effort
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	exec := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("seed %s: %w", what, err)
		}
		return nil
	}
	if err := exec("users", `INSERT INTO users (username, email, password_hash, is_admin, is_active, created_at, updated_at)
		SELECT 'scale-u' || CAST(g.i AS TEXT), 'scale-u' || CAST(g.i AS TEXT) || '@example.com', '', FALSE, TRUE, `+ts+`, `+ts+`
		FROM `+series(d, c.Users), now, now); err != nil {
		return err
	}
	var first, last int64
	if err := tx.QueryRowxContext(ctx, `SELECT MIN(id), MAX(id) FROM users WHERE username LIKE 'scale-u%'`).Scan(&first, &last); err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	if last-first+1 != int64(c.Users) {
		return fmt.Errorf("seed users: ids %d..%d are not %d consecutive ids", first, last, c.Users)
	}
	user := fmt.Sprintf("(%d + g.i %% %d)", first, c.Users)
	// API tokens: a tenth expired, a tenth expiring later, a twentieth
	// invalidated, a third used once.
	if err := exec("api_tokens", `INSERT INTO api_tokens (user_id, token_digest, token_prefix, token_generator_id,
			time_added, last_updated, last_used, expires, valid, invalid_date, invalid_reason)
		SELECT `+user+`, `+hexDigest(d, "a")+`, 'agp_scale', 'vendor_signature_v1', `+ts+`, `+ts+`,
			CASE WHEN g.i % 3 = 0 THEN `+ts+` END,
			CASE WHEN g.i % 10 = 0 THEN `+ts+` WHEN g.i % 10 = 1 THEN `+ts+` END,
			(g.i % 20 <> 0), CASE WHEN g.i % 20 = 0 THEN `+ts+` END, CASE WHEN g.i % 20 = 0 THEN 'scale' ELSE '' END
		FROM `+series(d, c.APITokens), now, now, now, past, future, now); err != nil {
		return err
	}
	if err := exec("oauth_clients", `INSERT INTO oauth_clients (client_id, secret_digest, secret_prefix, name,
			redirect_uris, grant_types, scopes, created_at, updated_at)
		SELECT 'scale-c' || CAST(g.i AS TEXT), `+hexDigest(d, "c")+`, '', 'scale client ' || CAST(g.i AS TEXT),
			'["https://app.example.com/cb"]', '["authorization_code","refresh_token","client_credentials"]',
			'["session:read"]', `+ts+`, `+ts+`
		FROM `+series(d, c.Clients), now, now); err != nil {
		return err
	}
	// OAuth tokens: a tenth codes (consumed, expired), three tenths refresh
	// tokens, the rest JWT access tokens (with a jti), a fifth of the users'
	// rows client_credentials (no user); three rows a grant; a fifth past
	// expiry; one in fifty revoked.
	if err := exec("oauth_tokens", `INSERT INTO oauth_tokens (kind, digest, jti, prefix, grant_id, client_id, user_id,
			scope, grant_created_at, created_at, expires_at, consumed_at, revoked_at)
		SELECT CASE WHEN g.i % 10 = 0 THEN 'code' WHEN g.i % 10 < 4 THEN 'refresh' ELSE 'access' END,
			`+hexDigest(d, "o")+`,
			CASE WHEN g.i % 10 >= 4 THEN 'scale-j' || CAST(g.i AS TEXT) END,
			'', 'scale-g' || CAST(g.i / 3 AS TEXT), 'scale-c' || CAST(1 + g.i % `+fmt.Sprint(c.Clients)+` AS TEXT),
			CASE WHEN g.i % 10 < 8 THEN `+user+` END, 'session:read', `+ts+`, `+ts+`,
			CASE WHEN g.i % 5 = 0 THEN `+ts+` ELSE `+ts+` END,
			CASE WHEN g.i % 10 = 0 THEN `+ts+` END, CASE WHEN g.i % 50 = 7 THEN `+ts+` END
		FROM `+series(d, c.OAuthTokens), now, now, past, future, past, now); err != nil {
		return err
	}
	if err := exec("revoked_jti", `INSERT INTO revoked_jti (jti, expires_at, revoked_at)
		SELECT 'scale-rj' || CAST(g.i AS TEXT), CASE WHEN g.i % 2 = 0 THEN `+ts+` ELSE `+ts+` END, `+ts+`
		FROM `+series(d, c.RevokedJTIs), past, future, now); err != nil {
		return err
	}
	// On PostgreSQL the events are a second apart, as a real log's are (an
	// ORDER BY at, id then finds few ties); SQLite's index on at holds the
	// rowid, so ties cost nothing there, and its times stay bound values.
	spread := ""
	if d.Dialect == db.Postgres {
		spread = " - g.i * INTERVAL '1 second'"
	}
	if err := exec("audit_events", `INSERT INTO audit_events (at, kind, actor_user_id, subject_type, subject_id, data)
		SELECT CASE WHEN g.i % 5 = 0 THEN `+ts+spread+` ELSE `+ts+spread+` END,
			CASE WHEN g.i % 2 = 0 THEN 'api_token.created' ELSE 'oauth.token_revoked' END,
			`+user+`, 'api_token', CAST(g.i AS TEXT), '{}'
		FROM `+series(d, c.Audit), now.Add(-auditAge), now.Add(-time.Hour)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if d.Dialect == db.Postgres {
		if _, err := d.ExecContext(ctx, `ANALYZE`); err != nil {
			return fmt.Errorf("seed: analyze: %w", err)
		}
		return nil
	}
	// One transaction of a million rows leaves them all in the WAL, and
	// until a checkpoint copies them into the database file every page a
	// reader needs is looked up in the WAL's index first. A database that
	// grew over months was checkpointed all along (SQLite does so every
	// 1,000 pages written): start from that.
	if _, err := d.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("seed: checkpoint: %w", err)
	}
	return nil
}

// series is a FROM item yielding g.i = 1..n. n is an int, formatted, never
// user input.
func series(d *db.DB, n int) string {
	if d.Dialect == db.Postgres {
		return fmt.Sprintf("generate_series(1, %d) AS g(i)", n)
	}
	return fmt.Sprintf("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) SELECT i FROM s) AS g", n)
}

// hexDigest is an expression of 64 hex characters, unique per g.i and
// salt.
func hexDigest(d *db.DB, salt string) string {
	if d.Dialect == db.Postgres {
		return fmt.Sprintf("md5('%[1]s' || CAST(g.i AS TEXT)) || md5('%[1]s2' || CAST(g.i AS TEXT))", salt)
	}
	return "lower(hex(randomblob(32)))"
}
