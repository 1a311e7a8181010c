package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL dialect behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

func init() {
	// sqlx does not know the modernc driver name; it uses '?' like sqlite3.
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// DB is an open database handle with its dialect.
type DB struct {
	*sqlx.DB
	Dialect  Dialect
	exposed  []string  // see ExposedFiles
	stmts    stmtCache // see Prepared
	prepared Prepared  // what Prepared returns
}

// DialectOf reports which dialect a DSN selects: postgres:// and postgresql://
// URLs select PostgreSQL; anything else is a SQLite path or sqlite: URL.
func DialectOf(dsn string) Dialect {
	l := strings.ToLower(dsn)
	if strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Open connects to the database named by dsn and checks that it answers.
// It does not migrate; call Migrate for that.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("open database: empty database URL")
	}
	switch DialectOf(dsn) {
	case Postgres:
		return openPostgres(ctx, dsn)
	default:
		return openSQLite(ctx, dsn)
	}
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	x, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	d := &DB{DB: x, Dialect: Postgres}
	d.prepared.d = d
	d.SetPool(Pool{})
	if err := d.pingWithin(ctx, 10*time.Second); err != nil {
		x.Close()
		return nil, fmt.Errorf("open postgres %s: %w", Redact(dsn), err)
	}
	return d, nil
}

// sqliteDSN turns a path or sqlite: URL into a modernc DSN with the pragmas we
// rely on: WAL, foreign keys, a busy timeout, and a time format that
// round-trips time.Time.
func sqliteDSN(dsn string) (full, path string, err error) {
	path, query := dsn, ""
	if strings.HasPrefix(dsn, "sqlite:") {
		rest := strings.TrimPrefix(dsn, "sqlite:")
		rest = strings.TrimPrefix(rest, "//")
		path, query, _ = strings.Cut(rest, "?")
	} else if p, q, ok := strings.Cut(dsn, "?"); ok {
		path, query = p, q
	}
	if path == "" {
		return "", "", errors.New("sqlite database URL has no path")
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return "", "", fmt.Errorf("sqlite database URL query: %w", err)
	}
	memory := path == ":memory:" || strings.Contains(path, "mode=memory") || vals.Get("mode") == "memory"
	if !memory {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return "", "", fmt.Errorf("create database directory: %w", err)
			}
		}
		vals.Add("_pragma", "journal_mode(WAL)")
	}
	vals.Add("_pragma", "foreign_keys(1)")
	vals.Add("_pragma", "busy_timeout(10000)")
	vals.Add("_pragma", "synchronous(NORMAL)")
	vals.Set("_time_format", "sqlite")
	vals.Set("_txlock", "immediate")
	if memory {
		return "file:" + path + "?" + vals.Encode(), "", nil
	}
	return "file:" + path + "?" + vals.Encode(), path, nil
}

func openSQLite(ctx context.Context, dsn string) (*DB, error) {
	full, path, err := sqliteDSN(dsn)
	if err != nil {
		return nil, err
	}
	var exposed []string
	if path != "" {
		if exposed, err = prepareSQLiteFile(path); err != nil {
			return nil, err
		}
	}
	x, err := sqlx.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	d := &DB{DB: x, Dialect: SQLite, exposed: exposed}
	d.prepared.d = d
	d.SetPool(Pool{}) // see DefaultPool
	if err := d.pingWithin(ctx, 10*time.Second); err != nil {
		x.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
	}
	return d, nil
}

func (d *DB) pingWithin(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return d.PingContext(ctx)
}

// Ping reports whether the database answers a trivial query within the
// context's deadline. It is what /readyz uses.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.QueryRowxContext(ctx, "SELECT 1").Scan(&one)
}

// InTx runs fn inside a transaction, committing when fn returns nil and
// rolling back otherwise (including when fn panics).
func (d *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := d.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// Savepoint runs fn inside a savepoint of tx: when fn fails, only its work is
// rolled back and the transaction stays usable (PostgreSQL aborts the whole
// transaction on an error otherwise). name must be a plain identifier.
func Savepoint(ctx context.Context, tx *sqlx.Tx, name string, fn func() error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint %s: %w", name, err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint %s: %w", name, rerr))
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint %s: %w", name, err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either dialect.
func IsUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// UniqueConstraint returns the name of the violated constraint (PostgreSQL)
// or the message naming the columns (SQLite), for telling which unique index
// failed. It returns "" for other errors.
func UniqueConstraint(err error) string {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		return pqErr.Constraint
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) && IsUniqueViolation(err) {
		return sqErr.Error()
	}
	return ""
}

// IsNoRows reports whether err is sql.ErrNoRows.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Redact hides the password of a database URL for logs and messages. A URL
// that does not parse still has everything between "://" and the last "@"
// replaced, and a key=value DSN its password value: an error message must
// not carry the password because the DSN was malformed. See
// docs/faults-and-fuzzing.md, "Redacting DSNs".
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return redactUnparsed(dsn)
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", redacted)
		u.RawQuery = q.Encode()
	}
	if u.Scheme == "" && u.User == nil && u.Host == "" {
		return redactKeyValue(dsn) // "host=… password=…" (lib/pq's other form)
	}
	return u.String()
}

const redacted = "xxxxx"

// redactUnparsed replaces the userinfo of a URL url.Parse refused.
func redactUnparsed(dsn string) string {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return redactKeyValue(dsn)
	}
	rest := dsn[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return redactKeyValue(dsn)
	}
	return dsn[:i+3] + redacted + rest[at:]
}

var keyValuePassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// redactKeyValue hides password=VALUE (quoted or not) in a key=value DSN.
func redactKeyValue(dsn string) string {
	return keyValuePassword.ReplaceAllString(dsn, "${1}"+redacted)
}
