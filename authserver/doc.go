// Package authserver is authgate's OAuth2 authorization server: client
// registry, token endpoint (authorization_code, refresh_token,
// client_credentials), revocation, introspection, discovery, JWKS and RFC 9068
// JWT access tokens, signed with the keys of package authserver/signing.
//
// It drives github.com/go-oauth2/oauth2/v4 for form parsing, the grant switch
// and response writing, and replaces every part its audit
// (docs/go-oauth2.md, "Findings and their tests";
// docs/go-oauth2.md, "Hooks authgate replaces") marks unsafe: client
// authentication,
// redirect matching, PKCE policy, atomic code and refresh consumption with
// replay/reuse revocation, refresh binding and scope narrowing, error mapping
// and token formats.
//
// Client changes, detected code replays and refresh-token reuses, and
// consent withdrawals are recorded in the append-only audit log
// (internal/audit; kinds in oauthstore/auditlog.go), in the transaction of the change.
package authserver
