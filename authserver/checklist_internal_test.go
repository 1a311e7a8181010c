package authserver

import (
	"regexp"
	"testing"
	"time"

	"github.com/authgate/authgate/tokens"
)

// docs/security.md, "RFC 9700 and OAuth 2.1 rules" token entropy and
// docs/security.md, "Token formats" token format: 256-bit crypto/rand
// values with a type prefix and a CRC-32 checksum, all distinct.
func TestChecklist_TokenEntropyAndFormat(t *testing.T) {
	re := regexp.MustCompile(`^(agac|agrt|agat|agcs)_[0-9A-Za-z]{49}$`)
	seen := map[string]bool{}
	for _, p := range []string{PrefixCode, PrefixRefreshToken, PrefixAccessToken, PrefixClientSecret} {
		for range 200 {
			v, err := newOpaque(p)
			if err != nil {
				t.Fatal(err)
			}
			if !re.MatchString(v) || !wellFormed(p, v) || seen[v] || v[:len(p)] != p {
				t.Fatalf("value %q", v)
			}
			seen[v] = true
			body := v[len(p)+1 : len(v)-6]
			if tokens.VendorChecksumOf(body) != v[len(v)-6:] {
				t.Fatalf("checksum of %q", v)
			}
			flipped := "0" // another checksum character
			if v[len(v)-1] == '0' {
				flipped = "1"
			}
			if wellFormed(p, v[:len(v)-1]+flipped) {
				t.Fatalf("bad checksum accepted: %q", v)
			}
		}
	}
	// 43 base62 characters: log2(62^43) > 256.
	if 43*5.954 < 256 {
		t.Fatal("entropy below 256 bits")
	}
	a, _ := newJTI()
	b, _ := newJTI()
	if a == b || len(a) < 22 {
		t.Fatalf("jti %q %q", a, b)
	}
}

// The code lifetime part of TestChecklist_CodesShortLivedAndBound: at most
// 10 minutes (RFC 6749 §4.1.2), by default and as configured.
func TestChecklist_CodeTTLBound(t *testing.T) {
	if _, err := resolve(Config{CodeTTL: 11 * time.Minute}); err == nil {
		t.Fatal("a code lifetime over 10 minutes was accepted")
	}
	cfg, _ := resolve(Config{})
	if cfg.CodeTTL > 10*time.Minute {
		t.Fatalf("default code lifetime %v", cfg.CodeTTL)
	}
}
