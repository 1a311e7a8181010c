package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// fakeBus is a Notifier recording what is announced with a committed
// transaction, and keeping the subscriptions so a test can deliver notices.
type fakeBus struct {
	d    *db.DB
	mu   sync.Mutex
	sent []string
	subs map[string][]func(string)
}

func (b *fakeBus) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	if err := b.d.InTx(ctx, fn); err != nil {
		return err
	}
	b.mu.Lock()
	b.sent = append(b.sent, kind+":"+id)
	b.mu.Unlock()
	return nil
}

func (b *fakeBus) Subscribe(kind string, fn func(string)) {
	if b.subs == nil {
		b.subs = map[string][]func(string){}
	}
	b.subs[kind] = append(b.subs[kind], fn)
}

func (b *fakeBus) deliver(kind, id string) {
	for _, fn := range b.subs[kind] {
		fn(id)
	}
}

func (b *fakeBus) take() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sent
	b.sent = nil
	return s
}

// cacheEnv is a manager with the authentication cache over a counting
// store, on a test clock.
type cacheEnv struct {
	*env
	cs *countingStore
}

func newCacheEnv(t *testing.T, d *db.DB, ttl time.Duration) *cacheEnv {
	return newCacheEnvNotifying(t, d, ttl, nil)
}

// newCacheEnvNotifying is newCacheEnv with the manager connected to n.
func newCacheEnvNotifying(t *testing.T, d *db.DB, ttl time.Duration, n Notifier) *cacheEnv {
	e := newEnv(t, d, Options{})
	cs := &countingStore{Store: e.store}
	e.m = mustManager(t, cs, e.users, Options{Now: e.clock.Now, CacheTTL: ttl, Notifier: n})
	e.m.Subscribe(e.rec.observe)
	return &cacheEnv{env: e, cs: cs}
}

// auth authenticates raw and returns the result and the number of storage
// calls it made.
func (e *cacheEnv) auth(raw string) (*Authenticated, int64, error) {
	before := e.cs.n.Load()
	a, err := e.m.Authenticate(ctx, raw)
	return a, e.cs.n.Load() - before, err
}

