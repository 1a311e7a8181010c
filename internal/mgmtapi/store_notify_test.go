package mgmtapi_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/mgmtapi"
	"github.com/authgate/authgate/scopes"
)

// recordingNotifier runs the transaction like notify.Bus and records what
// was announced with a committed one.
type recordingNotifier struct {
	d    *db.DB
	mu   sync.Mutex
	sent []string
}

func (n *recordingNotifier) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	if err := n.d.InTx(ctx, fn); err != nil {
		return err
	}
	n.mu.Lock()
	n.sent = append(n.sent, kind+":"+id)
	n.mu.Unlock()
	return nil
}

func (n *recordingNotifier) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sent
	n.sent = nil
	return s
}

func decl(t *testing.T, policyID string) scopes.Decl {
	t.Helper()
	d, err := scopes.Decl{PolicyID: policyID, Name: policyID, Methods: []string{"GET"}, Origin: scopes.OriginRegistered}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestResourceStoreAnnounces: Put and Delete announce resource:<policy_id>
// with their transaction; a Delete that changes nothing announces nothing.
func TestResourceStoreAnnounces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		n := &recordingNotifier{d: d}
		s := mgmtapi.NewResourceStore(d, n)
		steps := []struct {
			name string
			run  func() error
			want []string
		}{
			{"create", func() error { _, err := s.Put(ctx, decl(t, "photos"), mgmtapi.Registrant{Username: "a"}); return err }, []string{"resource:photos"}},
			{"replace", func() error { _, err := s.Put(ctx, decl(t, "photos"), mgmtapi.Registrant{Username: "a"}); return err }, []string{"resource:photos"}},
			{"delete", func() error { return s.Delete(ctx, "photos", mgmtapi.Registrant{Username: "a"}) }, []string{"resource:photos"}},
			{"delete missing", func() error {
				if err := s.Delete(ctx, "photos", mgmtapi.Registrant{Username: "a"}); !errors.Is(err, scopes.ErrNotRegistered) {
					return errors.Join(errors.New("want ErrNotRegistered"), err)
				}
				return nil
			}, nil},
		}
		for _, st := range steps {
			if err := st.run(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := n.take(); len(got) != len(st.want) || (len(got) == 1 && got[0] != st.want[0]) {
				t.Fatalf("%s announced %v, want %v", st.name, got, st.want)
			}
		}
	})
}

// TestWatchReloadsOnInvalidate: with no periodic poll, Watch reloads the
// registry only, and at once, when asked.
func TestWatchReloadsOnInvalidate(t *testing.T) {
	d := dbtest.Open(t)
	reg := scopes.NewRegistry()
	s := mgmtapi.NewResourceStore(d, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, reg, 0, nil) }()
	defer func() { cancel(); <-done }()

	if _, err := mgmtapi.NewResourceStore(d, nil).Put(context.Background(), decl(t, "videos"), mgmtapi.Registrant{Username: "a"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if reg.KnownPolicyID("videos") {
		t.Fatal("reloaded without Invalidate")
	}
	s.Invalidate()
	s.Invalidate() // coalesced, never blocks
	deadline := time.Now().Add(2 * time.Second)
	for !reg.KnownPolicyID("videos") {
		if time.Now().After(deadline) {
			t.Fatal("registry not reloaded within 2s of Invalidate")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
