package tokens

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
)

// SQLStore implements Store on internal/db (SQLite and PostgreSQL).
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a Store backed by d, which must be migrated.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

var _ Store = (*SQLStore)(nil)

const tokenColumns = `t.id, t.user_id, t.token_digest, t.token_prefix, t.token_generator_id,
	t.time_added, t.last_updated, t.last_used, t.expires, t.valid, t.invalid_date, t.invalid_reason,
	t.note, t.policy, t.extra_data, t.expired_event_sent`

// tokenFrom names api_tokens only: the owner's username and state come
// from internal/users, the one package that reads the users table (see
// docs/architecture.md, "Table owners").
const tokenFrom = ` FROM api_tokens t`

// tokenRow is one api_tokens row; Username is filled in from
// internal/users by withOwners.
type tokenRow struct {
	ID               int64        `db:"id"`
	UserID           int64        `db:"user_id"`
	Username         string       `db:"-"`
	Digest           string       `db:"token_digest"`
	Prefix           string       `db:"token_prefix"`
	GeneratorID      string       `db:"token_generator_id"`
	TimeAdded        time.Time    `db:"time_added"`
	LastUpdated      time.Time    `db:"last_updated"`
	LastUsed         sql.NullTime `db:"last_used"`
	Expires          sql.NullTime `db:"expires"`
	Valid            bool         `db:"valid"`
	InvalidDate      sql.NullTime `db:"invalid_date"`
	InvalidReason    string       `db:"invalid_reason"`
	Note             string       `db:"note"`
	Policy           string       `db:"policy"`
	ExtraData        string       `db:"extra_data"`
	ExpiredEventSent bool         `db:"expired_event_sent"`
}

func nullTimePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}

func toNullTime(p *time.Time) sql.NullTime {
	if p == nil {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: dbTime(*p), Valid: true}
}

func (r *tokenRow) token() *Token {
	return &Token{
		ID:               r.ID,
		UserID:           r.UserID,
		Username:         r.Username,
		Prefix:           r.Prefix,
		GeneratorID:      r.GeneratorID,
		TimeAdded:        r.TimeAdded.UTC(),
		LastUpdated:      r.LastUpdated.UTC(),
		LastUsed:         nullTimePtr(r.LastUsed),
		Expires:          nullTimePtr(r.Expires),
		Valid:            r.Valid,
		InvalidDate:      nullTimePtr(r.InvalidDate),
		InvalidReason:    r.InvalidReason,
		Note:             r.Note,
		Policy:           json.RawMessage(r.Policy),
		ExtraData:        json.RawMessage(r.ExtraData),
		ExpiredEventSent: r.ExpiredEventSent,
	}
}

// InTx implements Store.
func (s *SQLStore) InTx(ctx context.Context, fn func(tx StoreTx) error) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return fn(&sqlTx{db: s.db, tx: tx})
	})
}

// InTxAnnounce implements Store. p must publish on this store's database.
func (s *SQLStore) InTxAnnounce(ctx context.Context, p Publisher, kind, id string, fn func(tx StoreTx) error) error {
	return p.PublishInTx(ctx, kind, id, func(tx *sqlx.Tx) error {
		return fn(&sqlTx{db: s.db, tx: tx})
	})
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, id int64) (*Token, error) {
	return getToken(ctx, s.db, s.db, id, "")
}

func getToken(ctx context.Context, d *db.DB, q sqlx.ExtContext, id int64, suffix string) (*Token, error) {
	var r tokenRow
	err := sqlx.GetContext(ctx, q, &r, d.Rebind(`SELECT `+tokenColumns+tokenFrom+` WHERE t.id = ?`+suffix), id)
	if db.IsNoRows(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load api token %d: %w", id, err)
	}
	st, err := users.StatusIn(ctx, q, r.UserID)
	if errors.Is(err, users.ErrNotFound) {
		return nil, ErrNotFound // a token without an owner is not served
	}
	if err != nil {
		return nil, fmt.Errorf("load api token %d: %w", id, err)
	}
	r.Username = st.Username
	return r.token(), nil
}

// withOwners fills in each row's Username with one query for all owners
// and returns the tokens of the rows whose owner exists, in order.
func withOwners(ctx context.Context, q sqlx.ExtContext, rows []tokenRow) ([]*Token, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	var ids []int64
	for _, r := range rows {
		if !slices.Contains(ids, r.UserID) {
			ids = append(ids, r.UserID)
		}
	}
	names, err := users.UsernamesIn(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*Token, 0, len(rows))
	for i := range rows {
		name, ok := names[rows[i].UserID]
		if !ok {
			continue // a token without an owner is not served
		}
		rows[i].Username = name
		out = append(out, rows[i].token())
	}
	return out, nil
}

// List implements Store.
func (s *SQLStore) List(ctx context.Context, userID int64) ([]*Token, error) {
	var rows []tokenRow
	q := s.db.Rebind(`SELECT ` + tokenColumns + tokenFrom + ` WHERE t.user_id = ? ORDER BY t.id`)
	if err := s.db.SelectContext(ctx, &rows, q, userID); err != nil {
		return nil, fmt.Errorf("list api tokens of user %d: %w", userID, err)
	}
	out, err := withOwners(ctx, s.db, rows)
	if err != nil {
		return nil, fmt.Errorf("list api tokens of user %d: %w", userID, err)
	}
	if out == nil {
		out = []*Token{}
	}
	return out, nil
}

