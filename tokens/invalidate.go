package tokens

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"

	"github.com/authgate/authgate/internal/users"
)

// Invalidate marks token id invalid with reason and returns it. A token
// that is already invalid is returned unchanged, keeping its first date and
// reason (docs/api-tokens.md, "Deliberate differences"), and no event fires.
// ErrNotFound for an unknown ID.
func (m *Manager) Invalidate(ctx context.Context, id int64, reason string) (*Token, error) {
	var tok *Token
	_, err := m.invalidate(ctx, InvalidateScope{TokenID: id}, reason, func(tx StoreTx, done []*Token) error {
		if len(done) == 1 {
			tok = done[0]
			return nil
		}
		var err error
		tok, err = tx.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok.clone(), nil
}

// InvalidateUsers invalidates every still-valid token of the given users
// and returns how many it invalidated. An empty list invalidates nothing
// (docs/api-tokens.md, "Deliberate differences"; Djblets treats it as "all
// users", docs/api-tokens.md, "Manager operations").
func (m *Manager) InvalidateUsers(ctx context.Context, userIDs []int64, reason string) (int, error) {
	if len(userIDs) == 0 {
		return 0, nil
	}
	toks, err := m.invalidate(ctx, InvalidateScope{UserIDs: userIDs}, reason, nil)
	return len(toks), err
}

// InvalidateAll invalidates every still-valid token and returns how many.
func (m *Manager) InvalidateAll(ctx context.Context, reason string) (int, error) {
	toks, err := m.invalidate(ctx, InvalidateScope{All: true}, reason, nil)
	return len(toks), err
}

// InvalidateMatching invalidates every still-valid token that scope
// selects (Djblets' invalidate_tokens(users, extra_query)) and
// returns them as now stored, ordered by ID. Each gets its
// EventInvalidated and audit_events row, in the same transaction. A scope that
// names neither All, a token nor users selects nothing.
func (m *Manager) InvalidateMatching(ctx context.Context, scope InvalidateScope, reason string) ([]*Token, error) {
	toks, err := m.invalidate(ctx, scope, reason, nil)
	if err != nil {
		return nil, err
	}
	return cloneAll(toks), nil
}

// errDryRun rolls back PreviewInvalidate's transaction.
var errDryRun = errors.New("dry run")

// PreviewInvalidate returns the tokens InvalidateMatching(scope) would
// invalidate now, and changes nothing. It runs the very same update in a
// transaction that is then rolled back (no audit_events row, event or notice
// survives), so the preview cannot disagree with the real run's selection.
func (m *Manager) PreviewInvalidate(ctx context.Context, scope InvalidateScope) ([]*Token, error) {
	var toks []*Token
	err := m.store.InTx(ctx, func(tx StoreTx) error {
		var err error
		if toks, err = tx.Invalidate(ctx, scope, dbTime(m.now()), ""); err != nil {
			return err
		}
		return errDryRun
	})
	if !errors.Is(err, errDryRun) {
		return nil, err
	}
	// The rows were read inside the rolled-back update: show them as they
	// still are.
	for _, t := range toks {
		t.Valid, t.InvalidDate, t.InvalidReason = true, nil, ""
	}
	return toks, nil
}

// InvalidateToken invalidates the token whose secret is raw (Djblets'
// invalidate_token(token)) and returns it, and whether this call
// invalidated it. A value that is not a token this server accepts, or that
// matches no token, is ErrNotFound; a token that is already invalid is
// returned unchanged (first date and reason kept, no event) with false.
func (m *Manager) InvalidateToken(ctx context.Context, raw, reason string) (*Token, bool, error) {
	if g, _ := m.recognize(raw); g == nil {
		return nil, false, ErrNotFound // malformed: no query (as in Authenticate)
	}
	digest := digestOf(raw)
	l, err := m.store.LookupDigest(ctx, digest)
	if err != nil {
		return nil, false, err
	}
	if subtle.ConstantTimeCompare([]byte(l.Digest), []byte(digest)) != 1 {
		return nil, false, ErrNotFound
	}
	var tok *Token
	done, err := m.invalidate(ctx, InvalidateScope{TokenID: l.Token.ID}, reason, func(tx StoreTx, done []*Token) error {
		if len(done) == 1 {
			tok = done[0]
			return nil
		}
		var err error
		tok, err = tx.Get(ctx, l.Token.ID)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return tok.clone(), len(done) == 1, nil
}

func cloneAll(toks []*Token) []*Token {
	out := make([]*Token, len(toks))
	for i, t := range toks {
		out[i] = t.clone()
	}
	return out
}

func (m *Manager) invalidate(ctx context.Context, scope InvalidateScope, reason string, then func(StoreTx, []*Token) error) ([]*Token, error) {
	now := dbTime(m.now())
	actor := ActorFrom(ctx)
	var events []Event
	var toks []*Token
	kind, id := scope.notice()
	err := m.writeTx(ctx, kind, id, func(tx StoreTx) error {
		var err error
		if toks, err = tx.Invalidate(ctx, scope, now, reason); err != nil {
			return err
		}
		events = make([]Event, len(toks))
		for i, t := range toks {
			events[i] = Event{Kind: EventInvalidated, At: now, Token: t, ActorUserID: actor, Reason: reason}
			if err := m.appendAudit(ctx, tx, &events[i]); err != nil {
				return err
			}
		}
		if then != nil {
			return then(tx, toks)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		m.emit(ctx, ev)
	}
	return toks, nil
}

// notice is the invalidation notice of a bulk change: the token, the one
// user's tokens, or everything.
func (s InvalidateScope) notice() (kind, id string) {
	switch {
	case s.All:
		return NotifyKind, "*"
	case s.TokenID != 0:
		return NotifyKind, strconv.FormatInt(s.TokenID, 10)
	case len(s.UserIDs) == 1:
		return users.NotifyKind, strconv.FormatInt(s.UserIDs[0], 10)
	default:
		return NotifyKind, "*"
	}
}
