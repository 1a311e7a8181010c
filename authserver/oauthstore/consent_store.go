package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/scopes"
)

// Consent is what a user approved for a client on the consent page: the
// union of every scope set they have approved for it.
type Consent struct {
	UserID    int64
	ClientID  string
	Scopes    scopes.Set
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastUsedAt is when a token of this grant was last issued or
	// refreshed, to the minute (MarkUsed); nil: not since it was recorded.
	LastUsedAt *time.Time
}

// Covers reports whether requested needs no new consent: a subset of what was
// approved skips the consent page, a superset asks again.
func (c Consent) Covers(requested scopes.Set) bool { return requested.SubsetOf(c.Scopes) }

// ErrConsentNotFound is returned when a user has not approved a client.
var ErrConsentNotFound = errors.New("consent not found")

// ConsentStore remembers consents per (user, client).
type ConsentStore interface {
	// Get returns the user's consent for the client, ErrConsentNotFound if none.
	Get(ctx context.Context, userID int64, clientID string) (Consent, error)
	// Grant adds scopes to the user's consent for the client (creating it)
	// and returns the result.
	Grant(ctx context.Context, userID int64, clientID string, s scopes.Set) (Consent, error)
	// ListByUser returns every consent of a user, ordered by client ID.
	ListByUser(ctx context.Context, userID int64) ([]Consent, error)
	// Revoke deletes the user's consent for the client, ErrConsentNotFound if none.
	Revoke(ctx context.Context, userID int64, clientID string) error
}

// SQLConsentStore implements ConsentStore on internal/db.
type SQLConsentStore struct {
	db  *db.DB
	now func() time.Time

	// marked remembers, per (user, client), when this process last wrote
	// a last use, so MarkUsed skips the database within UsedEvery.
	mu     sync.Mutex
	marked map[consentKey]time.Time
}

type consentKey struct {
	userID   int64
	clientID string
}

// maxMarked bounds marked; past it the map starts over (a skipped write
// only costs the one UPDATE that would have happened anyway).
const maxMarked = 10000

// NewSQLConsentStore returns a ConsentStore backed by d.
func NewSQLConsentStore(d *db.DB) *SQLConsentStore { return NewSQLConsentStoreWith(d, nil) }

// NewSQLConsentStoreWith is NewSQLConsentStore on the clock now (nil:
// time.Now).
func NewSQLConsentStoreWith(d *db.DB, now func() time.Time) *SQLConsentStore {
	if now == nil {
		now = time.Now
	}
	return &SQLConsentStore{db: d, now: now, marked: map[consentKey]time.Time{}}
}

type consentRow struct {
	UserID    int64        `db:"user_id"`
	ClientID  string       `db:"client_id"`
	Scopes    string       `db:"scopes"`
	CreatedAt time.Time    `db:"created_at"`
	UpdatedAt time.Time    `db:"updated_at"`
	LastUsed  sql.NullTime `db:"last_used_at"`
}

