package tokens

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// Issue #3 "Must show": a malformed or bad-checksum token is refused with
// zero database queries. Two independent proofs: a counting decorator
// around every storage interface the Manager holds, and a counting
// database/sql driver under the real SQL store on both dialects.

// refusedBeforeDB are tokens Authenticate must refuse without I/O.
func refusedBeforeDB(valid string) []struct{ name, raw string } {
	last := valid[len(valid)-1]
	wrong := byte('0')
	if last == '0' {
		wrong = '1'
	}
	return []struct{ name, raw string }{
		{"empty", ""},
		{"too short", "agp_1234"},
		{"bad checksum", valid[:len(valid)-1] + string(wrong)},
		{"bad character", valid[:5] + "$" + valid[6:]},
		{"wrong prefix", "agx" + valid[3:]},
		{"no underscore", "agp" + valid[4:] + "0"},
		{"too long", valid + strings.Repeat("0", 300)},
		{"39 hex digits", "ead9190eadc2f8ccc051f813be28ea1f24ba381"},
		{"Djblets test token (other type)", djbletsToken},
		{"header-like", "token " + valid},
	}
}

// countingStore counts every Store and StoreTx call.
type countingStore struct {
	Store
	n atomic.Int64
}

func (c *countingStore) InTx(ctx context.Context, fn func(StoreTx) error) error {
	c.n.Add(1)
	return c.Store.InTx(ctx, fn)
}
func (c *countingStore) Get(ctx context.Context, id int64) (*Token, error) {
	c.n.Add(1)
	return c.Store.Get(ctx, id)
}
func (c *countingStore) List(ctx context.Context, userID int64) ([]*Token, error) {
	c.n.Add(1)
	return c.Store.List(ctx, userID)
}
func (c *countingStore) LookupDigest(ctx context.Context, digest string) (*Lookup, error) {
	c.n.Add(1)
	return c.Store.LookupDigest(ctx, digest)
}
func (c *countingStore) ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	c.n.Add(1)
	return c.Store.ListAuditEvents(ctx, f)
}

// countingUsers counts every users.Store call.
type countingUsers struct {
	users.Store
	n *atomic.Int64
}

func (c countingUsers) Create(ctx context.Context, nu users.NewUser) (users.User, error) {
	c.n.Add(1)
	return c.Store.Create(ctx, nu)
}
func (c countingUsers) Get(ctx context.Context, id int64) (users.User, error) {
	c.n.Add(1)
	return c.Store.Get(ctx, id)
}
func (c countingUsers) GetByUsername(ctx context.Context, name string) (users.User, error) {
	c.n.Add(1)
	return c.Store.GetByUsername(ctx, name)
}
func (c countingUsers) List(ctx context.Context) ([]users.User, error) {
	c.n.Add(1)
	return c.Store.List(ctx)
}
func (c countingUsers) Count(ctx context.Context) (int, error) {
	c.n.Add(1)
	return c.Store.Count(ctx)
}
func (c countingUsers) SetPassword(ctx context.Context, id int64, pw string) error {
	c.n.Add(1)
	return c.Store.SetPassword(ctx, id, pw)
}
func (c countingUsers) SetActive(ctx context.Context, id int64, v bool) error {
	c.n.Add(1)
	return c.Store.SetActive(ctx, id, v)
}
func (c countingUsers) SetAdmin(ctx context.Context, id int64, v bool) error {
	c.n.Add(1)
	return c.Store.SetAdmin(ctx, id, v)
}
func (c countingUsers) Authenticate(ctx context.Context, name, pw string) (users.User, error) {
	c.n.Add(1)
	return c.Store.Authenticate(ctx, name, pw)
}

func TestMalformedTokenZeroStoreCalls(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		cs := &countingStore{Store: NewSQLStore(d)}
		cu := countingUsers{Store: users.NewSQLStore(d), n: &cs.n}
		m := mustManager(t, cs, cu, Options{})
		alice, err := cu.Create(ctx, users.NewUser{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		_, valid, err := m.Generate(ctx, GenerateParams{User: alice})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range refusedBeforeDB(valid) {
			t.Run(tc.name, func(t *testing.T) {
				before := cs.n.Load()
				_, err := m.Authenticate(ctx, tc.raw)
				if !isKind(err, ErrMalformedToken) {
					t.Fatalf("err = %v, want ErrMalformedToken", err)
				}
				if calls := cs.n.Load() - before; calls != 0 {
					t.Errorf("%d storage calls for a malformed token, want 0", calls)
				}
			})
		}
		// Control: the counter does count real lookups.
		before := cs.n.Load()
		if _, err := m.Authenticate(ctx, valid); err != nil {
			t.Fatal(err)
		}
		if cs.n.Load() == before {
			t.Fatal("a valid token made no storage call: the counter is broken")
		}
	})
}

func isKind(err, kind error) bool {
	ae, ok := err.(*AuthError)
	return ok && ae.Kind == kind
}

func TestMalformedTokenZeroDriverQueries(t *testing.T) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			d, n := dbtest.OpenCounting(t, dialect)
			m := mustManager(t, NewSQLStore(d), users.NewSQLStore(d), Options{})
			alice, err := users.NewSQLStore(d).Create(ctx, users.NewUser{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			_, valid, err := m.Generate(ctx, GenerateParams{User: alice})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Authenticate(ctx, valid); err != nil { // warm up: last_used written now
				t.Fatal(err)
			}
			for _, tc := range refusedBeforeDB(valid) {
				t.Run(tc.name, func(t *testing.T) {
					before := n.Load()
					_, err := m.Authenticate(ctx, tc.raw)
					if !isKind(err, ErrMalformedToken) {
						t.Fatalf("err = %v, want ErrMalformedToken", err)
					}
					if q := n.Load() - before; q != 0 {
						t.Errorf("%d database queries for a malformed token, want 0", q)
					}
				})
			}
			// Controls: the hook sees queries, a well-formed unknown token
			// costs exactly one (the digest lookup), and a valid one two
			// (the digest lookup, then its owner from internal/users, the
			// one reader of the users table).
			unknown, _ := VendorChecksum{}.Create(TokenInfo{TokenType: "agp", Length: 40})
			controls := []struct {
				name, raw string
				want      int64
				wantErr   error
			}{
				{"unknown well-formed token: one lookup", unknown, 1, ErrTokenNotFound},
				{"valid token within a minute of last use: lookup and owner", valid, 2, nil},
			}
			for _, tc := range controls {
				before := n.Load()
				_, err := m.Authenticate(ctx, tc.raw)
				if (tc.wantErr == nil && err != nil) || (tc.wantErr != nil && !isKind(err, tc.wantErr)) {
					t.Fatalf("%s: err = %v", tc.name, err)
				}
				if q := n.Load() - before; q != tc.want {
					t.Errorf("%s: %d queries, want %d", tc.name, q, tc.want)
				}
			}
		})
	}
}