func TestAuthCache(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newCacheEnv(t, d, 5*time.Minute)
		alice := e.user(t, "alice", false)

		t.Run("a hit makes no query", func(t *testing.T) {
			_, raw := e.generate(t, GenerateParams{User: alice})
			if _, n, err := e.auth(raw); err != nil || n == 0 {
				t.Fatalf("first: err %v, %d storage calls (want a lookup)", err, n)
			}
			for range 3 {
				if a, n, err := e.auth(raw); err != nil || n != 0 || a.User.Username != "alice" {
					t.Fatalf("cached: err %v, %d storage calls, want 0", err, n)
				}
			}
		})

		t.Run("last_used at most once a minute, and not never", func(t *testing.T) {
			tok, raw := e.generate(t, GenerateParams{User: alice})
			e.rec.reset()
			e.auth(raw) // writes last_used = now
			e.clock.Advance(59 * time.Second)
			if _, n, _ := e.auth(raw); n != 0 {
				t.Fatalf("%d storage calls within the minute, want 0", n)
			}
			e.clock.Advance(2 * time.Second)
			if _, n, _ := e.auth(raw); n != 1 { // one InTx: MarkUsed, no lookup
				t.Fatalf("%d storage calls after a minute, want 1 (the last_used write)", n)
			}
			if _, n, _ := e.auth(raw); n != 0 {
				t.Fatalf("%d storage calls right after the write, want 0", n)
			}
			if got := e.rec.count(EventUsed); got != 2 {
				t.Errorf("%d used events, want 2", got)
			}
			if lu := e.get(t, tok.ID).LastUsed; lu == nil || !lu.Equal(e.clock.Now()) {
				t.Errorf("stored last_used = %v, want %v", lu, e.clock.Now())
			}
			if a, _, _ := e.auth(raw); a.Token.LastUsed == nil || !a.Token.LastUsed.Equal(e.clock.Now()) {
				t.Errorf("cached last_used not updated")
			}
		})

		t.Run("not found is not cached", func(t *testing.T) {
			unknown, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 40})
			for range 2 {
				if _, n, err := e.auth(unknown); !isKind(err, ErrTokenNotFound) || n != 1 {
					t.Fatalf("err %v, %d storage calls, want not found with a lookup each time", err, n)
				}
			}
		})

		t.Run("expiry is decided per request from the cache", func(t *testing.T) {
			exp := e.clock.Now().Add(10 * time.Second)
			_, raw := e.generate(t, GenerateParams{User: alice, Expires: &exp})
			e.auth(raw)
			e.rec.reset()
			e.clock.Set(exp.Add(-time.Microsecond))
			if _, n, err := e.auth(raw); err != nil || n != 0 {
				t.Fatalf("before expiry: err %v, %d calls", err, n)
			}
			e.clock.Set(exp) // Djblets (see docs/api-tokens.md, "The model"): inclusive boundary
			if _, _, err := e.auth(raw); !isKind(err, ErrTokenExpired) {
				t.Fatalf("at expiry: err %v, want expired", err)
			}
			if _, n, err := e.auth(raw); !isKind(err, ErrTokenExpired) || n != 1 {
				t.Fatalf("second: err %v, %d calls, want expired and one lookup (flag re-read)", err, n)
			}
			if _, n, err := e.auth(raw); !isKind(err, ErrTokenExpired) || n != 0 {
				t.Fatalf("third: err %v, %d calls, want expired from the cache", err, n)
			}
			if got := e.rec.count(EventExpired); got != 1 {
				t.Errorf("%d expired events, want 1", got)
			}
		})

		t.Run("TTL bounds staleness when a notice is lost", func(t *testing.T) {
			tok, raw := e.generate(t, GenerateParams{User: alice})
			e.auth(raw)
			// A change nobody announces.
			if _, err := d.ExecContext(ctx, d.Rebind(`UPDATE api_tokens SET valid = ? WHERE id = ?`), false, tok.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(5*time.Minute - time.Second)
			if _, _, err := e.auth(raw); err != nil {
				t.Fatalf("within the TTL: %v (the cache should still answer)", err)
			}
			e.clock.Advance(time.Second)
			if _, _, err := e.auth(raw); !isKind(err, ErrTokenInvalid) {
				t.Fatalf("after the TTL: err %v, want invalid", err)
			}
		})

		t.Run("every write drops the entry at once", func(t *testing.T) {
			bob := e.user(t, "bob", false)
			for _, tc := range []struct {
				name  string
				write func(tok *Token) error
				check func(a *Authenticated, err error) error
			}{
				{"Invalidate", func(tok *Token) error { _, err := e.m.Invalidate(ctx, tok.ID, "gone"); return err }, wantKind(ErrTokenInvalid)},
				{"InvalidateUsers", func(tok *Token) error { _, err := e.m.InvalidateUsers(ctx, []int64{bob.ID}, "gone"); return err }, wantKind(ErrTokenInvalid)},
				{"InvalidateAll", func(*Token) error { _, err := e.m.InvalidateAll(ctx, "gone"); return err }, wantKind(ErrTokenInvalid)},
				{"Delete", func(tok *Token) error { return e.m.Delete(ctx, tok.ID) }, wantKind(ErrTokenNotFound)},
				{"Update expires", func(tok *Token) error {
					past := e.clock.Now().Add(-time.Hour)
					_, err := e.m.Update(ctx, tok.ID, func(t *Token) error { t.Expires = &past; return nil })
					return err
				}, wantKind(ErrTokenExpired)},
				{"Update policy", func(tok *Token) error {
					_, err := e.m.Update(ctx, tok.ID, func(t *Token) error {
						t.Policy = []byte(`{"resources":{"*":{"block":["*"]}}}`)
						return nil
					})
					return err
				}, func(a *Authenticated, err error) error {
					if err != nil || string(a.Token.Policy) != `{"resources":{"*":{"block":["*"]}}}` {
						return fmt.Errorf("err %v, policy %s: want the new policy", err, a.Token.Policy)
					}
					return nil
				}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					tok, raw := e.generate(t, GenerateParams{User: bob})
					if _, _, err := e.auth(raw); err != nil {
						t.Fatal(err)
					}
					if _, n, err := e.auth(raw); err != nil || n != 0 {
						t.Fatalf("not cached: %v, %d calls", err, n)
					}
					if err := tc.write(tok); err != nil {
						t.Fatal(err)
					}
					a, _, err := e.auth(raw)
					if cerr := tc.check(a, err); cerr != nil {
						t.Fatal(cerr)
					}
				})
			}
		})

		t.Run("user notices drop the user's tokens", func(t *testing.T) {
			carol := e.user(t, "carol", false)
			_, raw := e.generate(t, GenerateParams{User: carol})
			e.auth(raw)
			if err := e.users.SetAdmin(ctx, carol.ID, true); err != nil {
				t.Fatal(err)
			}
			if a, _, _ := e.auth(raw); a.User.IsAdmin {
				t.Fatal("control: without a notice the cached owner is stale (test cannot fail otherwise)")
			}
			e.m.DropCached(users.NotifyKind, strconv.FormatInt(carol.ID, 10))
			if a, _, err := e.auth(raw); err != nil || !a.User.IsAdmin {
				t.Fatalf("after the notice: err %v, admin %v; want admin", err, a != nil && a.User.IsAdmin)
			}
			if err := e.users.SetActive(ctx, carol.ID, false); err != nil {
				t.Fatal(err)
			}
			e.m.DropCached(users.NotifyKind, strconv.FormatInt(carol.ID, 10))
			if _, _, err := e.auth(raw); !isKind(err, ErrUserInactive) {
				t.Fatalf("after deactivation: err %v, want inactive", err)
			}
		})
	})
}