func (r consentRow) consent() (Consent, error) {
	set, err := scopes.ParseSet(r.Scopes)
	if err != nil {
		return Consent{}, fmt.Errorf("stored consent of user %d for client %q: %w", r.UserID, r.ClientID, err)
	}
	c := Consent{UserID: r.UserID, ClientID: r.ClientID, Scopes: set, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.LastUsed.Valid {
		t := r.LastUsed.Time.UTC()
		c.LastUsedAt = &t
	}
	return c, nil
}

const consentColumns = `user_id, client_id, scopes, created_at, updated_at, last_used_at`

type consentQuerier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

func (s *SQLConsentStore) get(ctx context.Context, q consentQuerier, userID int64, clientID, suffix string) (Consent, error) {
	var row consentRow
	err := q.GetContext(ctx, &row, s.db.Rebind(`SELECT `+consentColumns+` FROM oauth_consents WHERE user_id = ? AND client_id = ?`+suffix), userID, clientID)
	if db.IsNoRows(err) {
		return Consent{}, ErrConsentNotFound
	}
	if err != nil {
		return Consent{}, fmt.Errorf("load consent of user %d for client %q: %w", userID, clientID, err)
	}
	return row.consent()
}

// Get implements ConsentStore.
func (s *SQLConsentStore) Get(ctx context.Context, userID int64, clientID string) (Consent, error) {
	return s.get(ctx, s.db, userID, clientID, "")
}

// Grant implements ConsentStore. The read-merge-write runs in one
// transaction with the row locked (FOR UPDATE on PostgreSQL; SQLite's
// immediate transactions serialise writers), so concurrent grants never
// lose a scope.
func (s *SQLConsentStore) Grant(ctx context.Context, userID int64, clientID string, set scopes.Set) (Consent, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	var out Consent
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ins := s.db.Rebind(`INSERT INTO oauth_consents (user_id, client_id, scopes, created_at, updated_at)
			VALUES (?, ?, '', ?, ?) ON CONFLICT (user_id, client_id) DO NOTHING`)
		if _, err := tx.ExecContext(ctx, ins, userID, clientID, now, now); err != nil {
			return fmt.Errorf("grant consent of user %d for client %q: %w", userID, clientID, err)
		}
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR UPDATE"
		}
		cur, err := s.get(ctx, tx, userID, clientID, lock)
		if err != nil {
			return err
		}
		merged := cur.Scopes.Union(set)
		upd := s.db.Rebind(`UPDATE oauth_consents SET scopes = ?, updated_at = ? WHERE user_id = ? AND client_id = ?`)
		if _, err := tx.ExecContext(ctx, upd, merged.String(), now, userID, clientID); err != nil {
			return fmt.Errorf("grant consent of user %d for client %q: %w", userID, clientID, err)
		}
		cur.Scopes, cur.UpdatedAt = merged, now
		out = cur
		return nil
	})
	return out, err
}

// ListByUser implements ConsentStore.
func (s *SQLConsentStore) ListByUser(ctx context.Context, userID int64) ([]Consent, error) {
	var rows []consentRow
	q := s.db.Rebind(`SELECT ` + consentColumns + ` FROM oauth_consents WHERE user_id = ? ORDER BY client_id`)
	if err := s.db.SelectContext(ctx, &rows, q, userID); err != nil {
		return nil, fmt.Errorf("list consents of user %d: %w", userID, err)
	}
	out := make([]Consent, 0, len(rows))
	for _, r := range rows {
		c, err := r.consent()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Revoke implements ConsentStore.
func (s *SQLConsentStore) Revoke(ctx context.Context, userID int64, clientID string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM oauth_consents WHERE user_id = ? AND client_id = ?`), userID, clientID)
	if err != nil {
		return fmt.Errorf("revoke consent of user %d for client %q: %w", userID, clientID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrConsentNotFound
	}
	return nil
}

// UsedEvery is how often MarkUsed writes: a consent's last use is kept to
// this precision, so a client refreshing in a loop costs one write a
// minute, not one per token.
const UsedEvery = time.Minute

// MarkUsed records that a token of the user's grant to the client was just
// issued or refreshed. The single UPDATE writes only when the recorded use
// is older than UsedEvery (or absent), so it is safe across server
// instances; and the store remembers its own writes, so within UsedEvery a
// call costs no query at all. It reports whether it wrote. No consent (a
// consent withdrawn since) is no error: there is nothing to mark.
func (s *SQLConsentStore) MarkUsed(ctx context.Context, userID int64, clientID string) (bool, error) {
	now := s.now().UTC().Truncate(time.Second)
	key := consentKey{userID, clientID}
	s.mu.Lock()
	last, ok := s.marked[key]
	s.mu.Unlock()
	if ok && now.Sub(last) < UsedEvery && !now.Before(last) {
		return false, nil
	}
	q := s.db.Rebind(`UPDATE oauth_consents SET last_used_at = ?
		WHERE user_id = ? AND client_id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`)
	res, err := s.db.ExecContext(ctx, q, now, userID, clientID, now.Add(-UsedEvery))
	if err != nil {
		return false, fmt.Errorf("mark consent of user %d for client %q used: %w", userID, clientID, err)
	}
	n, err := res.RowsAffected()
	wrote := err == nil && n > 0
	if wrote {
		s.mu.Lock()
		if len(s.marked) >= maxMarked {
			clear(s.marked)
		}
		s.marked[key] = now
		s.mu.Unlock()
	}
	return wrote, nil
}
