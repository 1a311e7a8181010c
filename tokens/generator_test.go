package tokens

import (
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
	"testing"
	"time"
)

// djbletsBody is the 244-character entropy of the Djblets test token
// (djblets/secrets/tests/test_vendor_checksum_token_generator.py,
// docs/api-tokens.md, "Generators");
// its CRC-32 is 0x40F25DA4 = 1089625508, base62 "1BjxMy".
const djbletsBody = "kEz3qSWeN25rOVA8RXitY0ywaiAOuey7WRHFeTDaqqR9g827qwuYFy5" +
	"p3NKwLThndO33aVL5pBcU5da9pNnTYtiIsC4f9uLMAP8rQKZa82W91ZArtV4" +
	"WJSDpV07VTszJq6dvzmnbvcTDQvv0crBS2XDntwx5lI4xbtpMR6mquknRneV" +
	"OJxf682I208BGhs8PdGRtv2unF176tCoC3ccI8VFx31Hdb2mgQKPyPCYEtXN" +
	"32N7RUsAX"

const djbletsToken = "test_" + djbletsBody + "1BjxMy"

func TestDjbletsVectorBody(t *testing.T) {
	if len(djbletsToken) != 255 || len(djbletsBody) != 244 {
		t.Fatalf("vector lengths: token %d, body %d; want 255, 244", len(djbletsToken), len(djbletsBody))
	}
	if got := crc32.ChecksumIEEE([]byte(djbletsBody)); got != 0x40F25DA4 {
		t.Fatalf("CRC-32 of the Djblets body = %#x, want 0x40F25DA4 (Djblets' vendor_checksum test vector)", got)
	}
}

