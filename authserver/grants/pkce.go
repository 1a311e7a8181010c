package grants

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// PKCE methods (RFC 7636 §4.2).
const (
	MethodS256  = "S256"
	MethodPlain = "plain"
)

// VerifyPKCE checks a code_verifier against the challenge stored with the
// code. go-oauth2 answered a missing or unexpected verifier with 500 and
// skipped the check for public clients that sent no challenge
// (docs/go-oauth2.md, "PKCE"; docs/go-oauth2.md, "Findings and their
// tests", finding 6); here each case is invalid_grant (400).
func VerifyPKCE(pol PKCEPolicy, public bool, challenge, method, verifier string) *Refusal {
	switch {
	case challenge == "" && verifier != "":
		// RFC 9700 §2.1.1: reject a verifier when no challenge was sent
		// (PKCE downgrade).
		return refuse(CodeInvalidGrant, "code_verifier sent, but the authorization request had no code_challenge")
	case challenge == "":
		if public || !pol.AllowConfidentialWithout {
			return refuse(CodeInvalidGrant, "this client must use PKCE")
		}
		return nil
	case verifier == "":
		return refuse(CodeInvalidGrant, "code_verifier is required (RFC 7636 §4.5)")
	case !ValidPKCEValue(verifier):
		return refuse(CodeInvalidGrant, "code_verifier is malformed (RFC 7636 §4.1)")
	}
	var computed string
	switch method {
	case MethodS256:
		sum := sha256.Sum256([]byte(verifier))
		computed = base64.RawURLEncoding.EncodeToString(sum[:])
	case MethodPlain:
		if !pol.AllowPlain {
			return refuse(CodeInvalidGrant, "the plain PKCE method is not allowed")
		}
		computed = verifier
	default:
		return refuse(CodeInvalidGrant, "unsupported code_challenge_method")
	}
	if subtle.ConstantTimeCompare([]byte(computed), []byte(strings.TrimRight(challenge, "="))) != 1 {
		return refuse(CodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	return nil
}

// ValidPKCEValue checks RFC 7636 §4.1's verifier grammar, which a challenge
// (base64url of a SHA-256, or a plain verifier) also satisfies:
// 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func ValidPKCEValue(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