func wantKind(kind error) func(*Authenticated, error) error {
	return func(_ *Authenticated, err error) error {
		if !isKind(err, kind) {
			return fmt.Errorf("err %v, want %v", err, kind)
		}
		return nil
	}
}

// TestAuthCacheNotices: writes announce digest-free notices in their
// transaction, and notices delivered by the bus drop entries.
func TestAuthCacheNotices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		bus := &fakeBus{d: d}
		e := newCacheEnvNotifying(t, d, time.Minute, bus)
		alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
		tok, raw := e.generate(t, GenerateParams{User: alice})
		if got := bus.take(); len(got) != 0 {
			t.Fatalf("Generate announced %v (nothing is cached for a new token)", got)
		}
		id := strconv.FormatInt(tok.ID, 10)
		for _, tc := range []struct {
			name  string
			write func() error
			want  []string
		}{
			{"Update", func() error {
				_, err := e.m.Update(ctx, tok.ID, func(t *Token) error { t.Note = "x"; return nil })
				return err
			}, []string{"api_token:" + id}},
			{"failed Update", func() error {
				_, err := e.m.Update(ctx, tok.ID, func(t *Token) error { return errors.New("no") })
				if err == nil {
					return errors.New("update did not fail")
				}
				return nil
			}, nil},
			{"Invalidate", func() error { _, err := e.m.Invalidate(ctx, tok.ID, "r"); return err }, []string{"api_token:" + id}},
			{"InvalidateUsers one", func() error { _, err := e.m.InvalidateUsers(ctx, []int64{bob.ID}, "r"); return err },
				[]string{"user:" + strconv.FormatInt(bob.ID, 10)}},
			{"InvalidateUsers two", func() error { _, err := e.m.InvalidateUsers(ctx, []int64{alice.ID, bob.ID}, "r"); return err },
				[]string{"api_token:*"}},
			{"InvalidateAll", func() error { _, err := e.m.InvalidateAll(ctx, "r"); return err }, []string{"api_token:*"}},
			{"Delete", func() error { return e.m.Delete(ctx, tok.ID) }, []string{"api_token:" + id}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.write(); err != nil {
					t.Fatal(err)
				}
				if got := bus.take(); !slices.Equal(got, tc.want) {
					t.Fatalf("announced %v, want %v", got, tc.want)
				}
			})
		}

		// Notices from other instances.
		_, raw = e.generate(t, GenerateParams{User: bob})
		tok2, _ := e.generate(t, GenerateParams{User: bob})
		for _, tc := range []struct{ name, kind, id string }{
			{"token", NotifyKind, ""}, // filled below: the token's own ID
			{"other token keeps it", NotifyKind, strconv.FormatInt(tok2.ID, 10)},
			{"user", users.NotifyKind, strconv.FormatInt(bob.ID, 10)},
			{"other user keeps it", users.NotifyKind, strconv.FormatInt(alice.ID, 10)},
			{"everything", NotifyKind, "*"},
			{"everything (user kind)", users.NotifyKind, "*"},
		} {
			t.Run("notice "+tc.name, func(t *testing.T) {
				a, _, err := e.auth(raw)
				if err != nil {
					t.Fatal(err)
				}
				if tc.id == "" {
					tc.id = strconv.FormatInt(a.Token.ID, 10)
				}
				bus.deliver(tc.kind, tc.id)
				_, n, _ := e.auth(raw)
				if kept := n == 0; kept != (tc.name == "other token keeps it" || tc.name == "other user keeps it") {
					t.Fatalf("%d storage calls after %s:%s", n, tc.kind, tc.id)
				}
			})
		}
	})
}

