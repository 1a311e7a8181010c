package tokens

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens/policy"
)

// Authenticated is a successful Authenticate.
type Authenticated struct {
	Token *Token
	User  users.User
	// Policy is the compiled stored policy; an unreadable one denies
	// everything (fail closed).
	Policy *policy.Compiled
	// Deprecated is set for tokens of a deprecated generator; send
	// DeprecatedHeaderValue in X-API-Token-Deprecated.
	Deprecated bool
}

// Authenticate checks a raw API token (Djblets (see
// docs/api-tokens.md, "Authentication"), with authgate's
// (docs/api-tokens.md, "Deliberate differences")
// order): format and checksum first, so a malformed token costs no
// database query; then a lookup by SHA-256 digest (compared in constant
// time); then invalid, expired and inactive-owner checks, in Djblets'
// order. Failures are *AuthError with Djblets' client-facing messages.
func (m *Manager) Authenticate(ctx context.Context, raw string) (*Authenticated, error) {
	return m.authenticate(ctx, raw, true)
}

// Inspect decides like Authenticate but records nothing: no last_used
// write, no token.used or token.expired event. Introspection uses it, since
// asking about a token is not using it (docs/introspection-and-audience.md).
func (m *Manager) Inspect(ctx context.Context, raw string) (*Authenticated, error) {
	return m.authenticate(ctx, raw, false)
}

