package remote

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens/policy"
)

var _ resources.TokenAuthenticator = (*Introspector)(nil)

// AuthenticateAPIToken implements resources.TokenAuthenticator for API
// tokens via introspection, so that a remote resource server answers as
// authgate itself would (Djblets; see docs/api-tokens.md, "Authentication"):
//
//   - a token of the wrong layout or checksum is refused locally, with
//     "The API token is malformed" and no call;
//   - an expired or invalidated token is refused with the exact message
//     authgate sends ("This API token expired on …", "This API token became
//     invalid on …: reason"), taken from the inactive_reason and
//     error_description members; an older server that omits them gets
//     LOGIN_FAILED's default message;
//   - a token of a deprecated format carries Deprecated, and the Guard adds
//     X-API-Token-Deprecated.
//
// The policy is compiled fail-closed (a response without one denies
// everything), once per introspection call; the answer is shared by every
// cache hit and must not be modified.
func (in *Introspector) AuthenticateAPIToken(ctx context.Context, raw string) (*resources.AuthenticatedToken, error) {
	if !wellFormedAPIToken(raw, in.opts.APITokenTypes) {
		return nil, errMalformed
	}
	res, err := in.introspect(ctx, raw, hintAPIToken)
	if err != nil {
		return nil, err
	}
	if res.apiTokenErr != nil {
		return nil, res.apiTokenErr
	}
	return res.apiToken, nil
}

// errMalformed is shared: the Guard only reads it.
var errMalformed = &resources.TokenError{Kind: resources.ErrTokenMalformed}

// apiTokenAnswer turns an introspection into AuthenticateAPIToken's answer.
func (in *Introspector) apiTokenAnswer(res *introspection, raw string) (*resources.AuthenticatedToken, error) {
	if res.TokenType != "" && res.TokenType != hintAPIToken {
		return nil, &resources.TokenError{Kind: resources.ErrTokenUnknown}
	}
	if !res.Active {
		return nil, refusal(res, raw)
	}
	if res.TokenType != hintAPIToken {
		return nil, &resources.TokenError{Kind: resources.ErrTokenUnknown}
	}
	uid, err := strconv.ParseInt(res.Sub, 10, 64)
	if err != nil || uid <= 0 || res.Username == "" {
		return nil, fmt.Errorf("introspect: api token response without a user (sub %q)", res.Sub)
	}
	tok := resources.APIToken{
		Prefix: displayPrefix(raw, in.opts.APITokenTypes),
		Policy: res.Policy,
		// An older server does not say; legacy_sha1 is authgate's one
		// deprecated format.
		Deprecated: tokenformat.ValidLegacy(raw),
	}
	if res.Deprecated != nil {
		tok.Deprecated = *res.Deprecated
	}
	if res.APITokenID != "" {
		if tok.ID, err = strconv.ParseInt(res.APITokenID, 10, 64); err != nil {
			return nil, fmt.Errorf("introspect: api_token_id %q is not a decimal ID", res.APITokenID)
		}
	}
	if res.Exp != 0 {
		t := time.Unix(res.Exp, 0).UTC()
		tok.Expires = &t
	}
	// A response without a policy is anomalous: deny everything (a nil
	// *policy.Compiled denies) rather than read it as {} (full access).
	var pol *policy.Compiled
	if len(res.Policy) > 0 && string(res.Policy) != "null" {
		pol = policy.FromStored(res.Policy)
	}
	return &resources.AuthenticatedToken{
		User:   resources.User{ID: uid, Username: res.Username, IsActive: true},
		Token:  tok,
		Policy: pol,
	}, nil
}

// refusal is the TokenError for an inactive API token. RFC 7662 §2.2 lets
// the server say no more than "inactive"; authgate tells a resource-server
// client why, with the text it would itself send.
func refusal(res *introspection, raw string) *resources.TokenError {
	kind := resources.ErrTokenUnknown
	switch res.InactiveReason {
	case "expired":
		kind = resources.ErrTokenExpired
	case "invalid":
		kind = resources.ErrTokenInvalidated
	case "user_inactive":
		kind = resources.ErrTokenUserInactive
	}
	msg := res.ErrorDescription
	if kind == resources.ErrTokenUnknown || !safeMessage(msg, raw) {
		msg = ""
	}
	return &resources.TokenError{Kind: kind, Message: msg}
}

// safeMessage accepts a server-provided message for the client: short,
// printable, one line, and not echoing the token.
func safeMessage(msg, raw string) bool {
	if msg == "" || len(msg) > 512 || strings.Contains(msg, raw) {
		return false
	}
	for _, r := range msg {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
