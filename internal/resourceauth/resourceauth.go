// Package resourceauth adapts authgate's own stores (API tokens, users,
// browser sessions) to the interfaces of package resources, which owns its
// types so that a resource server apart from authgate links none of this.
package resourceauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// User converts a stored user.
func User(u users.User) resources.User {
	return resources.User{ID: u.ID, Username: u.Username, IsActive: u.IsActive, IsAdmin: u.IsAdmin}
}

// Tokens is the API-token authenticator on a *tokens.Manager.
type Tokens struct{ M *tokens.Manager }

var _ resources.TokenAuthenticator = Tokens{}

// AuthenticateAPIToken implements resources.TokenAuthenticator.
func (t Tokens) AuthenticateAPIToken(ctx context.Context, raw string) (*resources.AuthenticatedToken, error) {
	a, err := t.M.Authenticate(ctx, raw)
	if err != nil {
		var ae *tokens.AuthError
		if errors.As(err, &ae) {
			return nil, &resources.TokenError{Kind: kindOf(ae.Kind), Message: ae.Message}
		}
		return nil, err
	}
	return &resources.AuthenticatedToken{
		User: User(a.User),
		Token: resources.APIToken{
			ID: a.Token.ID, Prefix: a.Token.Prefix, Note: a.Token.Note,
			Policy: a.Token.Policy, Expires: a.Token.Expires, Deprecated: a.Deprecated,
		},
		Policy: a.Policy,
	}, nil
}

// kindOf maps the manager's refusal kinds to the Guard's.
func kindOf(k error) error {
	switch {
	case errors.Is(k, tokens.ErrMalformedToken):
		return resources.ErrTokenMalformed
	case errors.Is(k, tokens.ErrTokenInvalid):
		return resources.ErrTokenInvalidated
	case errors.Is(k, tokens.ErrTokenExpired):
		return resources.ErrTokenExpired
	case errors.Is(k, tokens.ErrUserInactive):
		return resources.ErrTokenUserInactive
	}
	return resources.ErrTokenUnknown
}

// Users is the Guard's user directory on a users.Store.
type Users struct{ S users.Store }

var _ resources.UserDirectory = Users{}

// UserByID implements resources.UserDirectory.
func (d Users) UserByID(ctx context.Context, id int64) (resources.User, error) {
	u, err := d.S.Get(ctx, id)
	if errors.Is(err, users.ErrNotFound) {
		return resources.User{}, fmt.Errorf("%w: %d", resources.ErrUserNotFound, id)
	}
	if err != nil {
		return resources.User{}, err
	}
	return User(u), nil
}

// CheckPassword implements resources.UserDirectory.
func (d Users) CheckPassword(ctx context.Context, username, password string) (resources.User, error) {
	u, err := d.S.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		return resources.User{}, resources.ErrInvalidCredentials
	case errors.Is(err, users.ErrBusy):
		// Every password-hashing slot is taken: not the caller's fault,
		// and not a server failure either; the Guard answers 503 with
		// Retry-After.
		return resources.User{}, &resources.UnavailableError{RetryAfter: users.HashRetryAfter, Err: err}
	case err != nil:
		return resources.User{}, err
	}
	return User(u), nil
}

// Sessions is the Guard's session validator on a *sessions.Manager.
type Sessions struct{ M *sessions.Manager }

var _ resources.SessionValidator = Sessions{}

// ValidateSession implements resources.SessionValidator.
func (s Sessions) ValidateSession(r *http.Request) (resources.User, string, bool, error) {
	u, csrf, ok, err := s.M.ValidateSession(r)
	return User(u), csrf, ok, err
}

// Configure sets the Guard's Tokens, Users and Sessions from authgate's
// stores, leaving a scheme off (nil interface) where its store is nil.
func Configure(cfg *resources.GuardConfig, tm *tokens.Manager, us users.Store, sm *sessions.Manager) {
	if tm != nil {
		cfg.Tokens = Tokens{M: tm}
	}
	if us != nil {
		cfg.Users = Users{S: us}
	}
	if sm != nil {
		cfg.Sessions = Sessions{M: sm}
	}
}
