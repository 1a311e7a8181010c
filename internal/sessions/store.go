package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/db"
)

// Session is one server-side session row. The session ID is not part of it:
// only the ID's digest is stored, and it is the key Store methods take.
type Session struct {
	UserID    int64     `db:"user_id"`
	CSRFToken string    `db:"csrf_token"`
	CreatedAt time.Time `db:"created_at"`
	// ExpiresAt is the absolute end of the session, whatever its activity.
	ExpiresAt time.Time `db:"expires_at"`
	// LastSeen is the last recorded activity, for the idle timeout.
	LastSeen time.Time `db:"last_seen"`
}

// ErrNotFound is returned by Store.Get and Store.Delete for an unknown digest.
var ErrNotFound = errors.New("session not found")

// Store is the storage contract for sessions. Digests are the lowercase hex
// SHA-256 of the session ID; times are UTC.
type Store interface {
	// Create inserts a session; a duplicate digest is an error.
	Create(ctx context.Context, digest string, s Session) error
	// Get loads a session, ErrNotFound when there is none.
	Get(ctx context.Context, digest string) (Session, error)
	// Touch records activity: it sets last_seen to at, and never moves it back.
	Touch(ctx context.Context, digest string, at time.Time) error
	// Delete removes one session, ErrNotFound when there is none.
	Delete(ctx context.Context, digest string) error
	// DeleteUser removes every session of a user and returns how many.
	DeleteUser(ctx context.Context, userID int64) (int64, error)
	// DeleteExpired removes sessions whose absolute expiry is at or before
	// now, or whose last activity is at or before idleBefore.
	DeleteExpired(ctx context.Context, now, idleBefore time.Time) (int64, error)
}

// SQLStore implements Store on internal/db (SQLite and PostgreSQL).
type SQLStore struct {
	db *db.DB
}

// NewSQLStore returns a Store backed by d.
func NewSQLStore(d *db.DB) *SQLStore { return &SQLStore{db: d} }

// dbTime normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so a value read back equals the value written.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Create implements Store.
func (s *SQLStore) Create(ctx context.Context, digest string, se Session) error {
	q := s.db.Rebind(`INSERT INTO sessions (id_digest, user_id, csrf_token, created_at, expires_at, last_seen)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if _, err := s.db.ExecContext(ctx, q, digest, se.UserID, se.CSRFToken,
		dbTime(se.CreatedAt), dbTime(se.ExpiresAt), dbTime(se.LastSeen)); err != nil {
		return fmt.Errorf("create session for user %d: %w", se.UserID, err)
	}
	return nil
}

// Get implements Store.
func (s *SQLStore) Get(ctx context.Context, digest string) (Session, error) {
	var se Session
	q := s.db.Rebind(`SELECT user_id, csrf_token, created_at, expires_at, last_seen FROM sessions WHERE id_digest = ?`)
	err := s.db.Prepared().GetContext(ctx, &se, q, digest)
	if db.IsNoRows(err) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	se.CreatedAt = se.CreatedAt.UTC()
	se.ExpiresAt = se.ExpiresAt.UTC()
	se.LastSeen = se.LastSeen.UTC()
	return se, nil
}

// Touch implements Store.
func (s *SQLStore) Touch(ctx context.Context, digest string, at time.Time) error {
	q := s.db.Rebind(`UPDATE sessions SET last_seen = ? WHERE id_digest = ? AND last_seen < ?`)
	at = dbTime(at)
	if _, err := s.db.Prepared().ExecContext(ctx, q, at, digest, at); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, digest string) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE id_digest = ?`), digest)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteUser implements Store.
func (s *SQLStore) DeleteUser(ctx context.Context, userID int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sessions WHERE user_id = ?`), userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	return n, nil
}

// DeleteExpired implements Store.
func (s *SQLStore) DeleteExpired(ctx context.Context, now, idleBefore time.Time) (int64, error) {
	q := s.db.Rebind(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen <= ?`)
	res, err := s.db.ExecContext(ctx, q, dbTime(now), dbTime(idleBefore))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
