package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/users"
)

// TestSQLStoreConformance runs the Store conformance suite on SQLite and
// PostgreSQL (docs/architecture.md, "Storage and invalidation").
func TestSQLStoreConformance(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		runStoreConformance(t, conformanceBackend{
			store: NewSQLStore(d),
			users: users.NewSQLStore(d),
			deleteUser: func(id int64) error {
				_, err := d.ExecContext(ctx, d.Rebind(`DELETE FROM users WHERE id = ?`), id)
				return err
			},
			rawExec: func(q string) error { _, err := d.ExecContext(ctx, q); return err },
		})
	})
}

type conformanceBackend struct {
	store      Store
	users      users.Store
	deleteUser func(id int64) error
	// rawExec runs a statement outside the Store, to prove what the
	// backend refuses (the append-only audit log).
	rawExec func(q string) error
}

func runStoreConformance(t *testing.T, b conformanceBackend) {
	s := b.store
	n := 0
	newUser := func(t *testing.T) users.User {
		t.Helper()
		n++
		u, err := b.users.Create(ctx, users.NewUser{Username: fmt.Sprintf("conf%d", n)})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	insert := func(t *testing.T, tok *Token, digest string) error {
		t.Helper()
		return s.InTx(ctx, func(tx StoreTx) error { return tx.Insert(ctx, tok, digest) })
	}
	digest := func(i int) string { return fmt.Sprintf("%064x", i) }
	seq := 1000
	mk := func(t *testing.T, u users.User) *Token {
		t.Helper()
		seq++
		tok := &Token{UserID: u.ID, Username: u.Username, Prefix: "agp_abcd", GeneratorID: VendorChecksumID,
			TimeAdded: t0, LastUpdated: t0, Valid: true, Policy: json.RawMessage("{}"), ExtraData: json.RawMessage("{}")}
		if err := insert(t, tok, digest(seq)); err != nil {
			t.Fatal(err)
		}
		return tok
	}

	t.Run("round trip of every field", func(t *testing.T) {
		u := newUser(t)
		used, exp, inv := t0.Add(time.Minute), t0.Add(time.Hour+time.Microsecond), t0.Add(2*time.Hour)
		want := &Token{UserID: u.ID, Username: u.Username, Prefix: "agp_Zz09", GeneratorID: "custom",
			TimeAdded: t0, LastUpdated: t0.Add(time.Second), LastUsed: &used, Expires: &exp,
			Valid: false, InvalidDate: &inv, InvalidReason: "why", Note: "note ✓",
			Policy: json.RawMessage(`{"resources":{"*":{"allow":["GET"]}}}`), ExtraData: json.RawMessage(`{"a":1}`),
			ExpiredEventSent: true}
		if err := insert(t, want, digest(1)); err != nil {
			t.Fatal(err)
		}
		if want.ID == 0 {
			t.Fatal("Insert did not set the ID")
		}
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := tokenDiff(got, want); diff != "" {
			t.Errorf("Get: %s", diff)
		}
		l, err := s.LookupDigest(ctx, digest(1))
		if err != nil {
			t.Fatal(err)
		}
		if diff := tokenDiff(l.Token, want); diff != "" {
			t.Errorf("LookupDigest: %s", diff)
		}
		if l.Digest != digest(1) || l.Owner.ID != u.ID || l.Owner.Username != u.Username || !l.Owner.IsActive || l.Owner.CreatedAt.IsZero() {
			t.Errorf("LookupDigest digest/owner = %q %+v", l.Digest, l.Owner)
		}
		if got.TimeAdded.Location() != time.UTC || got.LastUsed.Location() != time.UTC {
			t.Error("times are not UTC")
		}
		if _, err := s.LookupDigest(ctx, digest(2)); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookupDigest(unknown) err = %v", err)
		}
		if _, err := s.Get(ctx, 987654); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) err = %v", err)
		}
	})

	t.Run("list", func(t *testing.T) {
		u, other := newUser(t), newUser(t)
		a, bb := mk(t, u), mk(t, u)
		mk(t, other)
		got, err := s.List(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != bb.ID || got[0].Username != u.Username {
			t.Errorf("List = %+v", got)
		}
		if got, _ := s.List(ctx, 987654); len(got) != 0 {
			t.Errorf("List(unknown user) = %d tokens", len(got))
		}
	})

	t.Run("duplicate digest, savepoint keeps the transaction usable", func(t *testing.T) {
		u := newUser(t)
		mk := func() *Token {
			return &Token{UserID: u.ID, TimeAdded: t0, LastUpdated: t0, Valid: true, Policy: json.RawMessage("{}"), ExtraData: json.RawMessage("{}")}
		}
		if err := insert(t, mk(), digest(50)); err != nil {
			t.Fatal(err)
		}
		var ok *Token
		err := s.InTx(ctx, func(tx StoreTx) error {
			err := tx.Savepoint(ctx, "sp", func() error { return tx.Insert(ctx, mk(), digest(50)) })
			if !errors.Is(err, ErrDuplicateDigest) {
				return fmt.Errorf("want ErrDuplicateDigest, got %w", err)
			}
			ok = mk()
			return tx.Savepoint(ctx, "sp", func() error { return tx.Insert(ctx, ok, digest(51)) })
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, ok.ID); err != nil {
			t.Errorf("insert after a rolled-back savepoint was lost: %v", err)
		}
		// A foreign-key failure is not a collision.
		ghost := mk()
		ghost.UserID = 987654
		if err := insert(t, ghost, digest(52)); err == nil || errors.Is(err, ErrDuplicateDigest) {
			t.Errorf("FK violation err = %v, want a non-collision error", err)
		}
	})

	t.Run("rollback discards token and audit event", func(t *testing.T) {
		u := newUser(t)
		tok := &Token{UserID: u.ID, TimeAdded: t0, LastUpdated: t0, Valid: true, Policy: json.RawMessage("{}"), ExtraData: json.RawMessage("{}")}
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx StoreTx) error {
			if err := tx.Insert(ctx, tok, digest(60)); err != nil {
				return err
			}
			if err := tx.AppendAuditEvent(ctx, &AuditEvent{At: t0, Kind: "test.rollback", SubjectType: "x", SubjectID: "1"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx err = %v", err)
		}
		if _, err := s.LookupDigest(ctx, digest(60)); !errors.Is(err, ErrNotFound) {
			t.Errorf("rolled-back token visible: %v", err)
		}
		if evs, _ := s.ListAuditEvents(ctx, AuditFilter{Kind: "test.rollback"}); len(evs) != 0 {
			t.Errorf("rolled-back audit event visible")
		}
	})

	t.Run("update", func(t *testing.T) {
		u := newUser(t)
		tok := mk(t, u)
		exp, inv := t0.Add(time.Hour), t0.Add(time.Minute)
		tok.Note, tok.Policy, tok.ExtraData = "n", json.RawMessage(`{"x":1}`), json.RawMessage(`{"y":2}`)
		tok.Expires, tok.Valid, tok.InvalidDate, tok.InvalidReason = &exp, false, &inv, "r"
		tok.LastUpdated, tok.ExpiredEventSent = t0.Add(time.Second), true
		if err := s.InTx(ctx, func(tx StoreTx) error { return tx.Update(ctx, tok) }); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Get(ctx, tok.ID)
		if diff := tokenDiff(got, tok); diff != "" {
			t.Errorf("after Update: %s", diff)
		}
		ghost := *tok
		ghost.ID = 987654
		if err := s.InTx(ctx, func(tx StoreTx) error { return tx.Update(ctx, &ghost) }); !errors.Is(err, ErrNotFound) {
			t.Errorf("Update(unknown) err = %v", err)
		}
	})

	t.Run("invalidate scopes", func(t *testing.T) {
		u1, u2 := newUser(t), newUser(t)
		a, bb, c := mk(t, u1), mk(t, u1), mk(t, u2)
		run := func(scope InvalidateScope, at time.Time, reason string) []*Token {
			t.Helper()
			var out []*Token
			if err := s.InTx(ctx, func(tx StoreTx) error {
				var err error
				out, err = tx.Invalidate(ctx, scope, at, reason)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if got := run(InvalidateScope{}, t0, "zero"); len(got) != 0 {
			t.Fatalf("zero scope invalidated %d tokens", len(got))
		}
		got := run(InvalidateScope{TokenID: a.ID}, t0.Add(time.Hour), "one")
		if len(got) != 1 || got[0].ID != a.ID || got[0].Valid || got[0].InvalidReason != "one" || !got[0].InvalidDate.Equal(t0.Add(time.Hour)) || got[0].Username != u1.Username {
			t.Fatalf("TokenID scope = %+v", got)
		}
		if got := run(InvalidateScope{TokenID: a.ID}, t0.Add(2*time.Hour), "again"); len(got) != 0 {
			t.Errorf("already invalid token invalidated again")
		}
		// A user list longer than one IN chunk.
		ids := make([]int64, 0, inChunk+10)
		for i := range inChunk + 9 {
			ids = append(ids, int64(900000+i))
		}
		ids = append(ids, u1.ID)
		got = run(InvalidateScope{UserIDs: ids}, t0.Add(3*time.Hour), "users")
		if len(got) != 1 || got[0].ID != bb.ID {
			t.Fatalf("UserIDs scope = %+v", got)
		}
		if g, _ := s.Get(ctx, a.ID); g.InvalidReason != "one" || !g.InvalidDate.Equal(t0.Add(time.Hour)) {
			t.Errorf("first invalidation overwritten: %+v", g)
		}
		if g, _ := s.Get(ctx, c.ID); !g.Valid {
			t.Errorf("u2's token invalidated by u1's scope")
		}
		if got := run(InvalidateScope{All: true}, t0.Add(4*time.Hour), "all"); len(got) == 0 {
			t.Errorf("All scope invalidated nothing")
		}
		if g, _ := s.Get(ctx, c.ID); g.Valid || g.InvalidReason != "all" {
			t.Errorf("All scope missed a token: %+v", g)
		}
	})

	t.Run("delete and cascade", func(t *testing.T) {
		u := newUser(t)
		a, bb := mk(t, u), mk(t, u)
		if err := s.InTx(ctx, func(tx StoreTx) error { return tx.Delete(ctx, a.ID) }); err != nil {
			t.Fatal(err)
		}
		if err := s.InTx(ctx, func(tx StoreTx) error { return tx.Delete(ctx, a.ID) }); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Delete err = %v", err)
		}
		if err := b.deleteUser(u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, bb.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("token outlived its user (ON DELETE CASCADE): %v", err)
		}
	})

	t.Run("mark used and expired", func(t *testing.T) {
		u := newUser(t)
		tok := mk(t, u)
		mark := func(at, stale time.Time) bool {
			t.Helper()
			var ok bool
			if err := s.InTx(ctx, func(tx StoreTx) error {
				var err error
				ok, err = tx.MarkUsed(ctx, tok.ID, at, stale)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !mark(t0, t0.Add(-time.Minute)) {
			t.Error("first MarkUsed did not write")
		}
		if mark(t0.Add(30*time.Second), t0.Add(-30*time.Second)) {
			t.Error("MarkUsed wrote although last_used is newer than staleBefore")
		}
		if !mark(t0.Add(time.Minute), t0) {
			t.Error("MarkUsed at the boundary did not write")
		}
		if g, _ := s.Get(ctx, tok.ID); !g.LastUsed.Equal(t0.Add(time.Minute)) {
			t.Errorf("last_used = %v", g.LastUsed)
		}

		// 16 concurrent callers: exactly one sees true.
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for range 16 {
			wg.Go(func() {
				var ok bool
				err := s.InTx(ctx, func(tx StoreTx) error {
					var err error
					ok, err = tx.MarkExpiredEventSent(ctx, tok.ID)
					return err
				})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if winners != 1 {
			t.Errorf("%d callers won MarkExpiredEventSent, want 1", winners)
		}
	})

	t.Run("audit log", func(t *testing.T) {
		actor := int64(42)
		appendEv := func(e *AuditEvent) {
			t.Helper()
			if err := s.InTx(ctx, func(tx StoreTx) error { return tx.AppendAuditEvent(ctx, e) }); err != nil {
				t.Fatal(err)
			}
			if e.ID == 0 {
				t.Fatal("AppendAuditEvent did not set the ID")
			}
		}
		e1 := &AuditEvent{At: t0, Kind: "conf.a", ActorUserID: &actor, SubjectType: "conf", SubjectID: "1", Data: json.RawMessage(`{"k":"v"}`)}
		e2 := &AuditEvent{At: t0.Add(time.Second), Kind: "conf.b", SubjectType: "conf", SubjectID: "2"}
		e3 := &AuditEvent{At: t0.Add(2 * time.Second), Kind: "conf.a", SubjectType: "conf", SubjectID: "2"}
		appendEv(e1)
		appendEv(e2)
		appendEv(e3)
		all, err := s.ListAuditEvents(ctx, AuditFilter{SubjectType: "conf"})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 3 || all[0].ID != e1.ID || *all[0].ActorUserID != 42 || string(all[0].Data) != `{"k":"v"}` ||
			all[1].ActorUserID != nil || string(all[1].Data) != `{}` || !all[2].At.Equal(t0.Add(2*time.Second)) {
			t.Errorf("ListAuditEvents = %+v", all)
		}
		filters := []struct {
			name string
			f    AuditFilter
			want []int64
		}{
			{"kind", AuditFilter{SubjectType: "conf", Kind: "conf.a"}, []int64{e1.ID, e3.ID}},
			{"subject", AuditFilter{SubjectType: "conf", SubjectID: "2"}, []int64{e2.ID, e3.ID}},
			{"after", AuditFilter{SubjectType: "conf", AfterID: e1.ID}, []int64{e2.ID, e3.ID}},
			{"limit", AuditFilter{SubjectType: "conf", Limit: 1}, []int64{e1.ID}},
		}
		for _, tc := range filters {
			got, err := s.ListAuditEvents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Errorf("%s: ids %v, want %v", tc.name, ids, tc.want)
			}
		}
		// Append-only: the database refuses changes and deletions.
		for _, q := range []string{`UPDATE audit_events SET kind = 'x'`, `DELETE FROM audit_events`} {
			if err := b.rawExec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: err = %v, want the append-only refusal", q, err)
			}
		}
	})

	t.Run("16 goroutines generating concurrently", func(t *testing.T) {
		m := mustManager(t, s, b.users, Options{})
		const workers, each = 16, 8
		owners := make([]users.User, 4)
		for i := range owners {
			owners[i] = newUser(t)
		}
		type result struct {
			tok *Token
			raw string
		}
		results := make(chan result, workers*each)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					tok, raw, err := m.Generate(ctx, GenerateParams{User: owners[w%len(owners)], Note: fmt.Sprintf("w%d-%d", w, i)})
					if err != nil {
						t.Errorf("worker %d: %v", w, err)
						return
					}
					results <- result{tok, raw}
				}
			})
		}
		wg.Wait()
		close(results)
		ids, raws := map[int64]bool{}, map[string]bool{}
		for r := range results {
			if ids[r.tok.ID] || raws[r.raw] {
				t.Errorf("duplicate token id %d / raw", r.tok.ID)
			}
			ids[r.tok.ID], raws[r.raw] = true, true
		}
		if len(ids) != workers*each {
			t.Fatalf("%d tokens returned, want %d", len(ids), workers*each)
		}
		stored := 0
		for _, o := range owners {
			toks, err := s.List(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range toks {
				if !ids[tok.ID] {
					t.Errorf("stored token %d was not returned", tok.ID)
				}
				stored++
			}
		}
		if stored != workers*each {
			t.Errorf("%d rows stored, want %d (lost rows)", stored, workers*each)
		}
		for raw := range raws {
			if _, err := m.Authenticate(ctx, raw); err != nil {
				t.Errorf("Authenticate(generated token): %v", err)
				break
			}
		}
		created := 0
		evs, _ := s.ListAuditEvents(ctx, AuditFilter{Kind: string(EventCreated)})
		for _, e := range evs {
			if id := e.SubjectID; id != "" {
				var n int64
				fmt.Sscan(id, &n)
				if ids[n] {
					created++
				}
			}
		}
		if created != workers*each {
			t.Errorf("%d created audit events, want %d", created, workers*each)
		}
	})
}