// TestAuthCacheEpoch: a row read before a drop is never stored after it,
// and the size stays bounded.
func TestAuthCacheEpoch(t *testing.T) {
	c := NewAuthCache(time.Minute, 8)
	now := time.Now()
	row := func(id int64) *Lookup {
		return &Lookup{Token: &Token{ID: id, UserID: 1}, Digest: fmt.Sprint("d", id)}
	}
	for _, drop := range []struct {
		name string
		fn   func()
	}{
		{"token", func() { c.dropToken(99) }},
		{"user", func() { c.dropUser(99) }},
		{"all", c.clear},
	} {
		t.Run(drop.name, func(t *testing.T) {
			epoch := c.currentEpoch()
			drop.fn() // an unrelated drop still refuses the row: it may be stale
			c.put(epoch, row(1), now)
			if c.get("d1", now) != nil {
				t.Fatal("row read before the drop was stored")
			}
			c.put(c.currentEpoch(), row(1), now)
			if c.get("d1", now) == nil {
				t.Fatal("row read after the drop was not stored")
			}
			c.clear()
		})
	}
	for i := range int64(100) {
		c.put(c.currentEpoch(), row(i), now)
		if c.len() > 8 {
			t.Fatalf("%d entries, bound 8", c.len())
		}
	}
	if c.get("d1", now.Add(time.Minute)) != nil || c.get("d99", now.Add(time.Minute)) != nil {
		t.Fatal("entry served at its deadline")
	}
	if NewAuthCache(0, 10) != nil {
		t.Fatal("TTL 0 must disable the cache")
	}
}

// TestAuthCacheConcurrentInvalidate: once Invalidate returns, no
// Authenticate succeeds, however many ran concurrently with it.
func TestAuthCacheConcurrentInvalidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Options{CacheTTL: time.Hour})
		alice := e.user(t, "alice", false)
		for round := range 5 {
			tok, raw := e.generate(t, GenerateParams{User: alice})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
							_, _ = e.m.Authenticate(ctx, raw)
						}
					}
				})
			}
			time.Sleep(5 * time.Millisecond)
			if _, err := e.m.Invalidate(ctx, tok.ID, "r"); err != nil {
				t.Fatal(err)
			}
			for range 20 {
				if _, err := e.m.Authenticate(ctx, raw); !isKind(err, ErrTokenInvalid) {
					close(stop)
					wg.Wait()
					t.Fatalf("round %d: authenticated after Invalidate returned (err %v)", round, err)
				}
			}
			close(stop)
			wg.Wait()
			time.Sleep(time.Millisecond)
			if _, err := e.m.Authenticate(ctx, raw); !isKind(err, ErrTokenInvalid) {
				t.Fatalf("round %d: a concurrent reader stored a stale row (err %v)", round, err)
			}
		}
	})
}
