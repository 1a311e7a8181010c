package oauthstore

// Announcing and reading the revoked jtis, for the validators that hold
// them in memory (see docs/security.md, "Revocation bound").

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RevokedJTINotifyKind is the invalidation-notice kind of revoked JWT
// access tokens: "revoked_jti:<jti>" for every jti a transaction listed in
// revoked_jti, or "revoked_jti:*" when it listed more than the bus
// announces one by one (internal/notify.MaxEach): the listener then
// rereads the recent revocations.
const RevokedJTINotifyKind = "revoked_jti"

// AnnounceAll is the notice id that names every entry of a kind
// (internal/notify.All).
const AnnounceAll = "*"

// RevocationNotifier announces, with a transaction, every id it returns
// (internal/notify.Bus).
type RevocationNotifier interface {
	PublishEachInTx(ctx context.Context, kind string, fn func(tx *sqlx.Tx) ([]string, error)) error
}

// revokingTx runs fn, which lists jtis in revoked_jti and returns them, in
// a transaction that announces them. Without a notifier it is db.InTx.
func (s *TokenStore) revokingTx(ctx context.Context, fn func(tx *sqlx.Tx) ([]string, error)) error {
	if s.notifier == nil {
		return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := fn(tx)
			return err
		})
	}
	return s.notifier.PublishEachInTx(ctx, RevokedJTINotifyKind, fn)
}

// announceRevoked announces jtis after a transaction that revoked a grant
// as a side effect (a code replay, a refresh-token reuse). The transaction
// has committed: a failure to announce leaves the other instances to their
// periodic reload, so it is not the caller's error.
func (s *TokenStore) announceRevoked(ctx context.Context, jtis []string) {
	if s.notifier == nil || len(jtis) == 0 {
		return
	}
	_ = s.notifier.PublishEachInTx(ctx, RevokedJTINotifyKind, func(*sqlx.Tx) ([]string, error) { return jtis, nil })
}

// RevokedJTIs returns the jtis listed in revoked_jti at or after since
// (zero: all) whose tokens have not expired at now.
func (s *TokenStore) RevokedJTIs(ctx context.Context, since, now time.Time) ([]string, error) {
	var jtis []string
	err := s.db.SelectContext(ctx, &jtis, s.db.Rebind(`SELECT jti FROM revoked_jti WHERE revoked_at >= ? AND expires_at > ?`),
		since.UTC(), now.UTC())
	if err != nil {
		return nil, fmt.Errorf("list revoked jtis: %w", err)
	}
	return jtis, nil
}
