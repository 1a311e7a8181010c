package tokens

import (
	"fmt"
	"slices"
)

// Accepted vendor prefixes. A deployment that imports tokens from Review
// Board keeps accepting its "rbp_" tokens next to its own "agp_" ones; the
// checksum is verified offline for every accepted prefix, exactly as for
// the main one. See docs/migrating-from-review-board.md, "Accepted
// prefixes".

// validatePrefixes checks a list of accepted prefixes: letters and digits,
// no duplicates.
func validatePrefixes(prefixes []string) error {
	for i, p := range prefixes {
		if p == "" {
			return fmt.Errorf("accepted prefix %d is empty", i+1)
		}
		for j := 0; j < len(p); j++ {
			if !isBase62(p[j]) {
				return fmt.Errorf("accepted prefix %q: only letters and digits are allowed", p)
			}
		}
		if slices.Contains(prefixes[:i], p) {
			return fmt.Errorf("accepted prefix %q is listed twice", p)
		}
	}
	return nil
}

// AcceptedPrefixes returns the vendor prefixes whose tokens authenticate:
// TokenType first, then Options.AcceptedPrefixes.
func (m *Manager) AcceptedPrefixes() []string { return slices.Clone(m.prefixes) }

// infoFor returns the generation info for a vendor prefix, or false when
// the prefix is not accepted. "" means TokenType.
func (m *Manager) infoFor(prefix string) (TokenInfo, bool) {
	info := m.info
	if prefix == "" || prefix == m.info.TokenType {
		return info, true
	}
	if !slices.Contains(m.prefixes, prefix) {
		return TokenInfo{}, false
	}
	info.TokenType = prefix
	// The configured length is for the main prefix; keep the same amount
	// of entropy for another one, within vendor_checksum's bounds.
	info.Length = min(max(m.info.Length-len(m.info.TokenType)+len(prefix), minVendorLength(prefix)), DjbletsTokenLength)
	return info, true
}

// recognize returns the generator that accepts raw's format under the main
// prefix or any accepted one, with the info it was recognised under; nil
// when none does. It does no I/O.
func (m *Manager) recognize(raw string) (Generator, TokenInfo) {
	if g := m.reg.Recognize(raw, m.info); g != nil {
		return g, m.info
	}
	for _, p := range m.prefixes[1:] {
		if len(raw) <= len(p) || raw[len(p)] != '_' || raw[:len(p)] != p {
			continue
		}
		info, _ := m.infoFor(p)
		if g := m.reg.Recognize(raw, info); g != nil {
			return g, info
		}
	}
	return nil, TokenInfo{}
}
