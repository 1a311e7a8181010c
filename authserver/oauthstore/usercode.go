package oauthstore

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// UserCodeAlphabet is the alphabet of user codes (RFC 8628 §6.1): consonants
// only, so no word can be spelt, and none of the look-alikes A E I O U Y
// (vowels and their shapes) nor 0 1 (there are no digits at all). 20
// letters, 8 of them: 20^8 ≈ 2.6·10^10 codes. See docs/device-flow.md,
// "User codes".
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of letters of a user code, shown as two
// groups of four (BDWP-HQPK).
const UserCodeLength = 8

// NewUserCode returns a random user code in its normalised form (eight
// letters, no dash), drawn uniformly from UserCodeAlphabet.
func NewUserCode() (string, error) {
	const n = len(UserCodeAlphabet)
	limit := byte(256 - 256%n) // rejection sampling: no modulo bias
	out := make([]byte, 0, UserCodeLength)
	var buf [16]byte
	for len(out) < UserCodeLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generate user code: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < UserCodeLength {
				out = append(out, UserCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// FormatUserCode shows a normalised user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode turns what a user typed into the stored form: upper
// case, without dashes or spaces. ok is false when the result cannot be a
// user code (wrong length or a letter outside the alphabet), so it is
// refused without a database lookup.
func NormalizeUserCode(typed string) (code string, ok bool) {
	if len(typed) > 4*UserCodeLength {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r > 127 || !strings.ContainsRune(UserCodeAlphabet, r):
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}
