package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestDjangoYearAndMinuteEdges: Django's "Y" pads to four digits (and
// only below 1000), a negative year keeps its sign, and minutes 1-9 are
// zero-padded while 10 is not.
func TestDjangoYearAndMinuteEdges(t *testing.T) {
	for _, tc := range []struct {
		year int
		want string
	}{{0, "0000"}, {1, "0001"}, {9, "0009"}, {10, "0010"}, {99, "0099"}, {100, "0100"}, {999, "0999"}, {1000, "1000"}, {10000, "10000"}, {-5, "-0005"}} {
		if got := string(appendYear(nil, tc.year)); got != tc.want {
			t.Errorf("year %d: %q, want %q", tc.year, got, tc.want)
		}
	}
	for _, tc := range []struct {
		h, m int
		want string
	}{{1, 9, "1:09 a.m."}, {1, 10, "1:10 a.m."}, {11, 59, "11:59 a.m."}, {12, 1, "12:01 p.m."}, {0, 1, "12:01 a.m."}, {23, 10, "11:10 p.m."}} {
		if got := string(appendDjangoP(nil, tc.h, tc.m)); got != tc.want {
			t.Errorf("%02d:%02d: %q, want %q", tc.h, tc.m, got, tc.want)
		}
	}
}

// TestOptionsValidateEdges: the token length bounds are inclusive (the
// entropy floor for the type, and Djblets' 255), MaxAttempts may be zero
// but not negative, and the token type is letters and digits only.
func TestOptionsValidateEdges(t *testing.T) {
	lo := minVendorLength(DefaultTokenType)
	for _, tc := range []struct {
		o  Options
		ok bool
	}{
		{Options{}, true},
		{Options{Length: lo}, true},
		{Options{Length: lo - 1}, false},
		{Options{Length: DjbletsTokenLength}, true},
		{Options{Length: DjbletsTokenLength + 1}, false},
		{Options{TokenType: "rbp", Length: minVendorLength("rbp")}, true},
		{Options{TokenType: "rbp", Length: minVendorLength("rbp") - 1}, false},
		{Options{MaxAttempts: 0}, true},
		{Options{MaxAttempts: -1}, false},
		{Options{TokenType: "aZ09"}, true},
		{Options{TokenType: "a_b"}, false},
		{Options{TokenType: "ab-"}, false},
		{Options{AcceptedPrefixes: []string{"rbp", "Z9"}}, true},
		{Options{AcceptedPrefixes: []string{"rb_"}}, false},
		{Options{AcceptedPrefixes: []string{""}}, false},
		{Options{AcceptedPrefixes: []string{"rbp", "rbp"}}, false},
	} {
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.o, err, tc.ok)
		}
	}
}

// TestVendorChecksumLengthEdges: Create makes tokens of exactly the asked
// length from the entropy floor up to 255, refuses one character either
// side, and every token it makes validates.
func TestVendorChecksumLengthEdges(t *testing.T) {
	var g VendorChecksum
	lo := minVendorLength("agp")
	for _, tc := range []struct {
		length int
		ok     bool
	}{{lo - 1, false}, {lo, true}, {lo + 1, true}, {DjbletsTokenLength - 1, true}, {DjbletsTokenLength, true}, {DjbletsTokenLength + 1, false}, {0, true}} {
		info := TokenInfo{TokenType: "agp", Length: tc.length}
		tok, err := g.Create(info)
		if (err == nil) != tc.ok {
			t.Fatalf("length %d: %v, want ok=%v", tc.length, err, tc.ok)
		}
		if err != nil {
			continue
		}
		want := tc.length
		if want == 0 {
			want = DjbletsTokenLength
		}
		if len(tok) != want || !g.Validate(tok, info) || !strings.HasPrefix(tok, "agp_") {
			t.Fatalf("length %d: made %q (%d chars), valid=%v", tc.length, tok, len(tok), g.Validate(tok, info))
		}
	}
	if p := g.DisplayPrefix("agp_ab", TokenInfo{TokenType: "agp"}); p != "agp_ab" {
		t.Fatalf("DisplayPrefix of a short value: %q", p)
	}
	if p := g.DisplayPrefix("agp_abcdef", TokenInfo{TokenType: "agp"}); p != "agp_abcd" {
		t.Fatalf("DisplayPrefix: %q", p)
	}
}

