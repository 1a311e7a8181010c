package grants

// CodeRequest is what an authorization_code token request brings
// (RFC 6749 §4.1.3, RFC 7636 §4.5).
type CodeRequest struct {
	ClientID string
	// Public: the authenticated client has no secret.
	Public bool
	// RedirectURI is the request's redirect_uri; RedirectOmitted says it
	// was not sent at all.
	RedirectURI     string
	RedirectOmitted bool
	Verifier        string
	// TargetErr is the refusal of the request's resource parameters
	// (RFC 8707 §2.2), checked by the caller; nil if they are fine.
	TargetErr error
}

// PKCEPolicy is the server's PKCE configuration.
type PKCEPolicy struct {
	// AllowConfidentialWithout lets confidential clients redeem a code
	// issued without a code_challenge (oauth.allow_confidential_without_pkce);
	// the zero policy requires PKCE from every client.
	AllowConfidentialWithout bool
	AllowPlain               bool // accept the plain method
}

// StoredCode is a stored authorization code.
type StoredCode struct {
	Stored
	RedirectURI     string
	Challenge       string
	ChallengeMethod string
}

// RedeemCode decides an authorization-code redemption:
//
//   - a code that was redeemed before is a replay: refuse and revoke its
//     grant (RFC 6749 §4.1.2, RFC 9700 §4.5), whoever presents it;
//   - an unknown, revoked or expired code is refused and left alone;
//   - a live code is consumed by this request whatever follows, so a failed
//     attempt cannot be retried with other parameters;
//   - it must have been issued to this client, for this redirect URI
//     (which may be omitted only when PKCE binds the code, OAuth 2.1
//     §4.1.3), with a verifier matching its challenge (RFC 7636 §4.6), to a
//     user who is still active.
func RedeemCode(req CodeRequest, pkce PKCEPolicy, code StoredCode) Decision {
	switch {
	case !code.Found:
		return refused(ErrGrantInvalid, false)
	case code.Consumed:
		return Decision{Action: RevokeFamily, Err: ErrGrantInvalid}
	case code.Revoked, code.Expired:
		return refused(ErrGrantInvalid, false)
	case code.ClientID != req.ClientID:
		return refused(ErrGrantInvalid, true) // issued to another client
	}
	switch {
	case req.RedirectOmitted && code.Challenge == "":
		// RFC 6749 §4.1.3: without PKCE the redirect URI is what binds the
		// code to the request, so it must be repeated.
		return refused(refuse(CodeInvalidRequest, "redirect_uri is required for a code issued without PKCE"), true)
	case req.RedirectOmitted:
		// OAuth 2.1 §4.1.3: the code is bound by PKCE (verified below) and
		// was issued for code.RedirectURI.
	case code.RedirectURI != req.RedirectURI:
		return refused(refuse(CodeInvalidGrant, "redirect_uri does not match the authorization request"), true)
	}
	if err := VerifyPKCE(pkce, req.Public, code.Challenge, code.ChallengeMethod, req.Verifier); err != nil {
		return refused(err, true)
	}
	if !code.UserActive {
		return refused(ErrGrantInvalid, true)
	}
	if req.TargetErr != nil {
		return refused(req.TargetErr, true)
	}
	return Decision{Action: Issue, Consume: true}
}
