// Package dpop verifies DPoP proofs (RFC 9449): the signed JWTs a client
// sends in the DPoP header to prove it holds the key an access token or
// refresh token is bound to. The authorization server's token endpoint and
// the resources Guard share one Verifier; a ReplayStore remembers the jti of
// every accepted proof (SQL across instances, or in memory for a single
// resource server).
package dpop
