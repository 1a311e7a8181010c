package tokens

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
)

// TestLastUsedStaleWriter: a process whose view of a token is older than
// another's write (it read the row before the other used the token) must
// not write last_used again within the minute: the guard is in the UPDATE
// itself, not only in the caller's copy. Past the minute it writes.
func TestLastUsedStaleWriter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{})
		alice := e.user(t, "alice", false)
		tok, raw := e.generate(t, GenerateParams{User: alice})
		stale := e.get(t, tok.ID) // read before anyone used it: LastUsed nil
		if stale.LastUsed != nil {
			t.Fatalf("new token has last_used %v", stale.LastUsed)
		}
		if _, err := e.m.Authenticate(ctx, raw); err != nil {
			t.Fatal(err)
		}

		steps := []struct {
			name     string
			advance  time.Duration
			want     time.Time
			wantUsed int
		}{
			{"30s after another writer: no write", 30 * time.Second, t0, 1},
			{"59s after another writer: no write", 29 * time.Second, t0, 1},
			{"60s after another writer: written", time.Second, t0.Add(time.Minute), 2},
		}
		for _, s := range steps {
			e.clock.Advance(s.advance)
			e.m.noteUsed(ctx, stale, e.clock.Now(), nil)
			if got := e.get(t, tok.ID); got.LastUsed == nil || !got.LastUsed.Equal(s.want) {
				t.Errorf("%s: last_used = %v, want %v", s.name, got.LastUsed, s.want)
			}
			if n := e.rec.count(EventUsed); n != s.wantUsed {
				t.Errorf("%s: %d used events, want %d", s.name, n, s.wantUsed)
			}
		}
	})
}

// TestLastUsedCachedEntryIsNewest: with the authentication cache, a use
// recorded after the row was cached is what the next request sees: the
// returned last_used is the newer one, and no second write follows within
// the minute.
func TestLastUsedCachedEntryIsNewest(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{})
		cached := mustManager(t, e.store, e.users, Options{Now: e.clock.Now, CacheTTL: time.Hour,
			LegacySecret: []byte("test-legacy-secret")})
		alice := e.user(t, "alice", false)
		tok, raw := e.generate(t, GenerateParams{User: alice})
		if _, err := e.m.Authenticate(ctx, raw); err != nil { // row: last_used = t0
			t.Fatal(err)
		}
		steps := []struct {
			name    string
			advance time.Duration
			want    time.Time // returned and stored
		}{
			{"cache miss 10s later: the row's value", 10 * time.Second, t0},
			{"cache hit 70s after the write: written", time.Minute, t0.Add(70 * time.Second)},
			{"cache hit 10s after that: the entry's newer value", 10 * time.Second, t0.Add(70 * time.Second)},
		}
		for _, s := range steps {
			e.clock.Advance(s.advance)
			a, err := cached.Authenticate(ctx, raw)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if a.Token.LastUsed == nil || !a.Token.LastUsed.Equal(s.want) {
				t.Errorf("%s: returned last_used = %v, want %v", s.name, a.Token.LastUsed, s.want)
			}
			if got := e.get(t, tok.ID); got.LastUsed == nil || !got.LastUsed.Equal(s.want) {
				t.Errorf("%s: stored last_used = %v, want %v", s.name, got.LastUsed, s.want)
			}
		}
		if n := len(e.audit(t, AuditFilter{Kind: string(EventUsed)})); n != 2 {
			t.Errorf("%d used audit events, want 2", n)
		}
	})
}

// TestAuthErrorText: an AuthError says its Message when it has one (the
// Djblets client message), else its kind's text.
func TestAuthErrorText(t *testing.T) {
	withMsg := &AuthError{Kind: ErrTokenExpired, Message: "This API token expired on Aug. 2, 2022, 10:45 a.m.."}
	if got := withMsg.Error(); got != withMsg.Message {
		t.Errorf("with a message: %q, want %q", got, withMsg.Message)
	}
	bare := &AuthError{Kind: ErrTokenNotFound}
	if got := bare.Error(); got != ErrTokenNotFound.Error() || got == "" {
		t.Errorf("without a message: %q, want %q", got, ErrTokenNotFound.Error())
	}
}
