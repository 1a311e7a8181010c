package authserver

import (
	"context"
	"fmt"
	"strings"
)

// CreateClient registers a client. Its scopes must be known to the scope
// registry (docs/architecture.md, "Scopes and resources": the registry
// validates client registration).
func (s *Server) CreateClient(ctx context.Context, spec ClientSpec) (*Client, string, error) {
	if err := s.checkKnownScopes(spec.Scopes); err != nil {
		return nil, "", err
	}
	return s.Clients.Create(ctx, spec)
}

// UpdateClient changes a client's name, redirect URIs, grant types or
// scopes (see ClientStore.Update).
func (s *Server) UpdateClient(ctx context.Context, id string, fn func(sp *ClientSpec) error) (*Client, error) {
	return s.Clients.Update(ctx, id, func(sp *ClientSpec) error {
		if err := fn(sp); err != nil {
			return err
		}
		return s.checkKnownScopes(sp.Scopes)
	})
}

// ListClients returns every client, for the management API's listing.
func (s *Server) ListClients(ctx context.Context) ([]*Client, error) {
	return s.Clients.List(ctx, 0)
}

// GetClient returns the client id, disabled or not, or ErrClientNotFound.
func (s *Server) GetClient(ctx context.Context, id string) (*Client, error) {
	return s.Clients.GetClient(ctx, id)
}

// IsResourceServer reports whether id is an enabled client flagged as a
// resource server (see Client.ResourceServer).
func (s *Server) IsResourceServer(ctx context.Context, id string) (bool, error) {
	c, err := s.lookupClient(ctx, id)
	if err != nil || c == nil {
		return false, err
	}
	return c.ResourceServer, nil
}

func (s *Server) checkKnownScopes(list []string) error {
	if s.scopes == nil {
		return nil
	}
	for _, sc := range list {
		if sc = strings.TrimSpace(sc); sc != "" && !s.scopes.HasScope(sc) {
			return fmt.Errorf("%w: scope %q is unknown (see scopes_supported in %s)", ErrInvalidClientMetadata, sc, PathMetadata)
		}
	}
	return nil
}

// RotateClientSecret gives a confidential client a new secret; the old one
// stops working at once. Tokens already issued stay valid.
func (s *Server) RotateClientSecret(ctx context.Context, id string) (*Client, string, error) {
	return s.Clients.RotateSecret(ctx, id)
}

// DisableClient disables a client and revokes every token it holds, so its
// JWTs stop validating at once.
func (s *Server) DisableClient(ctx context.Context, id string) (*Client, error) {
	c, err := s.Clients.SetDisabled(ctx, id, true)
	if err != nil {
		return nil, err
	}
	s.clientChanged(ctx, id)
	if _, err := s.Tokens.RevokeClient(ctx, id); err != nil {
		return nil, err
	}
	return c, nil
}

// EnableClient re-enables a disabled client. Its revoked tokens stay revoked.
func (s *Server) EnableClient(ctx context.Context, id string) (*Client, error) {
	c, err := s.Clients.SetDisabled(ctx, id, false)
	if err == nil {
		s.clientChanged(ctx, id)
	}
	return c, err
}

// DeleteClient revokes a client's tokens (listing its JWTs' jtis, which
// outlive the rows) and deletes it.
func (s *Server) DeleteClient(ctx context.Context, id string) error {
	if _, err := s.Clients.GetClient(ctx, id); err != nil {
		return err
	}
	if _, err := s.Tokens.RevokeClient(ctx, id); err != nil {
		return err
	}
	if err := s.Clients.Delete(ctx, id); err != nil {
		return err
	}
	s.clientChanged(ctx, id)
	return nil
}

// RevokeUserClient revokes every token client holds for user and, in the
// same transaction, records consent.revoked with the actor of
// audit.WithActor; the account page calls it when the user withdraws the
// app's access (after deleting the consent, in a transaction of its own).
func (s *Server) RevokeUserClient(ctx context.Context, userID int64, clientID string) error {
	return s.Tokens.WithdrawUserClient(ctx, userID, clientID)
}
