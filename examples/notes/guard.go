package main

// The essential code: every line that uses authgate's public packages
// (resources, resources/remote). README.md, "Protect your own API", walks
// through it.

import (
	"context"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// protect serves routes on r behind authgate's Guard for the resource
// "note" (scopes note:read|write|destroy; API-token policies name it
// "note" and the note ID as the object ID).
func protect(o options, r gin.IRoutes, routes []route) error {
	jwks, err1 := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: o.issuer, Audience: o.audience, MinRefetch: o.keyRefetch})
	live, err2 := remote.NewIntrospector(remote.IntrospectorOptions{URL: o.issuer + "/oauth/introspect",
		ClientID: o.clientID, ClientSecret: o.clientSecret, CacheTTL: o.revocationBound})
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	check := resources.NewGuard(resources.GuardConfig{Bearer: confirmed{jwks, live}, Tokens: live}).Protect(resources.Resource{Name: "note", IDParam: "id"})
	for _, rt := range routes {
		r.Handle(rt.method, strings.ReplaceAll(rt.path, "{id}", ":id"), check, func(c *gin.Context) {
			p, _ := resources.PrincipalFrom(c)
			c.Request.SetPathValue("id", c.Param("id"))
			rt.h(c.Writer, c.Request, caller{User: p.User.Username, Client: p.ClientID, Denied: resources.DeniedObjectIDs(c)})
		})
	}
	return nil
}

// confirmed checks a JWT access token locally first (a published key's
// signature, iss, aud, exp), so junk and forged tokens never reach
// authgate, then asks authgate whether it is still active; the answer is
// cached for the revocation bound. See README.md, "Protect your own API".
type confirmed struct{ jwt, live resources.BearerValidator }

func (v confirmed) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	if _, err := v.jwt.ValidateBearer(ctx, raw); err != nil {
		return nil, err
	}
	return v.live.ValidateBearer(ctx, raw)
}
