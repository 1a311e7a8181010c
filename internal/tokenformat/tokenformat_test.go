package tokenformat

import "testing"

func TestVendorChecksum(t *testing.T) {
	entropy := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sum := Checksum(entropy)
	good := "agat_" + entropy + string(sum[:])
	if !ValidOpaque(good, PrefixAccessToken) || !HasPrefix(good, PrefixAccessToken) {
		t.Fatalf("%q refused", good)
	}
	bad := []byte(good)
	bad[10] ^= 1
	if ValidOpaque(string(bad), PrefixAccessToken) {
		t.Fatal("corrupted value accepted")
	}
	if ValidOpaque(good, PrefixRefreshToken) {
		t.Fatal("wrong prefix accepted")
	}
	// Djblets 3.0's swapped-case checksum is still accepted.
	swapped := []byte(good)
	for i := len(swapped) - ChecksumLength; i < len(swapped); i++ {
		swapped[i] = swapCase(swapped[i])
	}
	if !ValidVendorChecksum(string(swapped), "agat") {
		t.Fatal("swapped-case checksum refused")
	}
}

func TestLegacyAndJWS(t *testing.T) {
	if !ValidLegacy("0123456789abcdefABCDEF0123456789abcdef01") || ValidLegacy("0123456789abcdefABCDEF0123456789abcdef0g") {
		t.Fatal("legacy layout")
	}
	for s, want := range map[string]bool{
		"a.b.c": true, "eyJ.eyJ.sig-_": true, "a..c": false, "a.b": false, "a.b.c.d": false,
		"a.b.": false, ".b.c": false, "a.b+.c": false, "": false,
	} {
		if LooksLikeJWS(s) != want {
			t.Errorf("LooksLikeJWS(%q) = %v", s, !want)
		}
	}
}

// TestEveryCharacterIsChecked: a character outside the alphabet is refused
// even when the checksum, computed over it, matches; and a legacy token of
// the right length must be hexadecimal all through.
func TestEveryCharacterIsChecked(t *testing.T) {
	entropy := "abcdefghijklmnopqrstu-wxyz0123"
	sum := Checksum(entropy)
	tok := "agp_" + entropy + string(sum[:])
	if ValidVendorChecksum(tok, "agp") {
		t.Errorf("%q: a '-' in the entropy was accepted", tok)
	}
	good := "abcdefghijklmnopqrstuvwxyz0123"
	gsum := Checksum(good)
	if !ValidVendorChecksum("agp_"+good+string(gsum[:]), "agp") {
		t.Error("the control token was refused")
	}
	for _, s := range []string{
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
		"0123456789abcdef0123456789abcdef0123456g",
	} {
		if ValidLegacy(s) {
			t.Errorf("ValidLegacy(%q) = true", s)
		}
	}
}

// vendorToken builds a valid "<tt>_" + entropy + checksum token of length n.
func vendorToken(tt string, n int) string {
	entropy := make([]byte, n-len(tt)-1-ChecksumLength)
	for i := range entropy {
		entropy[i] = Alphabet[i%len(Alphabet)]
	}
	sum := Checksum(entropy)
	return tt + "_" + string(entropy) + string(sum[:])
}

// TestVendorLengthBounds pins the length rules at their edges.
func TestVendorLengthBounds(t *testing.T) {
	if got, want := MinVendorLength("agp"), 3+1+MinEntropyLength+ChecksumLength; got != want {
		t.Fatalf("MinVendorLength = %d, want %d", got, want)
	}
	for _, tc := range []struct {
		n    int
		want bool
	}{
		{MinVendorLength("agp") - 1, false},
		{MinVendorLength("agp"), true},
		{40, true},
		{MaxVendorLength, true},
		{MaxVendorLength + 1, false},
	} {
		if got := ValidVendorChecksum(vendorToken("agp", tc.n), "agp"); got != tc.want {
			t.Errorf("length %d: valid = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestSwapCase(t *testing.T) {
	for in, want := range map[byte]byte{'a': 'A', 'z': 'Z', 'A': 'a', 'Z': 'z', '0': '0', '9': '9'} {
		if got := swapCase(in); got != want {
			t.Errorf("swapCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasPrefixNeedsTheUnderscore(t *testing.T) {
	for raw, want := range map[string]bool{"agat": false, "agat_": true, "agatx": false, "agrt_x": false, "": false} {
		if got := HasPrefix(raw, PrefixAccessToken); got != want {
			t.Errorf("HasPrefix(%q) = %v, want %v", raw, got, want)
		}
	}
}
