// Package resources is the middleware that protects an API with authgate's
// credentials: declare a Resource, wrap the handler with Guard.Middleware
// (net/http) or Guard.Protect (gin), and read the caller with
// PrincipalFromContext (or PrincipalFrom) in the handler. It stands alone:
// it links no database driver and none of authgate's stores; a resource
// server apart from authgate plugs in the validators of resources/remote.
// See docs/resource-servers.md.
//
// The middleware authenticates (API token, OAuth2 bearer token, HTTP Basic
// or a browser session), then authorizes with Djblets' rules: OAuth2 tokens
// by "<scope name>:<action>" scopes, API tokens by their policy. Every
// failure is rendered by Fail as Djblets' error envelope
// {"stat":"fail","err":{"code","msg","type"}} with Djblets' HTTP status for
// each code and, on 401s, WWW-Authenticate challenges for
// the schemes the Guard accepts.
//
// List routes: a policy can hide single objects ({"photos": {"7": {"block":
// ["GET"]}}}), which refuses the item route but cannot refuse the list
// route. Protect a list route with Guard.List (net/http) or
// Guard.ProtectList (gin): the handler receives a Hidden, and must leave
// out every object whose ID it Has (Filter does it for a slice). A list
// protected by Middleware or Protect must call DeniedObjectIDs or
// FilterList itself. The Guard cannot enforce this for you: only the
// handler knows which objects it returns.
//
// Failed authentication is limited per client IP (GuardConfig.FailedAuth,
// Djblets' LOGIN_LIMIT_RATE): each refused Authorization header counts,
// malformed ones included, and over the limit every header from that
// address gets 401 "Maximum number of login attempts exceeded." with
// Retry-After.
//
// The effective method is always the request's real HTTP method. Djblets'
// "_method" form-field override is deliberately not supported: honouring it
// would mean reading the request body in the middleware, and it would let
// the method that proxies, logs, CSRF rules and rate limits see (POST)
// differ from the one that is authorized (say DELETE). Clients that cannot
// send PUT or DELETE are not a concern for an API spoken by programs.
package resources
