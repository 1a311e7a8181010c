package grants

import "github.com/authgate/authgate/scopes"

// RefreshRequest is what a refresh_token token request brings (RFC 6749 §6).
type RefreshRequest struct {
	ClientID string
	// JKT is the thumbprint of the request's verified DPoP proof ("" for
	// none).
	JKT string
	// Requested is the scope parameter (empty: the grant's).
	Requested scopes.Set
	// Allowed is the client's allowed scopes now.
	Allowed scopes.Set
	// Known reports whether the scope registry still knows a scope; nil
	// knows every scope.
	Known func(string) bool
	// TargetErr is the refusal of the request's resource parameters
	// (RFC 8707 §2.2), checked by the caller; nil if they are fine.
	TargetErr error
}

// StoredRefresh is a stored refresh token.
type StoredRefresh struct {
	Stored
	Scope scopes.Set // the scope the grant gave
	JKT   string     // the DPoP key it is bound to ("" unbound)
}

// RotateRefresh decides a refresh-token rotation:
//
//   - the token must be the authenticated client's: another client's token
//     is refused without being touched (go-oauth2 checked no binding:
//     docs/go-oauth2.md, "Findings and their tests", finding 1), as is a
//     revoked one;
//   - a token already rotated out is a reuse: refuse and revoke the family
//     (RFC 9700 §4.14.2);
//   - a DPoP-bound token needs a proof by the same key (RFC 9449 §5); a
//     refusal leaves the token alone, since whoever lacks the key cannot
//     spend it;
//   - the new scope is at most the granted scope, still allowed for the
//     client and known to the registry (RFC 6749 §6; the library let any
//     scope replace it: finding 2);
//   - the user must still be active;
//   - then the token is consumed and a new pair issued.
func RotateRefresh(req RefreshRequest, tok StoredRefresh) Decision {
	switch {
	case !tok.Found, tok.ClientID != req.ClientID, tok.Revoked:
		return refused(ErrGrantInvalid, false)
	case tok.Consumed:
		return Decision{Action: RevokeFamily, Err: ErrGrantInvalid}
	case tok.Expired:
		return refused(ErrGrantInvalid, false)
	}
	if tok.JKT != "" {
		switch {
		case req.JKT == "":
			return refused(refuse(CodeInvalidDPoPProof, "the refresh token is DPoP-bound: send a DPoP proof"), false)
		case req.JKT != tok.JKT:
			return refused(refuse(CodeInvalidGrant, "the refresh token is bound to another DPoP key"), false)
		}
	}
	scope := Ceiling(tok.Scope, req.Allowed, req.Known)
	if !req.Requested.Empty() {
		if !req.Requested.SubsetOf(scope) {
			return refused(refuse(CodeInvalidScope, "the requested scope exceeds the scope originally granted"), false)
		}
		scope = req.Requested
	}
	if req.TargetErr != nil {
		return refused(req.TargetErr, false)
	}
	if !tok.UserActive {
		return refused(ErrGrantInvalid, false)
	}
	return Decision{Action: Issue, Consume: true, Scope: scope}
}

// Ceiling is the most a refreshed access token may carry: the granted
// scopes the client is still allowed and the registry still knows (a
// resource server that was unregistered takes its scopes out of every token
// refreshed afterwards, as a new grant could not ask for them).
func Ceiling(granted, allowed scopes.Set, known func(string) bool) scopes.Set {
	set := granted.Intersect(allowed)
	if known == nil {
		return set
	}
	var keep []string
	for _, sc := range set.Items() {
		if known(sc) {
			keep = append(keep, sc)
		}
	}
	out, err := scopes.NewSet(keep...)
	if err != nil {
		return scopes.Set{} // unreachable: the items came from a valid set
	}
	return out
}