// TestAuthCacheEviction: a full cache evicts its least recently used row
// (a hit counts as a use), never holds more than its bound, and forgets the
// evicted row's token ID too; size 0 means the default.
func TestAuthCacheEviction(t *testing.T) {
	row := func(id int64) *Lookup {
		return &Lookup{Token: &Token{ID: id, UserID: 1}, Digest: fmt.Sprint("d", id)}
	}
	t0 := time.Now()
	c := NewAuthCache(time.Minute, 8)
	for i := range int64(8) {
		c.put(c.currentEpoch(), row(i), t0)
	}
	if c.get("d0", t0) == nil { // d0 is now the most recently used
		t.Fatal("d0 missing")
	}
	c.put(c.currentEpoch(), row(8), t0)
	if n := c.len(); n != 8 {
		t.Fatalf("%d entries in a cache of 8 after one more put, want 8", n)
	}
	if c.get("d1", t0) != nil {
		t.Fatal("d1, the least recently used, was not evicted")
	}
	for _, d := range []string{"d0", "d2", "d8"} {
		if c.get(d, t0) == nil {
			t.Fatalf("%s was evicted", d)
		}
	}
	c.mu.Lock()
	_, kept := c.byID[1]
	ids := len(c.byID)
	c.mu.Unlock()
	if kept || ids != 8 {
		t.Fatalf("byID holds token 1: %v, %d IDs; want the evicted row gone and 8 IDs", kept, ids)
	}

	c = NewAuthCache(time.Minute, 0)
	for i := range int64(100) {
		c.put(c.currentEpoch(), row(i), t0)
	}
	if n := c.len(); n != 100 {
		t.Fatalf("size 0 (default %d) holds %d of 100 entries", DefaultCacheSize, n)
	}
}

// TestPolicyCacheBounded: the compiled-policy cache never holds more than
// maxCachedPolicies entries, answers correctly after evicting, and keeps
// the recently used ones.
func TestPolicyCacheBounded(t *testing.T) {
	var c policyCache
	for i := range maxCachedPolicies + 1 {
		raw := fmt.Sprintf(`{"resources":{"r%d":{"*":{"block":["*"]}}}}`, i)
		if p := c.get([]byte(raw)); p.Decide(fmt.Sprint("r", i), "GET", "").Allowed {
			t.Fatalf("policy %d allows what it blocks", i)
		}
		if n := c.len(); n > maxCachedPolicies {
			t.Fatalf("%d policies cached, bound %d", n, maxCachedPolicies)
		}
		// The first policy stays hot: used on every round, never evicted.
		hot := []byte(`{"resources":{"hot":{"*":{"block":["*"]}}}}`)
		if p := c.get(hot); p.Decide("hot", "GET", "").Allowed {
			t.Fatal("hot policy allows what it blocks")
		}
	}
	if n := c.len(); n != maxCachedPolicies {
		t.Fatalf("%d policies cached after %d distinct ones, want the bound %d", n, maxCachedPolicies+2, maxCachedPolicies)
	}
}

// TestAcceptedPrefixEdges: a value that is only an accepted prefix, or a
// prefix without its underscore, is malformed (not a panic, not a lookup).
func TestAcceptedPrefixEdges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{AcceptedPrefixes: []string{"rbp"}})
		for _, raw := range []string{"rbp", "rb", "rbpx", "rbp_", "agp", "agp_"} {
			if _, err := e.m.Authenticate(context.Background(), raw); !errors.Is(err, ErrMalformedToken) {
				t.Errorf("Authenticate(%q) = %v, want malformed", raw, err)
			}
		}
	})
}

// TestInvalidateScopeSelects: an empty scope selects nothing (an
// invalidation with no target is refused, never "everything").
func TestInvalidateScopeSelects(t *testing.T) {
	for _, tc := range []struct {
		s    InvalidateScope
		want bool
	}{
		{InvalidateScope{}, false},
		{InvalidateScope{UserIDs: []int64{}}, false},
		{InvalidateScope{UserIDs: []int64{7}}, true},
		{InvalidateScope{TokenID: 3}, true},
		{InvalidateScope{All: true}, true},
	} {
		if got := tc.s.selects(); got != tc.want {
			t.Errorf("%+v.selects() = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// TestValidatePrefixesNamesTheEmptyOne: the error counts prefixes from 1.
func TestValidatePrefixesNamesTheEmptyOne(t *testing.T) {
	err := validatePrefixes([]string{"rbp", ""})
	if err == nil || !strings.Contains(err.Error(), "accepted prefix 2 is empty") {
		t.Fatalf("validatePrefixes = %v, want the second prefix named", err)
	}
}
