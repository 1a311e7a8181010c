package authserver

import (
	"context"
	"errors"
	"fmt"
)

// A client_credentials JWT access token has no oauth_tokens row: the token
// store's Create skips it, so issuing one writes nothing. Everything about
// it is in its signed claims; what can change after issuance is held
// elsewhere:
//
//   - the token itself revoked (RFC 7009, a leak report): its jti in
//     revoked_jti until its exp, as for every JWT;
//   - its client disabled or deleted: the client's row, checked here, with
//     the revocation epoch tokens_revoked_at that disabling sets, so a
//     re-enabled client's older tokens stay dead.
//
// See docs/performance.md, "Issuance", for what this trades away.

// clientAnyState loads client id whether enabled or not, from whatever
// client store the server holds when asked (a cache may wrap it later).
func (s *Server) clientAnyState(ctx context.Context, id string) (*Client, error) {
	return s.Clients.GetClient(ctx, id)
}

// clientHolds refuses an access token without a user (client_credentials)
// whose client is gone, disabled, or revoked its tokens at or after the
// token's iat.
func (a *accessTokens) clientHolds(ctx context.Context, at *AccessToken) error {
	c, err := a.client(ctx, at.ClientID)
	if errors.Is(err, ErrClientNotFound) {
		return errTokenInvalid
	}
	if err != nil {
		return fmt.Errorf("check access token client: %w", err)
	}
	if c.Disabled() || c.TokenRevoked(at.IssuedAt) {
		return errTokenInvalid
	}
	return nil
}
