package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/authgate/authgate/authserver/signing"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/internal/notify"
)

// newBus opens the cross-instance invalidation bus
// (docs/architecture.md, "Storage and invalidation"). Build it before
// anything loads a cache: on PostgreSQL, it returns once LISTEN is in
// effect, so no change committed after a cache's first load goes unheard.
func newBus(ctx context.Context, d *db.DB, dsn string, logger *slog.Logger, publishOnly bool) (*notify.Bus, error) {
	bus, err := notify.New(ctx, d, dsn, notify.Options{Logger: logger, PublishOnly: publishOnly})
	if err != nil {
		return nil, fmt.Errorf("invalidation bus: %w", err)
	}
	return bus, nil
}

// subscribeInvalidations connects the process caches of database state to
// the bus, once they all exist: each announces its own changes and drops or
// reloads what other instances (or `authgate key rotate`) announce.
//
//   - scope registry: PUT/DELETE /api/resources/{policy_id}/ announce
//     "resource:<policy_id>"; every instance's Watch reloads the registered
//     resources at once (the periodic poll stays as a safety net);
//
//   - signing keys: Rotate announces "signing_key:<kid>" (the bus is the
//     KeySet's notifier, given at construction); every instance's
//     KeySet reloads on next use, so the new key is in its JWKS at once;
//
//   - API tokens: the authentication cache (on by default on both
//     databases) drops "api_token:<id>" and "user:<id>", announced by token
//     and user changes; the tokens manager subscribes itself when it is
//     built (newTokens);
//
//   - users' status: the users store's cache drops "user:<id>" (newUsers);
//
//   - OAuth clients: the client store's cache drops
//     "oauth_client:<client_id>" (authserver.Deps.ClientNotifier);
//
//   - JWT validation: revocations announce "revoked_jti:<jti>" or
//     "revoked_jti:*"; the authorization server's revocation state
//     subscribes itself when it is built (authserver.Deps.Bus;
//     docs/security.md, "Revocation bound").
//
// On SQLite the bus carries these between processes through the polled
// change_feed table (within 1 s). Opaque OAuth tokens and sessions are read from
// the database on every check; the compiled-policy cache of package tokens
// is keyed by content and cannot go stale.
func (a *App) subscribeInvalidations() {
	a.Notify.Subscribe(mgmtapi.ResourceNotifyKind, func(string) { a.resourceStore.Invalidate() })
	a.Notify.Subscribe(signing.KeyNotifyKind, func(string) { a.OAuth.Keys.Invalidate() })
	// Changes announced between the first loads (during wiring) and these
	// subscriptions had no subscriber: reload once to cover them.
	a.resourceStore.Invalidate()
	a.OAuth.Keys.Invalidate()
}
