package users

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// ErrInvalidProfile is returned for an email address or display name that
// cannot be stored.
var ErrInvalidProfile = errors.New("invalid profile")

// Profile is what SetProfile changes: the OpenID Connect email, email_verified
// and name claims (see docs/openid-connect.md, "Claims").
type Profile struct {
	Email         string
	EmailVerified bool
	Name          string
}

// validProfile checks an email address (empty, or one bare RFC 5322
// addr-spec) and a display name (at most 200 characters, no control
// characters).
func validProfile(email, name string) error {
	if email != "" {
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || len(email) > 254 {
			return fmt.Errorf("%w: %q is not an email address", ErrInvalidProfile, email)
		}
	}
	if utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: the name must be at most 200 printable characters", ErrInvalidProfile)
	}
	return nil
}

// SetProfile replaces a user's email address, its verified flag and
// display name.
func (s *SQLStore) SetProfile(ctx context.Context, id int64, p Profile) error {
	p.Email, p.Name = strings.TrimSpace(p.Email), strings.TrimSpace(p.Name)
	if err := validProfile(p.Email, p.Name); err != nil {
		return err
	}
	if p.Email == "" {
		p.EmailVerified = false
	}
	q := s.db.Rebind(`UPDATE users SET email = ?, email_verified = ?, name = ?, updated_at = ? WHERE id = ?`)
	return s.changeAnnounced(ctx, id, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, q, p.Email, p.EmailVerified, p.Name, time.Now().UTC().Truncate(time.Microsecond), id)
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return ErrNotFound
		}
		return nil
	})
}
