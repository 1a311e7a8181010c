package authserver

import (
	"context"

	"github.com/go-oauth2/oauth2/v4"
	"github.com/go-oauth2/oauth2/v4/manage"

	"github.com/authgate/authgate/scopes"
)

// clientGrant serves the client_credentials grant.
type clientGrant struct {
	scopes   ScopeRegistry // nil: any scope the client is allowed
	audience string        // authgate's own
	metrics  *metrics
}

// handle serves the client_credentials grant (RFC 6749 §4.4):
// a confidential client allowed this grant gets an access token for the
// requested scope — which must be among its allowed scopes — or for all its
// allowed, known scopes when it asks for none. No refresh token (§4.4.3).
// The library's manager issues it with our stores and generator.
func (g *clientGrant) handle(ctx context.Context, inner *manage.Manager, tgr *oauth2.TokenGenerateRequest) (oauth2.TokenInfo, error) {
	c, err := authenticatedClient(ctx)
	if err != nil {
		return nil, err
	}
	if c.Public || !c.AllowsGrant(GrantClientCredentials) {
		return nil, oerr(codeUnauthorizedClient, "the client may not use the client_credentials grant")
	}
	set, err := requestedScope(g.scopes, c, tgr.Scope)
	if err != nil {
		return nil, err
	}
	if set.Empty() {
		var known []string
		for _, sc := range c.Scopes {
			if g.scopes == nil || g.scopes.HasScope(sc) {
				known = append(known, sc)
			}
		}
		if set, err = scopes.NewSet(known...); err != nil {
			return nil, err
		}
	}
	aud, e := resolveAudience(g.scopes, g.audience, formValues(tgr, "resource"), set)
	if e != nil {
		return nil, e
	}
	if tgr.Request != nil {
		tgr.Request = tgr.Request.WithContext(withAudience(tgr.Request.Context(), aud))
	}
	tgr.Scope = set.String()
	tgr.UserID = ""
	ti, err := inner.GenerateAccessToken(ctx, oauth2.ClientCredentials, tgr)
	if err != nil {
		return nil, err
	}
	g.metrics.issued(GrantClientCredentials)
	return ti, nil
}
