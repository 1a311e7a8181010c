package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// Outcome is what a grant decided about a stored code or refresh token; the
// store applies it in the transaction that read the row.
type Outcome struct {
	// Consume marks the code or refresh token used. If it is no longer
	// live (a concurrent use got there first), the decision is asked
	// again with the row marked consumed.
	Consume bool
	// RevokeFamily revokes every token of the row's grant and records
	// AuditKind with PresentedBy (a code replay, a refresh-token reuse).
	RevokeFamily bool
	AuditKind    string
	PresentedBy  string
	// Issue, when not nil, is stored, linked to the row (ParentID).
	Issue *Issue
	// Refusal is the client-facing failure; the transaction still
	// commits, so a consumption or revocation stays.
	Refusal error

	// Revoked is set by the store: how many rows RevokeFamily revoked.
	Revoked int
}

// Decide is a grant's decision over a stored row: nil when the value is
// unknown. It runs inside the store's transaction and must do no I/O on the
// database; an error is a server fault and rolls everything back.
type Decide func(row *TokenRow) (Outcome, error)

// errDecidedTwice guards the second call of a decision after a lost race:
// a consumed row must not be consumed or issued from again.
var errDecidedTwice = errors.New("redeem: the decision consumed a row that is no longer live")

// RedeemCode applies decide to the authorization code raw in one
// transaction that owns the row lock, the consumption, the insertion of the
// new tokens and, on replay, the revocation of the grant: of any number of
// concurrent redemptions exactly one can issue tokens.
func (s *TokenStore) RedeemCode(ctx context.Context, raw string, decide Decide) (Outcome, error) {
	return s.redeem(ctx, KindCode, raw, decide)
}

// RotateRefresh applies decide to the refresh token raw in one transaction,
// as RedeemCode does: consume it and store the new pair, or on reuse revoke
// its family.
func (s *TokenStore) RotateRefresh(ctx context.Context, raw string, decide Decide) (Outcome, error) {
	return s.redeem(ctx, KindRefresh, raw, decide)
}

func (s *TokenStore) redeem(ctx context.Context, kind, raw string, decide Decide) (Outcome, error) {
	var out Outcome
	var revokedJTIs []string
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		row, err := s.loadLocked(ctx, tx, kind, raw)
		if err != nil {
			return err
		}
		if row != nil && row.Live(s.now()) {
			if row.UserActive, err = s.checkUser(ctx, tx, row); err != nil {
				return err
			}
		}
		if out, err = decide(row); err != nil {
			return err
		}
		if out.Consume {
			if row == nil {
				return errDecidedTwice
			}
			ok, err := s.consume(ctx, tx, kind, raw)
			if err != nil {
				return err
			}
			if !ok {
				// Used between our read and our claim: decide again on the
				// row as it now is (a reuse).
				row.ConsumedAt = sql.NullTime{Time: DBNow(s.now), Valid: true}
				if out, err = decide(row); err != nil {
					return err
				}
				if out.Consume || out.Issue != nil {
					return errDecidedTwice
				}
			}
		}
		if out.RevokeFamily && row != nil {
			if out.Revoked, revokedJTIs, err = s.revokeGrantTx(ctx, tx, row.GrantID); err != nil {
				return err
			}
			if err := appendGrantEvent(ctx, tx, out.AuditKind, row, out.PresentedBy, out.Revoked); err != nil {
				return err
			}
		}
		if out.Issue != nil && row != nil {
			is := *out.Issue
			is.ParentID = row.ID
			return s.insertInfo(ctx, s.db.PreparedTx(tx), is)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	s.announceRevoked(ctx, revokedJTIs)
	return out, nil
}

// loadLocked reads the row of raw inside tx, after taking on PostgreSQL the
// lock of its grant family's first row (its code, or its first token) in the
// same round trip as finding the family. Every transaction that changes a
// family takes that lock first — a redemption or rotation here, a
// revocation by locking the family in id order (lockRows) — so concurrent
// redemptions, refreshes, replays and revocations of one family queue up
// instead of deadlocking. The read that follows sees the row as it is now
// (READ COMMITTED: a new snapshot). SQLite's immediate transactions already
// serialise writers. nil if there is no row.
func (s *TokenStore) loadLocked(ctx context.Context, tx *sqlx.Tx, kind, raw string) (*TokenRow, error) {
	if s.db.Dialect == db.Postgres {
		var id int64
		err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM oauth_tokens WHERE grant_id =
			(SELECT grant_id FROM oauth_tokens WHERE digest = ? AND kind = ?) ORDER BY id LIMIT 1 FOR UPDATE`), Digest(raw), kind)
		if db.IsNoRows(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lock grant: %w", err)
		}
	}
	row, found, err := s.byDigest(ctx, tx, kind, raw)
	if err != nil || !found {
		return nil, err
	}
	return row, nil
}

// checkUser runs the user check for row inside tx.
func (s *TokenStore) checkUser(ctx context.Context, tx *sqlx.Tx, row *TokenRow) (bool, error) {
	if s.userActive == nil {
		return true, nil
	}
	ok, err := s.userActive(ctx, tx, row.UserIDString())
	if err != nil {
		return false, fmt.Errorf("check user of %s: %w", row.Kind, err)
	}
	return ok, nil
}
