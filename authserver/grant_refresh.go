package authserver

import (
	"context"
	"net/url"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/models"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/scopes"
)

// refresh serves the refresh_token grant (RFC 6749 §6) in one transaction:
//
//   - the refresh token must belong to the authenticated client
//     (docs/go-oauth2.md, "Findings and their tests", finding 1: go-oauth2 checks
//     neither the secret nor the binding);
//   - the requested scope must be a subset of the granted scope, still
//     allowed for the client (docs/go-oauth2.md, "Findings and their tests",
//     finding 2: the library lets any scope
//     replace it);
//   - the token is consumed by a conditional UPDATE, so of concurrent uses at
//     most one gets a new pair (docs/go-oauth2.md, "Findings and their tests", finding 5);
//   - presenting a token that was already rotated out — by a replay or by
//     losing that race — revokes the whole family (RFC 9700 §4.14.2,
//     docs/go-oauth2.md, "Findings and their tests", finding 7).
func (s *Server) refresh(ctx context.Context, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	c, err := authenticatedClient(ctx)
	if err != nil {
		return nil, err
	}
	if !c.AllowsGrant(GrantRefreshToken) {
		return nil, oerr(codeUnauthorizedClient, "the client may not use the refresh_token grant")
	}
	if !wellFormed(PrefixRefreshToken, tgr.Refresh) {
		return nil, errGrantInvalid // malformed: no database lookup
	}
	requested, err := scopes.ParseSet(tgr.Scope)
	if err != nil {
		return nil, oerr(codeInvalidScope, "the scope parameter is malformed (RFC 6749 §3.3)")
	}
	if ctx, err = s.access.prepare(ctx); err != nil {
		return nil, err
	}
	var (
		ti      *models.Token
		failure error
		reused  *tokenRow
	)
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		row, found, err := s.Tokens.byDigest(ctx, tx, kindRefresh, tgr.Refresh)
		if err != nil {
			return err
		}
		if found && row.ClientID == c.ID && s.db.Dialect == db.Postgres {
			// Serialise with every other change to this family, then read
			// the row again as it is now (READ COMMITTED: a new snapshot).
			if err := s.Tokens.lockGrant(ctx, tx, row.GrantID); err != nil {
				return err
			}
			if row, found, err = s.Tokens.byDigest(ctx, tx, kindRefresh, tgr.Refresh); err != nil {
				return err
			}
		}
		switch {
		case !found, row.ClientID != c.ID, row.RevokedAt.Valid:
			// Another client's token is refused without touching it.
			failure = errGrantInvalid
			return nil
		case row.ConsumedAt.Valid:
			reused = row
			return s.revokeReusedFamily(ctx, tx, row)
		case row.expired(s.now()):
			failure = errGrantInvalid
			return nil
		}
		// RFC 9449 §5: a DPoP-bound refresh token (a public client's) is
		// used only with a proof signed by the same key. A refusal leaves
		// the token alone: whoever lacks the key cannot spend it.
		if row.JKT != "" {
			switch jkt := jktFrom(ctx); {
			case jkt == "":
				failure = oerr(codeInvalidDPoPProof, "the refresh token is DPoP-bound: send a DPoP proof")
				return nil
			case jkt != row.JKT:
				failure = oerr(codeInvalidGrant, "the refresh token is bound to another DPoP key")
				return nil
			}
		}
		// RFC 6749 §6: the new scope must not include any scope not
		// originally granted; a client's scopes removed since then, and
		// scopes the registry no longer knows, are dropped too (as
		// requestedScope refuses them on a new grant).
		ceiling := s.knownScopes(scopesOf(row.Scope).Intersect(c.AllowedScopes()))
		scope := ceiling
		if !requested.Empty() {
			if !requested.SubsetOf(ceiling) {
				failure = oerr(codeInvalidScope, "the requested scope exceeds the scope originally granted")
				return nil
			}
			scope = requested
		}
		// RFC 8707 §2.2: resource may narrow the grant's audience for this
		// access token; the new refresh token keeps the whole grant's.
		aud, e := narrowAudience(grantAudience(extOf(row), s.cfg.Audience), formValues(tgr, "resource"))
		if e != nil {
			failure = e
			return nil
		}
		active, err := userActive(ctx, tx, row.userIDString())
		if err != nil {
			return err
		}
		if !active {
			failure = errGrantInvalid
			return nil
		}
		ok, err := s.Tokens.consume(ctx, tx, kindRefresh, tgr.Refresh)
		if err != nil {
			return err
		}
		if !ok {
			// A concurrent use consumed it between our read and our claim
			// (PostgreSQL, READ COMMITTED): that is reuse too.
			reused = row
			return s.revokeReusedFamily(ctx, tx, row)
		}
		ext, _ := url.ParseQuery(row.Extension)
		ti, err = s.issue(ctx, tx, issueParams{
			client: c, userID: row.userIDString(), scope: scope.String(), refreshScope: row.Scope,
			grantID: row.GrantID, grantCreatedAt: row.GrantCreatedAt, parentID: row.ID,
			redirectURI: row.RedirectURI, extension: ext, accessAudience: aud, refresh: true, request: tgr.Request,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused != nil {
		s.log.Warn("rotated-out refresh token reused; grant revoked", "client_id", reused.ClientID, "token", reused.Prefix)
		s.metrics.security("refresh_reuse")
		return nil, errGrantInvalid
	}
	if failure != nil {
		return nil, failure
	}
	s.metrics.issued(GrantRefreshToken)
	return ti, nil
}

// revokeReusedFamily revokes the family of a reused refresh token and
// appends the oauth.refresh_reused audit event, in the refresh transaction.
func (s *Server) revokeReusedFamily(ctx context.Context, tx *sqlx.Tx, row *tokenRow) error {
	n, err := s.Tokens.revokeGrantTx(ctx, tx, row.GrantID)
	if err != nil {
		return err
	}
	return appendGrantEvent(ctx, tx, AuditRefreshReused, row, row.ClientID, n)
}

// extOf parses a row's stored extension.
func extOf(row *tokenRow) url.Values {
	ext, _ := url.ParseQuery(row.Extension)
	return ext
}

// scopesOf parses a stored, canonical scope string.
func scopesOf(stored string) scopes.Set {
	set, err := scopes.ParseSet(stored)
	if err != nil {
		return scopes.Set{}
	}
	return set
}

// knownScopes returns set without the scopes the registry does not know
// (any more): a resource server that was unregistered takes its scopes
// out of every token refreshed afterwards.
func (s *Server) knownScopes(set scopes.Set) scopes.Set {
	if s.scopes == nil {
		return set
	}
	var known []string
	for _, sc := range set.Items() {
		if s.scopes.HasScope(sc) {
			known = append(known, sc)
		}
	}
	out, err := scopes.NewSet(known...)
	if err != nil {
		return scopes.Set{} // unreachable: the items came from a valid set
	}
	return out
}
