// Package mgmtapi is authgate's own management API under /api/: the root,
// the "who am I" session resource, users, API tokens, the resource registry
// and the OAuth2 applications (/api/oauth-apps/), modelled on Review Board's
// Web API and its {"stat":"ok",…} envelopes.
//
// Every route is a declared resources.Resource protected by the same
// resources.Guard that resource servers use; the API-token and OAuth2
// application resources refuse API tokens and OAuth2 tokens (as in Review
// Board, a token can never mint tokens). Djblets' "_method" override is not
// supported: see package resources.
//
// Only the composition root (internal/app) and the CLI import this package.
// It calls the authorization server's client-management operations through
// ClientAdmin; the authorization server never imports it (see
// docs/architecture.md, "The import rule").
package mgmtapi
