package authserver

import (
	"encoding/base64"

	"github.com/authgate/authgate/internal/jwk"
)

// JWK is one RFC 7517 public key; encoding and the RFC 7638 thumbprint are
// internal/jwk's, shared with the DPoP verifier and remote validation.
type JWK = jwk.JWK

// JWKS is an RFC 7517 §5 key set.
type JWKS = jwk.Set

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
