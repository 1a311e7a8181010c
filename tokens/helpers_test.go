package tokens

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/users"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder collects events delivered to an observer.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) observe(_ context.Context, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]EventKind, len(r.events))
	for i, e := range r.events {
		out[i] = e.Kind
	}
	return out
}

func (r *recorder) count(k EventKind) int {
	n := 0
	for _, got := range r.kinds() {
		if got == k {
			n++
		}
	}
	return n
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// env is one migrated database with a manager on it.
type env struct {
	d     *db.DB
	store *SQLStore
	users *users.SQLStore
	clock *clock
	m     *Manager
	rec   *recorder
}

var t0 = time.Date(2022, 8, 2, 10, 45, 0, 0, time.UTC)

func newEnv(t testing.TB, d *db.DB, opts Options) *env {
	t.Helper()
	e := &env{d: d, store: NewSQLStore(d), users: users.NewSQLStore(d), clock: newClock(t0), rec: &recorder{}}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	if opts.LegacySecret == nil {
		opts.LegacySecret = []byte("test-legacy-secret")
	}
	e.m = mustManager(t, e.store, e.users, opts)
	e.m.Subscribe(e.rec.observe)
	return e
}

func (e *env) user(t testing.TB, name string, admin bool) users.User {
	t.Helper()
	u, err := e.users.Create(context.Background(), users.NewUser{Username: name, IsAdmin: admin})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func (e *env) generate(t testing.TB, p GenerateParams) (*Token, string) {
	t.Helper()
	tok, raw, err := e.m.Generate(context.Background(), p)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return tok, raw
}

func (e *env) get(t testing.TB, id int64) *Token {
	t.Helper()
	tok, err := e.m.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return tok
}

func (e *env) audit(t testing.TB, f AuditFilter) []AuditEvent {
	t.Helper()
	evs, err := e.m.AuditEvents(context.Background(), f)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	return evs
}

func newTextLogger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// corruptChecksum changes the last checksum character of a valid token to
// another base62 digit that matches neither the checksum nor its
// swapped-case form, so only the checksum comparison can reject it.
func corruptChecksum(tok string) string {
	last := tok[len(tok)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return tok[:len(tok)-1] + string(repl)
}

// mustManager is NewManager for options the test knows are valid.
func mustManager(t testing.TB, store Store, us users.Store, opts Options) *Manager {
	t.Helper()
	m, err := NewManager(store, us, opts)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m
}