func (m *Manager) authenticate(ctx context.Context, raw string, record bool) (*Authenticated, error) {
	gen, _ := m.recognize(raw)
	if gen == nil {
		return nil, &AuthError{Kind: ErrMalformedToken}
	}
	digest := digestOf(raw)
	now := m.now()
	l, entry, err := m.lookup(ctx, digest, now)
	if errors.Is(err, ErrNotFound) {
		return nil, &AuthError{Kind: ErrTokenNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate api token: %w", err)
	}
	// The row was found by digest; comparing again in constant time keeps
	// the decision itself free of early-exit timing.
	if subtle.ConstantTimeCompare([]byte(l.Digest), []byte(digest)) != 1 {
		return nil, &AuthError{Kind: ErrTokenNotFound}
	}
	tok := l.Token
	if !tok.Valid {
		// Djblets (see docs/api-tokens.md, "Authentication"): the invalid check precedes the expired check.
		when := tok.LastUpdated
		if tok.InvalidDate != nil {
			when = *tok.InvalidDate
		}
		return nil, &AuthError{Kind: ErrTokenInvalid, Message: invalidMessage(when, tok.InvalidReason)}
	}
	if tok.IsExpired(now) {
		if record {
			m.log.Debug(fmt.Sprintf("API Login failed for %s. The token is expired.", l.Owner.Username))
			m.noteExpired(ctx, tok, now, entry)
		}
		return nil, &AuthError{Kind: ErrTokenExpired, Message: expiredMessage(*tok.Expires)}
	}
	if !l.Owner.IsActive {
		return nil, &AuthError{Kind: ErrUserInactive}
	}
	if record {
		m.noteUsed(ctx, tok, now, entry)
	}
	return &Authenticated{
		Token:      tok,
		User:       l.Owner,
		Policy:     m.policies.get(tok.Policy),
		Deprecated: m.deprecated[tok.GeneratorID],
	}, nil
}

// lookup finds the token by digest: from the cache when it holds a live
// entry, else with one query (whose row is then cached). A cached row is
// returned as a private copy, with the newest last_used this process
// knows. entry is the cache entry, or nil without a cache. Not-found is
// never cached: a token created a moment ago must work at once.
func (m *Manager) lookup(ctx context.Context, digest string, now time.Time) (*Lookup, *cacheEntry, error) {
	c := m.cache
	if c == nil {
		l, err := m.store.LookupDigest(ctx, digest)
		return l, nil, err
	}
	e := c.get(digest, now)
	if e == nil {
		var err error
		if e, err = m.sharedMiss(ctx, digest, now); err != nil {
			return nil, nil, err
		}
	}
	tok := e.tok.clone()
	if lu := e.lastUsed.Load(); lu != 0 && (tok.LastUsed == nil || lu > tok.LastUsed.UnixNano()) {
		t := time.Unix(0, lu).UTC()
		tok.LastUsed = &t
	}
	return &Lookup{Token: tok, Digest: e.digest, Owner: e.owner}, e, nil
}

// missTimeout bounds a shared cache miss's query, which no single
// caller's cancellation may stop (the others wait for it).
const missTimeout = 10 * time.Second

// sharedMiss looks digest up once for every concurrent caller that missed
// the cache and caches the row; each caller still gives up when its own
// context ends. Callers share a lookup only within one cache epoch: a
// request that starts after a drop (an invalidation, a deactivation) never
// joins a lookup that may have read the row from before it.
func (m *Manager) sharedMiss(ctx context.Context, digest string, now time.Time) (*cacheEntry, error) {
	c := m.cache
	epoch := c.currentEpoch()
	ch := c.misses.DoChan(digest+"@"+strconv.FormatUint(epoch, 10), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), missTimeout)
		defer cancel()
		l, err := m.store.LookupDigest(lctx, digest)
		if err != nil {
			return nil, err
		}
		return c.put(epoch, &Lookup{Token: l.Token.clone(), Digest: l.Digest, Owner: l.Owner}, now), nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*cacheEntry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invalidMessage is Djblets' message for an invalidated token
// (docs/api-tokens.md, "Authentication").
// The date ends in "a.m."/"p.m." and the sentence adds its own period, so
// "…10:45 a.m.." is correct.
func invalidMessage(when time.Time, reason string) string {
	if reason == "" {
		return "This API token became invalid on " + FormatDjangoDateTime(when) + "."
	}
	return "This API token became invalid on " + FormatDjangoDateTime(when) + ": " + reason
}

// expiredMessage is Djblets' message for an expired token (docs/api-tokens.md, "Authentication").
func expiredMessage(expires time.Time) string {
	return "This API token expired on " + FormatDjangoDateTime(expires) + "."
}

// noteExpired records the expired event once per token
// (docs/api-tokens.md, "Deliberate differences"; Djblets
// fires it on every attempt, docs/api-tokens.md, "Deliberate differences").
// Failures are logged: the
// authentication answer does not depend on them.
//
// A cached row still says "not sent": it is dropped after the attempt, so
// the next request reads the flag from the database instead of trying again.
func (m *Manager) noteExpired(ctx context.Context, tok *Token, now time.Time, entry *cacheEntry) {
	if tok.ExpiredEventSent {
		return
	}
	if entry != nil {
		defer m.cache.dropEntry(entry)
	}
	ev := Event{Kind: EventExpired, At: dbTime(now), Token: tok, ActorUserID: ActorFrom(ctx)}
	fired := false
	err := m.store.InTx(ctx, func(tx StoreTx) error {
		ok, err := tx.MarkExpiredEventSent(ctx, tok.ID)
		if err != nil || !ok {
			return err
		}
		fired = true
		return m.appendAudit(ctx, tx, &ev)
	})
	if err != nil {
		m.log.Warn("could not record API token expiry", "token_id", tok.ID, "error", err)
		return
	}
	if fired {
		tok.ExpiredEventSent = true
		m.emit(ctx, ev)
	}
}

// noteUsed writes last_used, at most once per lastUsedInterval per token,
// with its "used" event. With the cache, the request that finds the write
// due claims it in the entry first, so concurrent requests of this process
// do not queue up behind one another on the row's lock; the entry then
// remembers the write (or that another writer was first), so the next
// write is due a minute later. A failed write gives the claim back.
func (m *Manager) noteUsed(ctx context.Context, tok *Token, now time.Time, entry *cacheEntry) {
	now = dbTime(now)
	if tok.LastUsed != nil && now.Sub(*tok.LastUsed) < lastUsedInterval {
		return
	}
	var seen int64 // the entry's last_used when tok was read (lookup)
	if entry != nil {
		if tok.LastUsed != nil {
			seen = tok.LastUsed.UnixNano()
		}
		if !entry.lastUsed.CompareAndSwap(seen, now.UnixNano()) {
			return // another request claimed or recorded a use since tok was read
		}
	}
	used := tok.clone()
	used.LastUsed = &now
	ev := Event{Kind: EventUsed, At: now, Token: used, ActorUserID: tok.UserID}
	wrote := false
	err := m.store.InTx(ctx, func(tx StoreTx) error {
		ok, err := tx.MarkUsed(ctx, tok.ID, now, now.Add(-lastUsedInterval))
		if err != nil || !ok {
			return err
		}
		wrote = true
		return m.appendAudit(ctx, tx, &ev)
	})
	if err != nil {
		m.log.Warn("could not record API token use", "token_id", tok.ID, "error", err)
		if entry != nil {
			entry.lastUsed.CompareAndSwap(now.UnixNano(), seen)
		}
		return
	}
	// Not written means another writer set it within the last minute; the
	// claim stands for this process either way.
	if wrote {
		tok.LastUsed = &now
		m.emit(ctx, ev)
	}
}
