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
// access tokens: "revoked_jti:<jti>" when one jti was listed in
// revoked_jti, "revoked_jti:*" when a transaction listed any number of them
// (a grant, a client, a user-client pair): the listener rereads the recent
// revocations.
const RevokedJTINotifyKind = "revoked_jti"

// AnnounceAll is the notice id that names every entry of a kind
// (internal/notify.All).
const AnnounceAll = "*"

// RevocationNotifier announces a change with its transaction
// (internal/notify.Bus).
type RevocationNotifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// revokingTx runs fn, which may list jtis in revoked_jti, in a transaction
// that announces them: "revoked_jti:<jti>" when it lists at most the one
// jti given, else "revoked_jti:*". Without a notifier it is db.InTx.
func (s *TokenStore) revokingTx(ctx context.Context, jti string, fn func(tx *sqlx.Tx) error) error {
	if s.notifier == nil {
		return s.db.InTx(ctx, fn)
	}
	if jti == "" {
		jti = AnnounceAll
	}
	return s.notifier.PublishInTx(ctx, RevokedJTINotifyKind, jti, fn)
}

// announceRevoked announces "revoked_jti:*" after a transaction that
// revoked a grant as a side effect (a code replay, a refresh-token reuse).
// The transaction has committed: a failure to announce leaves the other
// instances to their periodic reload, so it is not the caller's error.
func (s *TokenStore) announceRevoked(ctx context.Context) {
	if s.notifier == nil {
		return
	}
	_ = s.notifier.PublishInTx(ctx, RevokedJTINotifyKind, AnnounceAll, func(*sqlx.Tx) error { return nil })
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
