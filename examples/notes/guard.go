package main

// The essential code: every line that uses authgate's public packages
// (resources, resources/remote). README.md, "Protect your own API", walks
// through it.

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/resources/remote"
)

// protect returns the wrapper that puts an API handler behind authgate's
// Guard for the resource "note" (scopes note:read|write|destroy; API-token
// policies name it "note" and the note ID, the route pattern's {id}, as
// the object ID). Only tokens whose aud is o.audience get in.
// Introspection answers are reused for o.revocationBound, so a revoked
// token is refused within that bound.
func protect(o options) (func(handlerFunc) http.Handler, error) {
	jwks, err1 := remote.NewJWKSValidator(remote.JWKSOptions{Issuer: o.issuer, MinRefetch: o.keyRefetch})
	live, err2 := remote.NewIntrospector(remote.IntrospectorOptions{URL: o.issuer + "/oauth/introspect", ClientID: o.clientID,
		ClientSecret: o.clientSecret, APITokenTTL: o.revocationBound, AccessTokenTTL: o.revocationBound})
	guard, err3 := resources.NewGuard(resources.GuardConfig{Bearer: confirmed{jwks, live}, Tokens: live, Audience: o.audience,
		FailedAuth: resources.NewFailureBuckets(o.failedAuth, time.Minute, nil), NoFailedAuthLimit: o.failedAuth < 0})
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	check := guard.Middleware(resources.Resource{Name: "note", IDParam: "id"})
	return func(h handlerFunc) http.Handler {
		return check(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, _ := resources.PrincipalFromContext(r.Context())
			h(w, r, caller{User: p.User.Username, Client: p.ClientID, Denied: resources.DeniedObjectIDs(r.Context())})
		}))
	}, nil
}

// confirmed checks a JWT access token locally first (a published key's
// signature, iss, exp), so junk and forged tokens never reach authgate,
// then asks authgate whether it is still active (the answer is cached for
// the revocation bound). The Guard checks aud on the answer, and
// RequiresAudience makes NewGuard refuse a config without an Audience.
// See README.md, "Protect your own API".
type confirmed struct{ jwt, live resources.BearerValidator }

func (confirmed) RequiresAudience() bool { return true }

func (v confirmed) ValidateBearer(ctx context.Context, raw string) (*resources.BearerToken, error) {
	if _, err := v.jwt.ValidateBearer(ctx, raw); err != nil {
		return nil, err
	}
	return v.live.ValidateBearer(ctx, raw)
}
