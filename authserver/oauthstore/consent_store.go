package oauthstore

import (
	"context"
	"errors"
	"fmt"
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
}

// NewSQLConsentStore returns a ConsentStore backed by d.
func NewSQLConsentStore(d *db.DB) *SQLConsentStore {
	return &SQLConsentStore{db: d, now: time.Now}
}

type consentRow struct {
	UserID    int64     `db:"user_id"`
	ClientID  string    `db:"client_id"`
	Scopes    string    `db:"scopes"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r consentRow) consent() (Consent, error) {
	set, err := scopes.ParseSet(r.Scopes)
	if err != nil {
		return Consent{}, fmt.Errorf("stored consent of user %d for client %q: %w", r.UserID, r.ClientID, err)
	}
	return Consent{UserID: r.UserID, ClientID: r.ClientID, Scopes: set, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}, nil
}

const consentColumns = `user_id, client_id, scopes, created_at, updated_at`

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
