package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/internal/db/dbtest"
	"github.com/authgate/authgate/internal/notify"
)

// within is how long a notice may take to arrive in these tests.
const within = 2 * time.Second

func randomName(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// dialects runs fn on a fresh SQLite file and a fresh PostgreSQL schema,
// giving it the DSN so that fn can open several buses ("processes").
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, dbtest.SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, dbtest.PostgresDSN(t)) })
}

func openDB(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

func newBus(t *testing.T, d *db.DB, dsn string, opts notify.Options) *notify.Bus {
	t.Helper()
	b, err := notify.New(context.Background(), d, dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// recorder collects the ids a subscriber receives.
type recorder struct{ ch chan string }

func subscribe(b *notify.Bus, kind string) *recorder {
	r := &recorder{ch: make(chan string, 4096)}
	b.Subscribe(kind, func(id string) { r.ch <- id })
	return r
}

// next returns the next id received, skipping All unless wantAll (other
// test processes on the same PostgreSQL database may cause those).
func (r *recorder) next(t *testing.T, wantAll bool) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case id := <-r.ch:
			if id == notify.All && !wantAll {
				continue
			}
			return id
		case <-deadline:
			t.Fatalf("no notice within %s", within)
			return ""
		}
	}
}

func (r *recorder) expect(t *testing.T, want string) {
	t.Helper()
	if got := r.next(t, want == notify.All); got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
}

// quiet fails when a notice other than All arrives within d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case id := <-r.ch:
			if id != notify.All {
				t.Fatalf("unexpected notice %q", id)
			}
		case <-deadline:
			return
		}
	}
}

func TestPublishReachesSubscribers(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openDB(t, dsn)
		a := newBus(t, d, dsn, notify.Options{})
		kind, other := randomName("k"), randomName("o")
		ra1, ra2, raOther := subscribe(a, kind), subscribe(a, kind), subscribe(a, other)
		// A second process on the same database hears it too (SQLite:
		// through the change feed).
		b := newBus(t, openDB(t, dsn), dsn, notify.Options{})
		rb := subscribe(b, kind)
		for _, id := range []string{"1", "client:with:colons", "ünïcode"} {
			if err := a.Publish(ctx, kind, id); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []*recorder{ra1, ra2, rb} {
			// In publication order.
			r.expect(t, "1")
			r.expect(t, "client:with:colons")
			r.expect(t, "ünïcode")
		}
		raOther.quiet(t, 200*time.Millisecond)
	})
}

