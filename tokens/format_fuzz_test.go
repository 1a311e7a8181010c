package tokens_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/tokens"
)

// FuzzTokenFormat drives the API-token format checkers (vendor_checksum,
// legacy_sha1 and the registry that picks between them) with arbitrary
// input, and with one-byte mutations of freshly created tokens. Properties:
// nothing panics; whatever Validate accepts has the shape the spec gives
// (prefix, base62, length bounds); and a changed byte is caught by the
// CRC-32 unless it only swaps the case of a checksum letter (Djblets'
// alphabet bug, deliberately accepted).
func FuzzTokenFormat(f *testing.F) {
	valid, err := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: 40})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "agp_", valid, strings.ToUpper(valid), valid + "0", valid[:len(valid)-1],
		strings.Repeat("a", 40), strings.Repeat("A", 40), "agp_" + strings.Repeat("\xff", 36), "agpx" + valid[4:]} {
		f.Add(s, uint16(0), byte('x'), uint8(40))
	}
	f.Add(valid, uint16(10), byte('Z'), uint8(255))
	f.Add(valid, uint16(39), byte('0'), uint8(30))
	reg := tokens.DefaultRegistry([]byte("legacy secret"))
	info := tokens.TokenInfo{TokenType: "agp"}
	f.Fuzz(func(t *testing.T, in string, pos uint16, b byte, length uint8) {
		checkAccepted(t, in, info, reg)

		// A fresh token of a fuzzed length, with one byte changed.
		tok, err := tokens.VendorChecksum{}.Create(tokens.TokenInfo{TokenType: "agp", Length: int(length)})
		if err != nil {
			return // length outside the generator's range
		}
		if !(tokens.VendorChecksum{}).Validate(tok, info) {
			t.Fatalf("fresh token %q does not validate", tok)
		}
		i := int(pos) % len(tok)
		if tok[i] == b {
			return
		}
		mut := tok[:i] + string(b) + tok[i+1:]
		ok := tokens.VendorChecksum{}.Validate(mut, info)
		caseSwapInChecksum := i >= len(tok)-6 && fuzzSwapCase(tok[i]) == b
		if ok && !caseSwapInChecksum {
			t.Fatalf("mutation %q (byte %d → %q) of %q still validates", mut, i, b, tok)
		}
		checkAccepted(t, mut, info, reg)
	})
}

func checkAccepted(t *testing.T, in string, info tokens.TokenInfo, reg *tokens.Registry) {
	t.Helper()
	if (tokens.VendorChecksum{}).Validate(in, info) {
		if len(in) < 4+22+6 || len(in) > tokens.DjbletsTokenLength || !strings.HasPrefix(in, "agp_") {
			t.Fatalf("vendor_checksum accepted %q", in)
		}
		for i := 4; i < len(in); i++ {
			if !fuzzIsBase62(in[i]) {
				t.Fatalf("vendor_checksum accepted non-base62 %q", in)
			}
		}
		if dp := (tokens.VendorChecksum{}).DisplayPrefix(in, info); !strings.HasPrefix(in, dp) || len(dp) != 8 {
			t.Fatalf("display prefix %q of %q", dp, in)
		}
	}
	legacy := tokens.NewLegacySHA1([]byte("legacy secret"))
	if legacy.Validate(in, info) {
		if len(in) != 40 || strings.Trim(in, "0123456789abcdefABCDEF") != "" {
			t.Fatalf("legacy_sha1 accepted %q", in)
		}
	}
	if g := reg.Recognize(in, info); g != nil && !g.Validate(in, info) {
		t.Fatalf("registry recognised %q by %s, which refuses it", in, g.ID())
	}
}

func fuzzIsBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

func fuzzSwapCase(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c + ('a' - 'A')
	case 'a' <= c && c <= 'z':
		return c - ('a' - 'A')
	}
	return c
}
