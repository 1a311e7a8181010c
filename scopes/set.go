package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScopeString is wrapped by every error ParseSet returns.
var ErrInvalidScopeString = errors.New("invalid scope string")

// Set is an immutable set of RFC 6749 scope tokens. The zero value is the
// empty set. Members are any RFC 6749 §3.3 scope-token, not only
// "name:action" scopes, because a token may also carry scopes such as
// "openid" that no resource declares.
type Set struct {
	items []string // sorted, unique
}

// ParseSet parses a space-delimited scope string, RFC 6749 §3.3:
//
//	scope       = scope-token *( SP scope-token )
//	scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//
// The empty string is the empty set. Leading, trailing and doubled spaces
// are errors, as are characters outside the scope-token range; duplicates
// are folded.
func ParseSet(s string) (Set, error) {
	if s == "" {
		return Set{}, nil
	}
	items := make([]string, 0, strings.Count(s, " ")+1)
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != ' ' {
			if c := s[i]; c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return Set{}, fmt.Errorf("%w: %s at position %d is not allowed in a scope (RFC 6749 §3.3)", ErrInvalidScopeString, describeByte(c), i)
			}
			continue
		}
		if i == start {
			return Set{}, fmt.Errorf("%w: empty scope at position %d (scopes are separated by exactly one space)", ErrInvalidScopeString, i)
		}
		items = append(items, s[start:i])
		start = i + 1
	}
	return newSorted(items), nil
}

// NewSet builds a Set from scope tokens, checking each against RFC 6749
// §3.3 (no spaces inside a token).
func NewSet(tokens ...string) (Set, error) {
	for _, t := range tokens {
		if t == "" || strings.Contains(t, " ") {
			return Set{}, fmt.Errorf("%w: %q is not a single scope", ErrInvalidScopeString, t)
		}
		if _, err := ParseSet(t); err != nil {
			return Set{}, err
		}
	}
	return newSorted(slices.Clone(tokens)), nil
}

func newSorted(items []string) Set {
	slices.Sort(items)
	items = slices.Compact(items)
	if len(items) == 0 {
		return Set{}
	}
	return Set{items: items}
}

// Has reports whether scope is in the set. It does not allocate.
func (s Set) Has(scope string) bool {
	_, ok := slices.BinarySearch(s.items, scope)
	return ok
}

// HasScope reports whether sc ("name:action") is in the set.
func (s Set) HasScope(sc Scope) bool { return s.Has(sc.String()) }

// Len returns the number of scopes.
func (s Set) Len() int { return len(s.items) }

// Empty reports whether the set has no scopes.
func (s Set) Empty() bool { return len(s.items) == 0 }

// Items returns the scopes in sorted order (a copy).
func (s Set) Items() []string { return slices.Clone(s.items) }

// SubsetOf reports whether every scope of s is in other.
func (s Set) SubsetOf(other Set) bool {
	for _, it := range s.items {
		if !other.Has(it) {
			return false
		}
	}
	return true
}

// Union returns the scopes in s or other.
func (s Set) Union(other Set) Set {
	return newSorted(append(slices.Clone(s.items), other.items...))
}

// Intersect returns the scopes in both s and other.
func (s Set) Intersect(other Set) Set {
	var out []string
	for _, it := range s.items {
		if other.Has(it) {
			out = append(out, it)
		}
	}
	return Set{items: out}
}

// Equal reports whether s and other hold the same scopes.
func (s Set) Equal(other Set) bool { return slices.Equal(s.items, other.items) }

// String returns the canonical scope string: sorted, unique, single spaces.
// ParseSet(s.String()) gives back an equal set.
func (s Set) String() string { return strings.Join(s.items, " ") }
