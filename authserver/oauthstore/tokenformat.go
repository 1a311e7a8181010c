package oauthstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/tokenformat"
	"github.com/authgate/authgate/tokens"
)

// Prefixes of the opaque values authgate issues
// (docs/architecture.md, "The OAuth2 server"). Each value is
// "<prefix>_" + 43 base62 characters from crypto/rand (≈256 bits) + the
// 6-character base62 CRC-32 of those characters, the vendor_checksum layout
// of API tokens, so leaked values are recognisable and malformed ones are
// rejected before any database lookup.
const (
	PrefixCode         = "agac" // authorization code
	PrefixRefreshToken = "agrt" // refresh token
	PrefixAccessToken  = "agat" // opaque access token (access_token_format: opaque)
	PrefixClientSecret = "agcs" // client secret
	PrefixClientID     = "agci" // client ID (not a secret; unguessable and never numeric)
	PrefixDeviceCode   = "agdc" // device code (RFC 8628)
)

// opaqueLength is prefix (4) + "_" + 43 entropy characters + 6 checksum.
// RFC 6749 §10.10 asks for a guessing chance ≤ 2^-128 and recommends ≤ 2^-160;
// 43 base62 characters carry 256 bits.
const opaqueLength = 4 + 1 + 43 + 6

// clientIDLength is "agci_" + 22 base62 characters (≈131 bits) + checksum.
const clientIDLength = 4 + 1 + tokens.MinEntropyLength + 6

// NewOpaque returns a fresh value with the given prefix. It reuses the API
// tokens' vendor_checksum generator so both token families share one format.
func NewOpaque(prefix string) (string, error) {
	return newVendorValue(prefix, opaqueLength)
}

func newVendorValue(prefix string, length int) (string, error) {
	v, err := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: prefix, Length: length})
	if err != nil {
		return "", fmt.Errorf("generate %s value: %w", prefix, err)
	}
	return v, nil
}

// WellFormed reports whether raw has the prefix, alphabet and checksum of an
// opaque value of that kind. It does no I/O.
func WellFormed(prefix, raw string) bool {
	if len(raw) != opaqueLength {
		return false
	}
	return tokens.VendorChecksum{}.Validate(raw, tokens.TokenInfo{TokenType: prefix})
}

// HasPrefix reports whether raw starts with "<prefix>_".
func HasPrefix(raw, prefix string) bool { return tokenformat.HasPrefix(raw, prefix) }

// Digest is the hex SHA-256 stored instead of a secret value
// (docs/architecture.md, "Storage and invalidation": the
// values are ≥128-bit random, so a slow hash buys nothing).
func Digest(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(sum[:])
}

// DisplayPrefix is the part of a value that may be shown: "<prefix>_" + 4.
func DisplayPrefix(raw string) string {
	n := 4 + 1 + 4
	if n > len(raw) {
		n = len(raw)
	}
	return raw[:n]
}

// DBNow is now in UTC at the microsecond precision both databases keep.
func DBNow(now func() time.Time) time.Time { return now().UTC().Truncate(time.Microsecond) }
