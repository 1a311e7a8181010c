package tokens

import (
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// djbletsChecksumToken builds a vendor_checksum token the way Djblets
// does, independently of generator.go: prefix, "_", entropy, and the
// CRC-32 of the entropy in base 62 (0-9A-Za-z), zero-padded to 6.
func djbletsChecksumToken(prefix, entropy string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	n := crc32.ChecksumIEEE([]byte(entropy))
	var digits []byte
	for n > 0 {
		digits = append([]byte{alphabet[n%62]}, digits...)
		n /= 62
	}
	sum := strings.Repeat("0", 6-len(digits)) + string(digits)
	return prefix + "_" + entropy + sum
}

// rbpToken is a Review Board-style token: 255 characters, "rbp_" + 245
// entropy + 6 checksum.
func rbpToken(seed string) string {
	return djbletsChecksumToken("rbp", (strings.Repeat(seed, 245))[:245])
}

func ids(toks []*Token) []int64 {
	out := make([]int64, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	slices.Sort(out)
	return out
}

// TestInvalidateMatching: Djblets' invalidate_tokens(users, extra_query)
// with authgate's filters; each filter and the user list narrow the
// selection together, a preview changes nothing, and every invalidated
// token gets its event and audit_events row.
func TestInvalidateMatching(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{})
		alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
		at := func(h int) *time.Time { v := t0.Add(time.Duration(h) * time.Hour); return &v }
		mk := func(u int, note, gen string, created int, expires *time.Time) int64 {
			e.clock.Set(*at(created))
			owner := alice
			if u == 1 {
				owner = bob
			}
			tok, _ := e.generate(t, GenerateParams{User: owner, Note: note, GeneratorID: gen, Expires: expires})
			return tok.ID
		}
		a1 := mk(0, "CI deploy", "", 0, nil)
		a2 := mk(0, "laptop", LegacySHA1ID, 1, nil)
		a3 := mk(0, "ci deploy (lower case)", "", 2, at(3)) // expires at t0+3h
		b1 := mk(1, "CI deploy", "", 3, nil)
		b2 := mk(1, "100% _wild", "", 4, nil)
		e.clock.Set(t0.Add(10 * time.Hour))

		cases := []struct {
			name  string
			scope InvalidateScope
			want  []int64
		}{
			{"nothing named selects nothing", InvalidateScope{NoteContains: "CI"}, nil},
			{"note is a case-sensitive substring", InvalidateScope{All: true, NoteContains: "CI"}, []int64{a1, b1}},
			{"note wildcards are literal", InvalidateScope{All: true, NoteContains: "% _"}, []int64{b2}},
			{"generator", InvalidateScope{All: true, GeneratorID: LegacySHA1ID}, []int64{a2}},
			{"created before is exclusive", InvalidateScope{All: true, CreatedBefore: at(2)}, []int64{a1, a2}},
			{"created after is exclusive", InvalidateScope{All: true, CreatedAfter: at(2)}, []int64{b1, b2}},
			{"window", InvalidateScope{All: true, CreatedAfter: at(0), CreatedBefore: at(4)}, []int64{a2, a3, b1}},
			{"only unexpired", InvalidateScope{All: true, OnlyUnexpired: true, UserIDs: nil}, []int64{a1, a2, b1, b2}},
			{"users and filters", InvalidateScope{UserIDs: []int64{alice.ID}, NoteContains: "deploy"}, []int64{a1, a3}},
			{"users, filters, unexpired", InvalidateScope{UserIDs: []int64{alice.ID}, NoteContains: "deploy", OnlyUnexpired: true}, []int64{a1}},
		}
		for _, c := range cases {
			got, err := e.m.PreviewInvalidate(ctx, c.scope)
			if err != nil || !slices.Equal(ids(got), c.want) {
				t.Errorf("%s: preview = %v, %v; want %v", c.name, ids(got), err, c.want)
			}
			for _, tok := range got {
				if !tok.Valid || tok.InvalidReason != "" {
					t.Errorf("%s: preview shows %d as changed", c.name, tok.ID)
				}
			}
		}
		// The previews changed nothing, logged nothing and told no one.
		for _, id := range []int64{a1, a2, a3, b1, b2} {
			if !e.get(t, id).Valid {
				t.Fatalf("preview invalidated token %d", id)
			}
		}
		if n := len(e.audit(t, AuditFilter{Kind: string(EventInvalidated)})); n != 0 || e.rec.count(EventInvalidated) != 0 {
			t.Fatalf("preview left %d audit_events rows / %d events", n, e.rec.count(EventInvalidated))
		}

		got, err := e.m.InvalidateMatching(ctx, InvalidateScope{UserIDs: []int64{alice.ID, bob.ID}, NoteContains: "CI", CreatedBefore: at(4)}, "Rotated.")
		if err != nil || !slices.Equal(ids(got), []int64{a1, b1}) {
			t.Fatalf("InvalidateMatching = %v, %v; want [%d %d]", ids(got), err, a1, b1)
		}
		for _, id := range []int64{a1, b1} {
			if g := e.get(t, id); g.Valid || g.InvalidReason != "Rotated." {
				t.Errorf("token %d = valid %v reason %q", id, g.Valid, g.InvalidReason)
			}
			if n := len(e.audit(t, AuditFilter{Kind: string(EventInvalidated), SubjectID: itoa(id)})); n != 1 {
				t.Errorf("token %d: %d audit_events rows, want 1", id, n)
			}
		}
		for _, id := range []int64{a2, a3, b2} {
			if !e.get(t, id).Valid {
				t.Errorf("token %d outside the filter was invalidated", id)
			}
		}
		if n := e.rec.count(EventInvalidated); n != 2 {
			t.Errorf("%d events, want 2", n)
		}
		// Already invalid tokens are not selected again.
		if again, err := e.m.InvalidateMatching(ctx, InvalidateScope{All: true, NoteContains: "CI"}, "x"); err != nil || len(again) != 0 {
			t.Errorf("second run = %v, %v", ids(again), err)
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// TestInvalidateToken: Djblets' invalidate_token(token), by value.
func TestInvalidateToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{})
		alice := e.user(t, "alice", false)
		tok, raw := e.generate(t, GenerateParams{User: alice})
		other, _ := e.generate(t, GenerateParams{User: alice})
		for _, bad := range []string{"", "nonsense", corruptChecksum(raw), raw + "x"} {
			if _, _, err := e.m.InvalidateToken(ctx, bad, "x"); !errors.Is(err, ErrNotFound) {
				t.Errorf("InvalidateToken(%.10q) = %v, want ErrNotFound", bad, err)
			}
		}
		got, now, err := e.m.InvalidateToken(ctx, raw, "Reported as leaked.")
		if err != nil || !now || got.ID != tok.ID || got.Valid || got.InvalidReason != "Reported as leaked." {
			t.Fatalf("InvalidateToken = %+v, %v", got, err)
		}
		if _, err := e.m.Authenticate(ctx, raw); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Authenticate after InvalidateToken = %v", err)
		}
		if !e.get(t, other.ID).Valid {
			t.Error("another token was invalidated")
		}
		again, now, err := e.m.InvalidateToken(ctx, raw, "other")
		if err != nil || now || again.InvalidReason != "Reported as leaked." {
			t.Errorf("again = %+v, %v; the first reason must stay", again, err)
		}
		if n := e.rec.count(EventInvalidated); n != 1 {
			t.Errorf("%d invalidated events, want 1", n)
		}
	})
}