// TestVendorChecksumValidate is Djblets' (docs/api-tokens.md, "Generators")
// test-vector table, verbatim.
func TestVendorChecksumValidate(t *testing.T) {
	g := VendorChecksum{}
	test := TokenInfo{TokenType: "test"}
	tests := []struct {
		name  string
		token string
		info  TokenInfo
		want  bool
	}{
		{"current encoding", djbletsToken, test, true},
		{"Djblets 3.0 swapped-case checksum", "test_" + djbletsBody + "1bJXmY", test, true},
		{"wrong checksum", "test_" + djbletsBody + "1BjxMb", test, false},
		{"bad character", "test_$" + djbletsBody[1:] + "1BjxMy", test, false},
		{"wrong prefix", "fail_" + djbletsBody + "1BjxMy", test, false},
		{"wrong length", "test_1234", test, false},
		{"missing token_type", djbletsToken, TokenInfo{}, false},
		// authgate additions.
		{"too long", djbletsToken + "0", test, false},
		{"no underscore", "testX" + djbletsBody + "1BjxMy", test, false},
		{"prefix only", "test_", test, false},
		{"empty", "", test, false},
		{"checksum with non-base62", "test_" + djbletsBody + "1Bjx-y", test, false},
		{"mixed-case checksum is neither form", "test_" + djbletsBody + "1bjxMy", test, false},
		{"agp 40 chars", "agp_" + strings.Repeat("0", 30) + "2C8GjS", TokenInfo{TokenType: "agp"}, true},
		{"agp 40 chars, swapped case", "agp_" + strings.Repeat("0", 30) + "2c8gJs", TokenInfo{TokenType: "agp"}, true},
		{"agp below entropy floor", "agp_" + strings.Repeat("0", 21) + VendorChecksumOf(strings.Repeat("0", 21)), TokenInfo{TokenType: "agp"}, false},
		{"agp at entropy floor", "agp_" + strings.Repeat("0", 22) + VendorChecksumOf(strings.Repeat("0", 22)), TokenInfo{TokenType: "agp"}, true},
		{"agp 255 chars, wrong checksum", "agp_" + djbletsBody + "X" + "1BjxMy", TokenInfo{TokenType: "agp"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Validate(tc.token, tc.info); got != tc.want {
				t.Errorf("Validate(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
	// A 255-character agp token built the same way validates.
	body := strings.Repeat("aB3", 82)[:255-4-6]
	if tok := "agp_" + body + VendorChecksumOf(body); len(tok) != 255 || !g.Validate(tok, TokenInfo{TokenType: "agp"}) {
		t.Errorf("255-char agp token (len %d) rejected", len(tok))
	}
}

// TestVendorChecksumOf checks the checksum against vectors computed once by
// an independent implementation (Python: zlib.crc32 + a base62 encoder with
// the 0-9A-Za-z alphabet).
func TestVendorChecksumOf(t *testing.T) {
	tests := []struct {
		name, entropy, want string
	}{
		{"Djblets body", djbletsBody, "1BjxMy"},
		{"alphabet run", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcd", "34KlM6"}, // crc 0xa7a29e56
		{"zeros", strings.Repeat("0", 30), "2C8GjS"},                 // crc 0x77e5db82
		{"z run", strings.Repeat("z", 30), "4IlJEz"},                 // crc 0xeaf2cd15
		{"single a", "a", "4GEHKN"},                                  // crc 0xe8b7be43
		{"empty (crc 0)", "", "000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := VendorChecksumOf(tc.entropy); got != tc.want {
				t.Errorf("VendorChecksumOf(%q) = %q, want %q", tc.entropy, got, tc.want)
			}
		})
	}
}

func TestBase62Pad6(t *testing.T) {
	tests := []struct {
		name string
		in   uint32
		want string
	}{
		{"zero", 0, "000000"},
		{"one", 1, "000001"},
		{"last digit", 61, "00000z"},
		{"carry", 62, "000010"},
		{"Djblets CRC", 1089625508, "1BjxMy"},
		{"max uint32", 4294967295, "4gfFC3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := base62Pad6(tc.in)
			if string(got[:]) != tc.want {
				t.Errorf("base62Pad6(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// independentChecksum recomputes a checksum with math/big, sharing no code
// with the implementation under test except crc32.
func independentChecksum(entropy string) string {
	n := new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(entropy))))
	s := n.Text(62) // math/big's base-62 digits are 0-9a-zA-Z: Djblets 3.0's order
	var b strings.Builder
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z':
			b.WriteRune(c - 'A' + 'a')
		default:
			b.WriteRune(c)
		}
	}
	return strings.Repeat("0", 6-b.Len()) + b.String()
}

func TestVendorChecksumCreate(t *testing.T) {
	g := VendorChecksum{}
	tests := []struct {
		name      string
		info      TokenInfo
		wantLen   int
		wantStart string
	}{
		{"authgate default", TokenInfo{TokenType: "agp", Length: 40}, 40, "agp_"},
		{"Djblets length by default", TokenInfo{TokenType: "test"}, 255, "test_"},
		{"rbp 255", TokenInfo{TokenType: "rbp", Length: 255}, 255, "rbp_"},
		{"entropy floor", TokenInfo{TokenType: "agp", Length: 4 + 22 + 6}, 32, "agp_"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 200 {
				tok, err := g.Create(tc.info)
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if len(tok) != tc.wantLen || !strings.HasPrefix(tok, tc.wantStart) {
					t.Fatalf("Create = %q (len %d), want len %d and prefix %q", tok, len(tok), tc.wantLen, tc.wantStart)
				}
				body, tail := tok[len(tc.wantStart):len(tok)-6], tok[len(tok)-6:]
				if want := independentChecksum(body); tail != want {
					t.Fatalf("checksum of %q = %q, independent computation %q", tok, tail, want)
				}
				if !g.Validate(tok, tc.info) {
					t.Fatalf("Validate rejects fresh token %q", tok)
				}
				if seen[tok] {
					t.Fatalf("duplicate token %q", tok)
				}
				seen[tok] = true
			}
		})
	}

	errTests := []struct {
		name    string
		info    TokenInfo
		wantMsg string
	}{
		{"missing token_type (Djblets KeyError)", TokenInfo{Length: 40}, "The token_info dictionary must contain a token_type key."},
		{"too short", TokenInfo{TokenType: "agp", Length: 31}, "outside 32..255"},
		{"too long", TokenInfo{TokenType: "agp", Length: 256}, "outside 32..255"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Create(tc.info)
			if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Create error = %v, want one containing %q", err, tc.wantMsg)
			}
		})
	}
}

// TestVendorChecksumEntropyUniform is a coarse bias check: every alphabet
// character appears close to its expected count (±8σ).
func TestVendorChecksumEntropyUniform(t *testing.T) {
	counts := map[byte]int{}
	const tokens = 2000
	for range tokens {
		tok, err := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 40})
		if err != nil {
			t.Fatal(err)
		}
		for i := 4; i < 34; i++ {
			counts[tok[i]]++
		}
	}
	if len(counts) != 62 {
		t.Fatalf("saw %d distinct characters, want 62", len(counts))
	}
	expected := float64(tokens*30) / 62 // ≈968, σ ≈ 31
	for c, n := range counts {
		if float64(n) < expected-250 || float64(n) > expected+250 {
			t.Errorf("character %q appeared %d times, expected about %.0f", c, n, expected)
		}
	}
}