// LookupDigest implements Store: the token row, then its owner from
// internal/users (two primary-key reads; the authentication cache answers
// repeats without either).
func (s *SQLStore) LookupDigest(ctx context.Context, digest string) (*Lookup, error) {
	var r tokenRow
	err := s.db.Prepared().GetContext(ctx, &r, s.db.Rebind(`SELECT `+tokenColumns+tokenFrom+` WHERE t.token_digest = ?`), digest)
	if db.IsNoRows(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("look up api token: %w", err)
	}
	owner, err := users.GetIn(ctx, s.db.Prepared(), r.UserID)
	if errors.Is(err, users.ErrNotFound) {
		return nil, ErrNotFound // a token without an owner is not served
	}
	if err != nil {
		return nil, fmt.Errorf("look up api token: %w", err)
	}
	r.Username = owner.Username
	return &Lookup{Token: r.token(), Digest: r.Digest, Owner: owner}, nil
}

// ListAuditEvents implements Store with audit.List.
func (s *SQLStore) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	return audit.List(ctx, s.db, f)
}

// sqlTx implements StoreTx.
type sqlTx struct {
	db *db.DB
	tx *sqlx.Tx
}

// Savepoint implements StoreTx.
func (t *sqlTx) Savepoint(ctx context.Context, name string, fn func() error) error {
	return db.Savepoint(ctx, t.tx, name, fn)
}

// Insert implements StoreTx.
func (t *sqlTx) Insert(ctx context.Context, tok *Token, digest string) error {
	q := t.db.Rebind(`INSERT INTO api_tokens (user_id, token_digest, token_prefix, token_generator_id,
		time_added, last_updated, last_used, expires, valid, invalid_date, invalid_reason, note, policy,
		extra_data, expired_event_sent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`)
	var id int64
	err := t.tx.QueryRowxContext(ctx, q, tok.UserID, digest, tok.Prefix, tok.GeneratorID,
		dbTime(tok.TimeAdded), dbTime(tok.LastUpdated), toNullTime(tok.LastUsed), toNullTime(tok.Expires),
		tok.Valid, toNullTime(tok.InvalidDate), tok.InvalidReason, tok.Note, string(tok.Policy),
		string(tok.ExtraData), tok.ExpiredEventSent).Scan(&id)
	// Only the digest's own unique violation is a collision; any other
	// constraint failure is a real error
	// (docs/api-tokens.md, "Deliberate differences", fixing Djblets (see
	// docs/api-tokens.md, "Manager operations")).
	if db.IsUniqueViolation(err) && strings.Contains(db.UniqueConstraint(err), "token_digest") {
		return ErrDuplicateDigest
	}
	if err != nil {
		return fmt.Errorf("insert api token: %w", err)
	}
	tok.ID = id
	return nil
}

// Get implements StoreTx.
func (t *sqlTx) Get(ctx context.Context, id int64) (*Token, error) {
	lock := ""
	if t.db.Dialect == db.Postgres {
		lock = ` FOR UPDATE OF t` // SQLite's BEGIN IMMEDIATE already excludes other writers
	}
	return getToken(ctx, t.db, t.tx, id, lock)
}

// Update implements StoreTx.
func (t *sqlTx) Update(ctx context.Context, tok *Token) error {
	q := t.db.Rebind(`UPDATE api_tokens SET note = ?, policy = ?, extra_data = ?, expires = ?, valid = ?,
		invalid_date = ?, invalid_reason = ?, last_updated = ?, expired_event_sent = ? WHERE id = ?`)
	res, err := t.tx.ExecContext(ctx, q, tok.Note, string(tok.Policy), string(tok.ExtraData),
		toNullTime(tok.Expires), tok.Valid, toNullTime(tok.InvalidDate), tok.InvalidReason,
		dbTime(tok.LastUpdated), tok.ExpiredEventSent, tok.ID)
	if err != nil {
		return fmt.Errorf("update api token %d: %w", tok.ID, err)
	}
	return requireOne(res, tok.ID)
}

