package users

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// This package is the only one that names the users table in SQL; other
// stores that need a user's state read it through the functions below,
// passing their own transaction when they hold one so the read sees the
// same snapshot (and, on SQLite, does not wait for a second connection).
// See docs/architecture.md, "Table owners".

// Status is the part of a user the hot paths need: whether their
// credentials still count, whether they are an admin, and the name shown
// in responses.
type Status struct {
	ID       int64  `db:"id"`
	Username string `db:"username"`
	IsActive bool   `db:"is_active"`
	IsAdmin  bool   `db:"is_admin"`
}

// StatusIn reads user id's Status with q, a database handle or a
// transaction; ErrNotFound when there is no such user.
func StatusIn(ctx context.Context, q sqlx.ExtContext, id int64) (Status, error) {
	var s Status
	err := sqlx.GetContext(ctx, q, &s, q.Rebind(`SELECT id, username, is_active, is_admin FROM users WHERE id = ?`), id)
	if db.IsNoRows(err) {
		return Status{}, ErrNotFound
	}
	if err != nil {
		return Status{}, fmt.Errorf("load status of user %d: %w", id, err)
	}
	return s, nil
}

// Status reads user id's Status in one query; ErrNotFound when there is
// no such user.
func (s *SQLStore) Status(ctx context.Context, id int64) (Status, error) {
	if s.status != nil {
		return s.cachedStatus(ctx, id) // statuscache.go
	}
	return StatusIn(ctx, s.db.Prepared(), id)
}

// GetIn is Store.Get with q, a database handle or a transaction.
func GetIn(ctx context.Context, q sqlx.ExtContext, id int64) (User, error) {
	var u User
	err := sqlx.GetContext(ctx, q, &u, q.Rebind(`SELECT `+userColumns+` FROM users WHERE id = ?`), id)
	if db.IsNoRows(err) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %d: %w", id, err)
	}
	normalize(&u)
	return u, nil
}

// usernameChunk bounds the IN (...) list of UsernamesIn (far below both
// dialects' bound-parameter limits).
const usernameChunk = 500

// UsernamesIn maps each of ids that names a user to its username, with q,
// a database handle or a transaction. Unknown IDs are absent from the map.
func UsernamesIn(ctx context.Context, q sqlx.ExtContext, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), usernameChunk)
		query, args, err := sqlx.In(`SELECT id, username FROM users WHERE id IN (?)`, ids[:n])
		if err != nil {
			return nil, fmt.Errorf("load usernames: %w", err)
		}
		var rows []struct {
			ID       int64  `db:"id"`
			Username string `db:"username"`
		}
		if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("load usernames: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.Username
		}
		ids = ids[n:]
	}
	return out, nil
}
