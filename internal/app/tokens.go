package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/configs"
	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/notify"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/scopes"
	"github.com/authgate/authgate/tokens"
)

// newUsers builds the users store. Its changes to a user's active or admin
// flag announce "user:<id>" on the bus and drop that user's tokens from
// this process's authentication cache at once (cache, shared with the
// tokens manager; nil when the cache is off), and from the caches in later.
func newUsers(ac configs.Auth, d *db.DB, bus *notify.Bus, cache *tokens.AuthCache, later *localDrops) *users.SQLStore {
	return users.NewSQLStoreWith(d, users.HashLimits{MemoryMiB: ac.PasswordHashMemoryMiB, Wait: ac.PasswordHashWait},
		dropLocally{bus: bus, drop: func(kind, id string) { cache.Drop(kind, id); later.drop(kind, id) }})
}

// localDrops are the drops of caches built after the users store (the
// authorization server's revocation state), added during wiring.
type localDrops struct{ fns []func(kind, id string) }

func (l *localDrops) add(fn func(kind, id string)) { l.fns = append(l.fns, fn) }

func (l *localDrops) drop(kind, id string) {
	for _, fn := range l.fns {
		fn(kind, id)
	}
}

// newTokens builds the API-token manager on the bus
// (docs/architecture.md, "Storage and invalidation"; docs/api-tokens.md,
// "Deliberate differences"): token changes announce "api_token:<id>",
// user changes (newUsers) announce "user:<id>", and every instance drops
// what they name from cache. The CLI's publish-only App announces the same
// way, so `authgate token invalidate` or `user deactivate` reaches running
// PostgreSQL servers at once. Policy IDs are checked against reg.
func newTokens(tc configs.Tokens, d *db.DB, us users.Store, cache *tokens.AuthCache, bus *notify.Bus,
	reg *scopes.Registry, now func() time.Time, logger *slog.Logger) (*tokens.Manager, error) {
	opts := tokens.Options{
		TokenType: tc.Type, Length: tc.Length, DefaultGenerator: tc.DefaultGenerator,
		MaxAttempts: tc.MaxAttempts, Logger: logger,
		AcceptedPrefixes: tc.AcceptedPrefixes, DeprecatedGenerators: tc.DeprecatedGenerators,
		Cache: cache, Notifier: bus, KnownPolicyID: reg.KnownPolicyID, Now: now,
	}
	if tc.LegacySecret != "" {
		opts.LegacySecret = []byte(tc.LegacySecret)
	}
	m, err := tokens.NewManager(tokens.NewSQLStore(d), us, opts)
	if err != nil {
		return nil, fmt.Errorf("tokens configuration: %w", err)
	}
	return m, nil
}

// dropLocally publishes through the bus and then drops the named entries
// from this process's cache at once, without waiting for the notice to
// come back through the listener.
type dropLocally struct {
	bus  users.Notifier
	drop func(kind, id string)
}

func (d dropLocally) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	err := d.bus.PublishInTx(ctx, kind, id, fn)
	d.drop(kind, id) // also after an error: the commit may have happened
	return err
}

var _ tokens.Publisher = dropLocally{}
