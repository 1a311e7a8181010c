// Package remote validates authgate credentials in a resource server that
// runs apart from authgate: JWT access tokens locally against the issuer's
// JWKS (RFC 9068, RFC 7517), and opaque access tokens and API tokens by
// RFC 7662 introspection, with bounded caches.
//
// The validators plug into resources.GuardConfig (Bearer and Tokens), so a
// remote resource server enforces scopes and API-token policies exactly as
// authgate does. Caches never hold a raw token, only its SHA-256 digest.
package remote
