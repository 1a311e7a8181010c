package authserver

import (
	"context"

	"github.com/authgate/authgate/internal/users"
)

// statusReader is the users store's cached status read (users.SQLStore
// with EnableStatusCache): bearer validation and introspection ask whether
// a token's user is still active on every request, and the cache answers
// without a query (docs/performance.md, "Caches").
type statusReader interface {
	Status(ctx context.Context, id int64) (users.Status, error)
}

// readUserStatus reads user uid's state through the users store when it has a
// status read, else from the database.
func (a *accessTokens) readUserStatus(ctx context.Context, uid int64) (users.Status, error) {
	if a.users != nil {
		return a.users.Status(ctx, uid)
	}
	return users.StatusIn(ctx, a.db.Prepared(), uid)
}