func TestLegacySHA1Validate(t *testing.T) {
	g := NewLegacySHA1(nil)
	tests := []struct {
		name  string
		token string
		want  bool
	}{
		// docs/api-tokens.md, "Generators" vectors from the Djblets tests.
		{"Djblets valid", "ead9190eadc2f8ccc051f813be28ea1f24ba3810", true},
		{"Djblets length", "abcd1", false},
		{"Djblets character", "!ad9190eadc2f8ccc051f813be28ea1f24ba3810", false},
		// Either case is accepted.
		{"upper case", "EAD9190EADC2F8CCC051F813BE28EA1F24BA3810", true},
		{"41 chars", "ead9190eadc2f8ccc051f813be28ea1f24ba38100", false},
		{"non-hex letter", "gad9190eadc2f8ccc051f813be28ea1f24ba3810", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Validate(tc.token, TokenInfo{}); got != tc.want {
				t.Errorf("Validate(%q) = %v, want %v", tc.token, got, tc.want)
			}
		})
	}
}

func TestLegacySHA1Create(t *testing.T) {
	now := time.Date(2022, 8, 2, 5, 45, 0, 123456000, time.UTC)
	info := TokenInfo{UserID: 7, Attempt: 0, Now: now}
	g := NewLegacySHA1([]byte("server-secret"))
	a, err := g.Create(info)
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Create(info)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 40 || strings.ToLower(a) != a || !g.Validate(a, info) {
		t.Errorf("Create = %q, want 40 lowercase hex digits", a)
	}
	// Same secret, user, attempt and time: only crypto randomness differs,
	// so the derivation is not predictable from known inputs.
	if a == b {
		t.Errorf("two tokens with identical inputs are equal: %q", a)
	}
	if g.DisplayPrefix(a, info) != a[:4] {
		t.Errorf("DisplayPrefix = %q, want %q", g.DisplayPrefix(a, info), a[:4])
	}

	if _, err := NewLegacySHA1(nil).Create(info); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("Create without secret: err = %v, want a missing-secret error", err)
	}
	if _, err := g.Create(TokenInfo{Now: now}); err == nil || err.Error() != "The token_info dictionary must contain a user key." {
		t.Errorf("Create without user: err = %v, want Djblets' KeyError text", err)
	}
}

func TestRegistry(t *testing.T) {
	r := DefaultRegistry(nil)
	if got := r.IDs(); len(got) != 2 || got[0] != VendorChecksumID || got[1] != LegacySHA1ID {
		t.Fatalf("default IDs = %v", got)
	}
	if err := r.Register(VendorChecksum{}); !errors.Is(err, ErrDuplicateGenerator) {
		t.Errorf("duplicate Register: err = %v, want ErrDuplicateGenerator", err)
	}
	if g := r.Get("nope"); g != nil {
		t.Errorf("Get(unknown) = %v, want nil", g)
	}
	info := TokenInfo{TokenType: "test"}
	if g := r.Recognize(djbletsToken, info); g == nil || g.ID() != VendorChecksumID {
		t.Errorf("Recognize(Djblets token) = %v", g)
	}
	if g := r.Recognize("ead9190eadc2f8ccc051f813be28ea1f24ba3810", info); g == nil || g.ID() != LegacySHA1ID {
		t.Errorf("Recognize(legacy) = %v", g)
	}
	if g := r.Recognize("garbage", info); g != nil {
		t.Errorf("Recognize(garbage) = %v, want nil", g.ID())
	}
	if !r.Unregister(LegacySHA1ID) || r.Unregister(LegacySHA1ID) {
		t.Error("Unregister should report true once")
	}
	if g := r.Recognize("ead9190eadc2f8ccc051f813be28ea1f24ba3810", info); g != nil {
		t.Errorf("Recognize after Unregister = %v", g.ID())
	}
}
