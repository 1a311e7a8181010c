package authserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/scopes"
)

// BearerValidator validates authgate's own OAuth2 access tokens, JWT or
// opaque, for the resources Guard: a JWT by signature (keys from the shared
// signing_keys table), typ, issuer, audience and expiry, plus its jti
// against revoked_jti; an opaque token by digest lookup; both with the
// user's active flag.
type BearerValidator struct {
	access *accessTokens
}

var _ resources.BearerValidator = (*BearerValidator)(nil)

// NewBearerValidator returns the validator for s's tokens.
func NewBearerValidator(s *Server) *BearerValidator { return &BearerValidator{access: s.access} }

// ValidateBearer implements resources.BearerValidator. Invalid tokens give
// an error wrapping resources.ErrBearerInvalid; other errors are faults.
func (v *BearerValidator) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	at, err := v.access.Validate(ctx, raw)
	if errors.Is(err, errTokenInvalid) {
		return nil, fmt.Errorf("%w: %v", resources.ErrBearerInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	set, err := scopes.ParseSet(at.Scope)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed scope claim", resources.ErrBearerInvalid)
	}
	return &resources.BearerToken{
		TokenID: at.JTI, ClientID: at.ClientID, UserID: at.UserID, Username: at.Username,
		Scopes: set, ExpiresAt: at.ExpiresAt, Audience: at.Audience, JKT: at.JKT,
	}, nil
}
