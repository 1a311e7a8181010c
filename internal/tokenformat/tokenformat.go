// Package tokenformat holds the pure format checks of authgate's
// credentials: Djblets' vendor_checksum layout (API tokens and authgate's
// opaque OAuth values), the legacy_sha1 layout, and the shape of a JWS.
// It does no I/O and imports only the standard library, so a resource
// server can refuse a malformed credential locally (package
// resources/remote) without linking authgate's storage.
package tokenformat

import "hash/crc32"

// ChecksumLength is the length of the base62 CRC-32 that ends a
// vendor_checksum value (Djblets pads it to 6 characters).
const ChecksumLength = 6

// MaxVendorLength is Djblets' fixed vendor_checksum length, the longest
// accepted.
const MaxVendorLength = 255

// MinEntropyLength is the fewest random characters a vendor_checksum value
// may have (22 base62 characters carry ≈131 bits; RFC 6749 §10.10 asks for
// a guessing chance of at most 2^-128).
const MinEntropyLength = 22

// LegacyLength is the length of a legacy_sha1 token (40 hex digits).
const LegacyLength = 40

// Prefixes of the opaque values authgate issues. Each is "<prefix>_" + 43
// base62 characters + the 6-character checksum (OpaqueLength in all).
const (
	PrefixCode         = "agac" // authorization code
	PrefixRefreshToken = "agrt" // refresh token
	PrefixAccessToken  = "agat" // opaque access token
	PrefixClientSecret = "agcs" // client secret
	PrefixClientID     = "agci" // client ID
	PrefixDeviceCode   = "agdc" // device code (RFC 8628)
)

// OpaqueLength is the length of an opaque value: prefix (4) + "_" + 43
// entropy characters + 6 checksum characters.
const OpaqueLength = 4 + 1 + 43 + ChecksumLength

// Alphabet is Djblets' base62 CHARSET: digits, upper case, lower case. The
// order matters for the checksum encoding.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Checksum returns the 6 characters Djblets appends to entropy: CRC-32
// (IEEE) of its bytes, base62, left-padded with '0'.
func Checksum[S string | []byte](entropy S) [ChecksumLength]byte {
	var crc uint32
	switch e := any(entropy).(type) {
	case string:
		crc = crc32.ChecksumIEEE([]byte(e))
	case []byte:
		crc = crc32.ChecksumIEEE(e)
	}
	return Base62Pad6(crc)
}

// Base62Pad6 encodes n in base 62, most significant digit first,
// left-padded with '0' to 6 characters (2^32-1 is "4gfFC3").
func Base62Pad6(n uint32) [ChecksumLength]byte {
	var out [ChecksumLength]byte
	for i := ChecksumLength - 1; i >= 0; i-- {
		out[i] = Alphabet[n%62]
		n /= 62
	}
	return out
}

// IsBase62 reports whether c is in Alphabet.
func IsBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

func swapCase(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case 'a' <= c && c <= 'z':
		return c - ('a' - 'A')
	}
	return c
}

// MinVendorLength is the shortest vendor_checksum value of tokenType.
func MinVendorLength(tokenType string) int {
	return len(tokenType) + 1 + MinEntropyLength + ChecksumLength
}

// ValidVendorChecksum reports whether token is "<tokenType>_" + base62
// entropy + the checksum of that entropy (or the checksum with its letters'
// case swapped: Djblets 3.0's alphabet bug, still accepted), at most
// MaxVendorLength long and with at least MinEntropyLength entropy
// characters.
func ValidVendorChecksum(token, tokenType string) bool {
	tt := tokenType
	if tt == "" || len(token) > MaxVendorLength || len(token) < MinVendorLength(tt) {
		return false
	}
	if token[:len(tt)] != tt || token[len(tt)] != '_' {
		return false
	}
	for i := len(tt) + 1; i < len(token); i++ {
		if !IsBase62(token[i]) {
			return false
		}
	}
	split := len(token) - ChecksumLength
	sum := Checksum(token[len(tt)+1 : split])
	tail := token[split:]
	same, swapped := true, true
	for i := range ChecksumLength {
		if tail[i] != sum[i] {
			same = false
		}
		if tail[i] != swapCase(sum[i]) {
			swapped = false
		}
	}
	return same || swapped
}

// ValidLegacy reports whether token has the legacy_sha1 layout: exactly 40
// hex digits, either case.
func ValidLegacy(token string) bool {
	if len(token) != LegacyLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// HasPrefix reports whether raw starts with "<prefix>_".
func HasPrefix(raw, prefix string) bool {
	return len(raw) > len(prefix) && raw[:len(prefix)] == prefix && raw[len(prefix)] == '_'
}

// ValidOpaque reports whether raw is a well-formed opaque value of that
// prefix: length, alphabet and checksum.
func ValidOpaque(raw, prefix string) bool {
	return len(raw) == OpaqueLength && ValidVendorChecksum(raw, prefix)
}

// LooksLikeJWS reports whether raw has the shape of a JWS compact
// serialization (RFC 7515 §7.1): three non-empty base64url parts joined by
// two dots. It checks nothing else.
func LooksLikeJWS(raw string) bool {
	dots, run := 0, 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '.':
			if run == 0 {
				return false
			}
			dots, run = dots+1, 0
		case IsBase62(c) || c == '-' || c == '_':
			run++
		default:
			return false
		}
	}
	return dots == 2 && run > 0
}
