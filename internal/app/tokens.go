package app

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// wireTokenCache connects the API-token authentication cache to the bus
// (docs/architecture.md, "Storage and invalidation";
// docs/api-tokens.md, "Deliberate differences"): token changes announce
// "api_token:<id>", user changes
// (active, admin) announce "user:<id>", and every instance drops what they
// name. The CLI's publish-only App announces the same way, so `authgate
// token invalidate` or `user deactivate` reaches running PostgreSQL
// servers at once.
func (a *App) wireTokenCache() {
	a.Tokens.SetNotifier(a.Notify)
	if us, ok := a.Users.(*users.SQLStore); ok {
		us.SetNotifier(dropLocally{bus: a.Notify, drop: a.Tokens.DropCached})
	}
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