// TestGenerateParamsPerCall: Djblets' generate_token(max_attempts=…,
// token_info={token_type}) per call.
func TestGenerateParamsPerCall(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const fixed = "agp_000000000000000000000000000000" + "2C8GjS"
		g := &constGen{token: fixed}
		reg, _ := NewRegistry(VendorChecksum{}, NewLegacySHA1([]byte("s")), g)
		e := newEnv(t, d, Options{Registry: reg, AcceptedPrefixes: []string{"rbp"}})
		alice := e.user(t, "alice", false)
		if _, _, err := e.m.Generate(ctx, GenerateParams{User: alice, GeneratorID: "const"}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ max, want int }{{1, 1}, {5, 5}, {0, DefaultMaxAttempts}} {
			g.calls.Store(0)
			_, _, err := e.m.Generate(ctx, GenerateParams{User: alice, GeneratorID: "const", MaxAttempts: c.max})
			if !errors.Is(err, ErrTokenGeneration) || g.calls.Load() != int64(c.want) {
				t.Errorf("MaxAttempts %d: err %v after %d attempts, want %d", c.max, err, g.calls.Load(), c.want)
			}
		}
		g.calls.Store(0)
		if _, _, err := e.m.Generate(ctx, GenerateParams{User: alice, GeneratorID: "const", MaxAttempts: -1}); err == nil || g.calls.Load() != 0 {
			t.Errorf("MaxAttempts -1: err %v after %d attempts", err, g.calls.Load())
		}

		tok, raw := e.generate(t, GenerateParams{User: alice, TokenType: "rbp"})
		if !strings.HasPrefix(raw, "rbp_") || len(raw) != 40 || tok.Prefix != raw[:8] {
			t.Fatalf("rbp token %q (%d chars), prefix %q", raw, len(raw), tok.Prefix)
		}
		if a, err := e.m.Authenticate(ctx, raw); err != nil || a.Token.ID != tok.ID {
			t.Fatalf("Authenticate(rbp) = %v", err)
		}
		if _, _, err := e.m.Generate(ctx, GenerateParams{User: alice, TokenType: "xyz"}); !errors.Is(err, ErrUnacceptedPrefix) {
			t.Errorf("TokenType xyz: err = %v, want ErrUnacceptedPrefix", err)
		}
		if got := e.m.AcceptedPrefixes(); !slices.Equal(got, []string{"agp", "rbp"}) {
			t.Errorf("AcceptedPrefixes = %v", got)
		}
		// Without the prefix accepted, an rbp_ token is malformed (no query).
		plain := mustManager(t, e.store, e.users, Options{})
		if _, err := plain.Authenticate(ctx, raw); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("rbp token without accepted_prefixes: %v", err)
		}
	})
}

func TestTokenString(t *testing.T) {
	tok := &Token{Username: "alice", ID: 3}
	if got := tok.String(); got != "Web API token for alice" {
		t.Errorf("String() = %q", got)
	}
}

func TestOptionsAcceptedPrefixes(t *testing.T) {
	for _, c := range []struct {
		prefixes []string
		ok       bool
	}{{nil, true}, {[]string{"rbp"}, true}, {[]string{"agp"}, true}, {[]string{"rb-p"}, false}, {[]string{""}, false}, {[]string{"rbp", "rbp"}, false}} {
		if err := (Options{AcceptedPrefixes: c.prefixes}).Validate(); (err == nil) != c.ok {
			t.Errorf("Validate(%q) = %v", c.prefixes, err)
		}
	}
}

// The test's own Djblets algorithm reproduces Djblets' test vector.
func TestDjbletsChecksumTokenVector(t *testing.T) {
	if got := djbletsChecksumToken("test", djbletsBody); got != djbletsToken {
		t.Fatalf("djbletsChecksumToken(test vector) = ...%s, want ...%s", got[249:], djbletsToken[249:])
	}
}
