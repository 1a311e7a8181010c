// Package resources is the gin middleware that protects an API with
// authgate's credentials: declare a Resource, get a gin.HandlerFunc from
// Guard.Protect, and read the caller from PrincipalFrom in the handler.
//
// The middleware authenticates (API token, OAuth2 bearer token, HTTP Basic
// or a browser session), then authorizes with Djblets' rules: OAuth2 tokens
// by "<scope name>:<action>" scopes, API tokens by their policy. Every
// failure is rendered by Fail as Djblets' error envelope
// {"stat":"fail","err":{"code","msg","type"}} with the HTTP status of
// docs/api-tokens.md, "Errors and codes" and, on 401s, WWW-Authenticate challenges for
// the schemes the Guard accepts.
//
// The effective method is always the request's real HTTP method. Djblets'
// "_method" form-field override is deliberately not supported: honouring it
// would mean reading the request body in the middleware, and it would let
// the method that proxies, logs, CSRF rules and rate limits see (POST)
// differ from the one that is authorized (say DELETE). Clients that cannot
// send PUT or DELETE are not a concern for an API spoken by programs.
package resources
