// Package signing holds authgate's JWT signing keys: the KeySet shared by
// every instance through the signing_keys table, their rotation (published
// before they sign, kept until their last token expires), their encryption
// at rest with a key-encryption key, the JWKS document (RFC 7517) and the
// sign and verify primitives the access-token issuer uses. It knows nothing
// of OAuth: package authserver decides what to sign.
//
// See docs/security.md, "JWT signing keys".
package signing