func requireOne(res sql.Result, id int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("api token %d: rows affected: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// inChunk bounds the size of IN (...) lists (SQLite allows 32766 bound
// parameters, PostgreSQL 65535; stay far below both).
const inChunk = 500

// Invalidate implements StoreTx.
func (t *sqlTx) Invalidate(ctx context.Context, scope InvalidateScope, at time.Time, reason string) ([]*Token, error) {
	// docs/api-tokens.md, "Deliberate differences": only still-valid tokens are
	// touched, so an already invalid
	// token keeps its first date and reason; last_updated is left alone as
	// in Djblets' bulk update (docs/api-tokens.md, "Manager operations").
	const set = `UPDATE api_tokens SET valid = ?, invalid_date = ?, invalid_reason = ? WHERE valid = ?`
	if !scope.selects() {
		return nil, nil
	}
	at = dbTime(at)
	filter, fargs := t.scopeFilter(scope, at)
	var ids []int64
	run := func(cond string, args ...any) error {
		var got []int64
		q := t.db.Rebind(set + cond + filter + ` RETURNING id`)
		all := append(append([]any{false, at, reason, true}, args...), fargs...)
		if err := t.tx.SelectContext(ctx, &got, q, all...); err != nil {
			return fmt.Errorf("invalidate api tokens: %w", err)
		}
		ids = append(ids, got...)
		return nil
	}
	switch {
	case scope.All:
		if err := run(""); err != nil {
			return nil, err
		}
	case scope.TokenID != 0:
		if err := run(` AND id = ?`, scope.TokenID); err != nil {
			return nil, err
		}
	default:
		for chunk := range chunks(scope.UserIDs) {
			cond, args, err := sqlx.In(` AND user_id IN (?)`, chunk)
			if err != nil {
				return nil, fmt.Errorf("invalidate api tokens: %w", err)
			}
			if err := run(cond, args...); err != nil {
				return nil, err
			}
		}
	}
	slices.Sort(ids)
	return t.loadMany(ctx, ids)
}

// scopeFilter returns the SQL conditions (each starting with " AND ") and
// arguments of scope's filters. The note test is a plain substring search
// (instr/strpos), so it is case sensitive on both databases and "%" or "_"
// in the text are not wildcards.
func (t *sqlTx) scopeFilter(s InvalidateScope, at time.Time) (string, []any) {
	var b strings.Builder
	var args []any
	if s.NoteContains != "" {
		if t.db.Dialect == db.Postgres {
			b.WriteString(` AND strpos(note, ?) > 0`)
		} else {
			b.WriteString(` AND instr(note, ?) > 0`)
		}
		args = append(args, s.NoteContains)
	}
	if s.GeneratorID != "" {
		b.WriteString(` AND token_generator_id = ?`)
		args = append(args, s.GeneratorID)
	}
	if s.CreatedBefore != nil {
		b.WriteString(` AND time_added < ?`)
		args = append(args, dbTime(*s.CreatedBefore))
	}
	if s.CreatedAfter != nil {
		b.WriteString(` AND time_added > ?`)
		args = append(args, dbTime(*s.CreatedAfter))
	}
	if s.OnlyUnexpired {
		b.WriteString(` AND (expires IS NULL OR expires > ?)`)
		args = append(args, at)
	}
	return b.String(), args
}

func chunks(ids []int64) func(func([]int64) bool) {
	return func(yield func([]int64) bool) {
		for len(ids) > 0 {
			n := min(len(ids), inChunk)
			if !yield(ids[:n]) {
				return
			}
			ids = ids[n:]
		}
	}
}

// loadMany loads tokens by ID, ordered by ID.
func (t *sqlTx) loadMany(ctx context.Context, ids []int64) ([]*Token, error) {
	var out []*Token
	for chunk := range chunks(ids) {
		q, args, err := sqlx.In(`SELECT `+tokenColumns+tokenFrom+` WHERE t.id IN (?) ORDER BY t.id`, chunk)
		if err != nil {
			return nil, fmt.Errorf("load api tokens: %w", err)
		}
		var rows []tokenRow
		if err := t.tx.SelectContext(ctx, &rows, t.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("load api tokens: %w", err)
		}
		toks, err := withOwners(ctx, t.tx, rows)
		if err != nil {
			return nil, fmt.Errorf("load api tokens: %w", err)
		}
		out = append(out, toks...)
	}
	return out, nil
}

// Delete implements StoreTx.
func (t *sqlTx) Delete(ctx context.Context, id int64) error {
	res, err := t.tx.ExecContext(ctx, t.db.Rebind(`DELETE FROM api_tokens WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete api token %d: %w", id, err)
	}
	return requireOne(res, id)
}

// MarkUsed implements StoreTx.
func (t *sqlTx) MarkUsed(ctx context.Context, id int64, at, staleBefore time.Time) (bool, error) {
	q := t.db.Rebind(`UPDATE api_tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used <= ?)`)
	res, err := t.tx.ExecContext(ctx, q, dbTime(at), id, dbTime(staleBefore))
	if err != nil {
		return false, fmt.Errorf("record use of api token %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record use of api token %d: %w", id, err)
	}
	return n == 1, nil
}

// MarkExpiredEventSent implements StoreTx.
func (t *sqlTx) MarkExpiredEventSent(ctx context.Context, id int64) (bool, error) {
	q := t.db.Rebind(`UPDATE api_tokens SET expired_event_sent = ? WHERE id = ? AND expired_event_sent = ?`)
	res, err := t.tx.ExecContext(ctx, q, true, id, false)
	if err != nil {
		return false, fmt.Errorf("mark api token %d expired: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark api token %d expired: %w", id, err)
	}
	return n == 1, nil
}

// AppendAuditEvent implements StoreTx with audit.Append, in the
// transaction.
func (t *sqlTx) AppendAuditEvent(ctx context.Context, e *AuditEvent) error {
	return audit.Append(ctx, t.tx, e)
}
