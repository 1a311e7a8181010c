package remote

import (
	"github.com/authgate/authgate/internal/tokenformat"
)

// DefaultAPITokenTypes are the vendor prefixes recognised when
// IntrospectorOptions.APITokenTypes is empty: authgate's default.
var DefaultAPITokenTypes = []string{"agp"}

// wellFormedAPIToken reports whether raw has the layout of an API token:
// vendor_checksum with one of types (format and CRC-32 checksum), or the
// 40 hex digits of legacy_sha1. It does no I/O, so junk never reaches the
// authorization server.
func wellFormedAPIToken(raw string, types []string) bool {
	if tokenformat.ValidLegacy(raw) {
		return true
	}
	for _, t := range types {
		if tokenformat.HasPrefix(raw, t) {
			return tokenformat.ValidVendorChecksum(raw, t)
		}
	}
	return false
}

// wellFormedAccessToken reports whether raw can be an authgate access token:
// an opaque agat_ value with a valid checksum, or the shape of a JWS.
func wellFormedAccessToken(raw string) bool {
	if tokenformat.HasPrefix(raw, tokenformat.PrefixAccessToken) {
		return tokenformat.ValidOpaque(raw, tokenformat.PrefixAccessToken)
	}
	return tokenformat.LooksLikeJWS(raw)
}

// displayPrefix is the part of an API token that may be shown: "<type>_"
// and 4 characters, or 4 hex digits of a legacy token.
func displayPrefix(raw string, types []string) string {
	for _, t := range types {
		if tokenformat.HasPrefix(raw, t) {
			return raw[:min(len(raw), len(t)+1+4)]
		}
	}
	return raw[:min(len(raw), 4)]
}