// TestPublishInTx: the notice is delivered when the transaction commits,
// not before, and never when it rolls back; a reader woken by it sees the
// change.
func TestPublishInTx(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openDB(t, dsn)
		if _, err := d.ExecContext(ctx, `CREATE TABLE notify_probe (id VARCHAR(40) PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		pub := newBus(t, d, dsn, notify.Options{PublishOnly: true})
		// Another process hears it (SQLite: through the change feed).
		sub := newBus(t, openDB(t, dsn), dsn, notify.Options{})
		kind := randomName("k")
		seen := make(chan string, 16)
		sub.Subscribe(kind, func(id string) {
			if id == notify.All {
				return
			}
			var n int
			err := d.GetContext(ctx, &n, d.Rebind(`SELECT COUNT(*) FROM notify_probe WHERE id = ?`), id)
			if err != nil || n != 1 {
				seen <- "invisible:" + id
				return
			}
			seen <- id
		})

		insert := func(id string) func(tx *sqlx.Tx) error {
			return func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO notify_probe (id) VALUES (?)`), id)
				return err
			}
		}
		boom := errors.New("boom")
		err := pub.PublishInTx(ctx, kind, "rolled-back", func(tx *sqlx.Tx) error {
			if err := insert("rolled-back")(tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("PublishInTx = %v, want fn's error", err)
		}
		err = pub.PublishInTx(ctx, kind, "committed", func(tx *sqlx.Tx) error {
			if err := insert("committed")(tx); err != nil {
				return err
			}
			// Not delivered while the transaction is open.
			select {
			case id := <-seen:
				t.Errorf("notice %q delivered before commit", id)
			case <-time.After(300 * time.Millisecond):
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case id := <-seen:
			if id != "committed" {
				t.Fatalf("first notice %q, want committed (the rolled-back one must not be sent)", id)
			}
		case <-time.After(within):
			t.Fatalf("no notice within %s after commit", within)
		}
	})
}

// TestPublishEachInTx: every id the transaction returns is announced to
// this process and another, in order; a rolled-back transaction and one
// that returns no ids announce nothing; more than MaxEach ids become one
// All for the kind.
func TestPublishEachInTx(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openDB(t, dsn)
		pub := newBus(t, d, dsn, notify.Options{})
		sub := newBus(t, openDB(t, dsn), dsn, notify.Options{})
		kind := randomName("k")
		here, there := subscribe(pub, kind), subscribe(sub, kind)
		ids := func(ids ...string) func(*sqlx.Tx) ([]string, error) {
			return func(*sqlx.Tx) ([]string, error) { return ids, nil }
		}

		boom := errors.New("boom")
		if err := pub.PublishEachInTx(ctx, kind, func(*sqlx.Tx) ([]string, error) { return []string{"lost"}, boom }); !errors.Is(err, boom) {
			t.Fatalf("PublishEachInTx = %v, want fn's error", err)
		}
		if err := pub.PublishEachInTx(ctx, kind, ids()); err != nil {
			t.Fatal(err)
		}
		if err := pub.PublishEachInTx(ctx, kind, ids("a", "b", "c")); err != nil {
			t.Fatal(err)
		}
		for _, r := range []*recorder{here, there} {
			for _, want := range []string{"a", "b", "c"} {
				r.expect(t, want)
			}
		}

		many := make([]string, notify.MaxEach+1)
		for i := range many {
			many[i] = strconv.Itoa(i)
		}
		if err := pub.PublishEachInTx(ctx, kind, ids(many...)); err != nil {
			t.Fatal(err)
		}
		here.expect(t, notify.All)
		there.expect(t, notify.All)
		if err := pub.PublishEachInTx(ctx, kind, ids(many[:notify.MaxEach]...)); err != nil {
			t.Fatal(err)
		}
		for _, want := range many[:notify.MaxEach] {
			there.expect(t, want)
		}
		there.quiet(t, 300*time.Millisecond)

		if err := pub.PublishEachInTx(ctx, kind, ids("ok", "")); err == nil {
			t.Fatal("an empty id was announced")
		}
		if err := pub.PublishEachInTx(ctx, "Bad Kind", ids("x")); err == nil {
			t.Fatal("an invalid kind was accepted")
		}
	})
}

func TestPublishRejectsBadNotices(t *testing.T) {
	d := dbtest.Open(t)
	b := newBus(t, d, "", notify.Options{})
	for _, tc := range []struct {
		name, kind, id string
	}{
		{"empty kind", "", "1"},
		{"kind with colon", "a:b", "1"},
		{"upper-case kind", "Resource", "1"},
		{"empty id", "resource", ""},
		{"NUL in id", "resource", "a\x00b"},
		{"too long", "resource", strings.Repeat("x", 8000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.Publish(context.Background(), tc.kind, tc.id); err == nil {
				t.Fatal("Publish accepted it")
			}
			called := false
			err := b.PublishInTx(context.Background(), tc.kind, tc.id, func(*sqlx.Tx) error { called = true; return nil })
			if err == nil || called {
				t.Fatalf("PublishInTx = %v, fn called %v", err, called)
			}
		})
	}
}

