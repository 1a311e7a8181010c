package authserver

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// clientChanged tells this instance's revocation state at once, and every
// other instance through the bus, that client id was disabled, enabled or
// deleted. The change has committed; a lost notice is covered by the
// periodic reload (docs/security.md, "Revocation bound"), so a failure to
// announce is logged, not returned.
func (s *Server) clientChanged(ctx context.Context, id string) {
	s.revs.drop(ClientNotifyKind, id)
	if s.bus == nil {
		return
	}
	if err := s.bus.PublishInTx(ctx, ClientNotifyKind, id, func(*sqlx.Tx) error { return nil }); err != nil {
		s.log.Warn("cannot announce a client change; other instances learn of it by their next reload", "error", err)
	}
}

// DropCached forgets what this instance caches about the entry a notice
// names: "user:<id>" (a user's active flag changed) or "oauth_client:<id>";
// the users store calls it right after announcing, so this instance does
// not wait for its own notice.
func (s *Server) DropCached(kind, id string) { s.revs.drop(kind, id) }

// Close stops the background reloads of the revocation state.
func (s *Server) Close() error {
	s.revs.stop()
	return nil
}
