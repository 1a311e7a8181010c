package authserver

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	"github.com/go-oauth2/oauth2/v4"

	"github.com/authgate/authgate/authserver/oauthstore"

	"github.com/authgate/authgate/scopes"
)

// Extension keys for audiences (RFC 8707). extAudience is the grant's
// audience, fixed when the code (or client_credentials token) is issued and
// carried by every token of the grant: the ceiling a later request may
// narrow but never widen. extAccessAudience is an access token's own,
// narrower audience when a token request chose a subset. Without either, a
// token is for authgate's configured audience. See
// docs/introspection-and-audience.md, "Audience".
const (
	extAudience       = "authgate_aud"
	extAccessAudience = oauthstore.ExtAccessAudience
)

// codeInvalidTarget is RFC 8707 §2's error for a resource parameter that is
// malformed, unknown, or wider than the grant.
const codeInvalidTarget = "invalid_target"

// AudienceSource is what audience resolution needs from the scope registry
// (*scopes.Registry implements it).
type AudienceSource interface {
	KnownAudience(uri string) bool
	ScopeAudience(scope string) string
}

// extensionOf returns the extension values of a go-oauth2 record.
func extensionOf(ti oauth2.TokenInfo) url.Values {
	if e, ok := ti.(oauth2.ExtendableTokenInfo); ok {
		return e.GetExtension()
	}
	return nil
}

// accessAudience is the aud of an access token with extension ext.
func accessAudience(ext url.Values, own string) []string {
	if aud := ext[extAccessAudience]; len(aud) > 0 {
		return aud
	}
	if aud := ext[extAudience]; len(aud) > 0 {
		return aud
	}
	return []string{own}
}

// grantAudience is the audience a grant's tokens may carry at most.
func grantAudience(ext url.Values, own string) []string {
	if aud := ext[extAudience]; len(aud) > 0 {
		return aud
	}
	return []string{own}
}

// resolveAudience decides the audience of a new grant (RFC 8707 §2) from
// the resource parameters and the granted scope:
//
//   - with resource parameters, each must be an absolute URI without a
//     fragment naming a declared resource's audience or own (authgate's
//     API); the audience is their set;
//   - without, when every scope belongs to resources declaring one and the
//     same audience, that audience (so a token for a resource server's
//     scopes is usable there without the client knowing about resource
//     indicators);
//   - otherwise nil: the token is for own, as before.
//
// The error is an invalid_target oauthError.
func resolveAudience(src AudienceSource, own string, resource []string, scope scopes.Set) ([]string, *oauthError) {
	if len(resource) > 0 {
		out := make([]string, 0, len(resource))
		for _, r := range resource {
			if e := checkResource(src, own, r); e != nil {
				return nil, e
			}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
		slices.Sort(out)
		return out, nil
	}
	if src == nil || scope.Empty() {
		return nil, nil
	}
	aud := ""
	for _, sc := range scope.Items() {
		a := src.ScopeAudience(sc)
		if a == "" || (aud != "" && a != aud) {
			return nil, nil
		}
		aud = a
	}
	return []string{aud}, nil
}

// checkResource validates one resource parameter (RFC 8707 §2: an absolute
// URI, no fragment) and that authgate issues tokens for it.
func checkResource(src AudienceSource, own, r string) *oauthError {
	u, err := url.Parse(r)
	if err != nil || !u.IsAbs() || u.Fragment != "" || u.RawFragment != "" {
		return oerr(codeInvalidTarget, fmt.Sprintf("resource %q must be an absolute URI without a fragment", truncateDesc(r, 80)))
	}
	if r != own && (src == nil || !src.KnownAudience(r)) {
		return oerr(codeInvalidTarget, fmt.Sprintf("resource %q is not a resource server known to this authorization server", truncateDesc(r, 80)))
	}
	return nil
}

// narrowAudience applies the resource parameters of a token request to a
// grant whose audience is ceiling (RFC 8707 §2.2): nil keeps the ceiling;
// otherwise each must be in it, so the request can only narrow.
func narrowAudience(ceiling, resource []string) ([]string, *oauthError) {
	if len(resource) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(resource))
	for _, r := range resource {
		if !slices.Contains(ceiling, r) {
			return nil, oerr(codeInvalidTarget, fmt.Sprintf("resource %q was not part of the authorization grant", truncateDesc(r, 80)))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

type audienceKey struct{}

// withAudience carries a new grant's audience to extractExtension, which
// go-oauth2 calls with the request while it builds a code or a
// client_credentials token.
func withAudience(ctx context.Context, aud []string) context.Context {
	return context.WithValue(ctx, audienceKey{}, aud)
}

func audienceFrom(ctx context.Context) []string {
	aud, _ := ctx.Value(audienceKey{}).([]string)
	return aud
}
