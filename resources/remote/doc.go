// Package remote validates authgate credentials in a resource server that
// runs apart from authgate: JWT access tokens locally against the issuer's
// JWKS (RFC 9068, RFC 7517), and opaque access tokens and API tokens by
// RFC 7662 introspection.
//
// The validators plug into resources.GuardConfig (Bearer and Tokens), with
// the Guard's Audience as the one audience check, so a remote resource
// server enforces scopes and API-token policies, and answers with the same
// envelope, codes and messages, as authgate does. Malformed credentials are
// refused without a network call; identical concurrent lookups share one
// call; caches are bounded in size and lifetime and hold only SHA-256
// digests of tokens; an unreachable or overloaded authgate is reported as
// resources.UnavailableError, which the Guard answers 503 with Retry-After.
// See docs/resource-servers.md.
package remote
