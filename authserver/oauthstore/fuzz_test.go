package oauthstore

import (
	"strings"
	"testing"
)

// FuzzWellFormed drives the opaque-value checker of every kind authgate
// issues (authorization code, refresh token, opaque access token, client
// secret) and the client-ID format with arbitrary input and with one-byte
// mutations of fresh values. Nothing may panic; an accepted value has its
// kind's prefix, length and alphabet; a changed byte is caught unless it
// only swaps the case of a checksum letter.
func FuzzWellFormed(f *testing.F) {
	code, err := NewOpaque(PrefixCode)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "agac_", code, strings.ToLower(code), code + "x", code[:len(code)-1],
		"agrt" + code[4:], "agac_" + strings.Repeat("\x00", 49), "eyJ.a.b"} {
		f.Add(s, uint16(0), byte('x'))
	}
	f.Add(code, uint16(48), byte('A'))
	kinds := []struct {
		prefix string
		length int
	}{
		{PrefixCode, opaqueLength}, {PrefixRefreshToken, opaqueLength}, {PrefixAccessToken, opaqueLength},
		{PrefixClientSecret, opaqueLength}, {PrefixClientID, clientIDLength},
	}
	f.Fuzz(func(t *testing.T, in string, pos uint16, b byte) {
		for _, k := range kinds {
			if WellFormed(k.prefix, in) {
				checkOpaqueShape(t, k.prefix, in)
			}
			fresh, err := newVendorValue(k.prefix, k.length)
			if err != nil {
				t.Fatal(err)
			}
			if k.length == opaqueLength && !WellFormed(k.prefix, fresh) {
				t.Fatalf("fresh %s value %q is not well formed", k.prefix, fresh)
			}
			i := int(pos) % len(fresh)
			if fresh[i] == b {
				continue
			}
			mut := fresh[:i] + string(b) + fresh[i+1:]
			caseSwap := i >= len(fresh)-6 && strings.EqualFold(string(b), string(fresh[i])) && b != fresh[i]
			if k.length == opaqueLength && WellFormed(k.prefix, mut) && !caseSwap {
				t.Fatalf("mutation %q of %q (byte %d) is still well formed", mut, fresh, i)
			}
			if !HasPrefix(fresh, k.prefix) || DisplayPrefix(fresh) != fresh[:9] {
				t.Fatalf("prefix of %q", fresh)
			}
		}
	})
}

func checkOpaqueShape(t *testing.T, prefix, in string) {
	t.Helper()
	if len(in) != opaqueLength || !HasPrefix(in, prefix) {
		t.Fatalf("WellFormed(%q, %q) accepted a value of the wrong shape", prefix, in)
	}
	for i := len(prefix) + 1; i < len(in); i++ {
		c := in[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			t.Fatalf("WellFormed(%q, %q) accepted a non-base62 byte", prefix, in)
		}
	}
}