// TestRawNotices: what an operator (or another version) may send with
// NOTIFY: "*" reloads every subscriber, "<kind>:*" one kind, malformed
// payloads are ignored.
func TestRawNotices(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.PostgresDSN(t)
	d := openDB(t, dsn)
	b := newBus(t, d, dsn, notify.Options{})
	k1, k2 := randomName("k"), randomName("k")
	r1, r2 := subscribe(b, k1), subscribe(b, k2)
	for _, p := range []string{"garbage", k1 + ":", ":x", k1 + ":*", "*", k2 + ":last"} {
		if _, err := d.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notify.Channel, p); err != nil {
			t.Fatal(err)
		}
	}
	r1.expect(t, notify.All) // k1:*
	r1.expect(t, notify.All) // *
	r2.expect(t, notify.All) // *
	r2.expect(t, "last")
}

// TestListenerSurvivesDroppedConnection: when the listening backend is
// terminated, every subscriber is told to reload everything once the
// listener is back, and later notices arrive again.
func TestListenerSurvivesDroppedConnection(t *testing.T) {
	ctx := context.Background()
	base := dbtest.PostgresDSN(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	appName := randomName("authgate-test-")
	q.Set("application_name", appName)
	u.RawQuery = q.Encode()
	dsn := u.String()

	d := openDB(t, dsn)
	b := newBus(t, d, dsn, notify.Options{})
	kind := randomName("k")
	r := subscribe(b, kind)
	if err := b.Publish(ctx, kind, "before"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "before")

	var killed int
	err = d.GetContext(ctx, &killed, `SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1) t`, appName+"-notify")
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listener backends (%v), want 1", killed, err)
	}
	start := time.Now()
	r.expect(t, notify.All)
	t.Logf("reload signalled %s after the connection was dropped", time.Since(start).Round(time.Millisecond))
	if err := b.Publish(ctx, kind, "after"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "after")
}

func TestOverflowCollapsesToAll(t *testing.T) {
	ctx := context.Background()
	b := newBus(t, dbtest.Open(t), "", notify.Options{})
	release := make(chan struct{})
	got := make(chan string, 4096)
	var once sync.Once
	b.Subscribe("k", func(id string) {
		once.Do(func() { <-release }) // hold the delivery goroutine
		got <- id
	})
	// More than twice the queue bound: whatever the first batch taken
	// holds, the rest overflows.
	for i := range 5000 {
		if err := b.Publish(ctx, "k", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	var ids []string
	deadline := time.After(within)
	for len(ids) == 0 || ids[len(ids)-1] != notify.All {
		select {
		case id := <-got:
			ids = append(ids, id)
		case <-deadline:
			t.Fatalf("no All after an overflow; received %d notices", len(ids))
		}
	}
	if len(ids) > 1026 {
		t.Fatalf("received %d notices, want at most one queue's worth and then All", len(ids))
	}
}

func TestSubscriberPanicAndClose(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openDB(t, dsn)
		b, err := notify.New(ctx, d, dsn, notify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		kind := randomName("k")
		b.Subscribe(kind, func(string) { panic("subscriber bug") })
		r := subscribe(b, kind)
		if err := b.Publish(ctx, kind, "1"); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "1")
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := b.Publish(ctx, kind, "2"); !errors.Is(err, notify.ErrClosed) {
			t.Fatalf("Publish after Close = %v, want ErrClosed", err)
		}
		if err := b.PublishInTx(ctx, kind, "2", func(*sqlx.Tx) error { return nil }); !errors.Is(err, notify.ErrClosed) {
			t.Fatalf("PublishInTx after Close = %v, want ErrClosed", err)
		}
	})
}

func TestNewFailsWithoutListener(t *testing.T) {
	dsn := dbtest.PostgresDSN(t)
	d := openDB(t, dsn)
	// Same database handle, but the listener is pointed at a closed port.
	u, _ := url.Parse(dsn)
	u.Host = "127.0.0.1:1"
	start := time.Now()
	_, err := notify.New(context.Background(), d, u.String(), notify.Options{ListenTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("New succeeded without a listening connection")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("New took %s to give up", time.Since(start))
	}
}
