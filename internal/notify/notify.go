package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/authgate/authgate/internal/db"
)

// Channel is the PostgreSQL notification channel
// (docs/architecture.md, "Storage and invalidation").
const Channel = "authgate_invalidate"

// All is the id a subscriber receives when it must reload everything it
// caches: after the listener reconnected (notices may have been lost), when
// the in-process queue overflowed, or when someone sent the payload "*" or
// "<kind>:*" (e.g. an operator: NOTIFY authgate_invalidate, '*').
const All = "*"

// maxPayload: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const maxPayload = 7999

// maxQueue bounds the in-process queue; past it the pending notices
// collapse into one All for every subscriber, so nothing is lost.
const maxQueue = 1024

// ErrClosed is returned by Publish and PublishInTx after Close.
var ErrClosed = errors.New("notify: bus closed")

// Options tunes New. The zero value is what a server wants.
type Options struct {
	// Logger receives listener connection events; nil discards them.
	Logger *slog.Logger
	// PublishOnly opens no listener on PostgreSQL and does not poll the
	// change feed on SQLite: the process announces its changes but hears
	// no one else's (management commands that exit at once).
	PublishOnly bool
	// PollInterval is how often a SQLite process reads the change feed;
	// default DefaultPollInterval. FeedRetention is how long feed rows are
	// kept; default DefaultFeedRetention.
	PollInterval, FeedRetention time.Duration
	// ListenTimeout bounds how long New waits for the first LISTEN;
	// default 10s.
	ListenTimeout time.Duration
	// MinReconnect and MaxReconnect bound the listener's reconnection
	// back-off; defaults 250ms and 15s.
	MinReconnect, MaxReconnect time.Duration
}

// Bus publishes invalidation notices and delivers them to subscribers. Its
// methods are safe for concurrent use.
type Bus struct {
	db       *db.DB
	log      *slog.Logger
	listener *pq.Listener // nil on SQLite and when PublishOnly
	feed     *feed        // SQLite only (feed.go)
	tick     *time.Ticker // polls the feed; nil on PostgreSQL and when PublishOnly
	ctx      context.Context
	cancel   context.CancelFunc

	mu   sync.RWMutex
	subs map[string][]func(id string)

	// The in-process queue (SQLite): notices published after their commit.
	qmu      sync.Mutex
	queue    []notice
	overflow bool
	wake     chan struct{}

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type notice struct{ kind, id string }

// New returns a bus on d, whose URL is dsn. On PostgreSQL it opens the
// listening connection (named "<application_name>-notify", default
// "authgate-notify", in pg_stat_activity) and returns once LISTEN is in
// effect, so that a cache loaded after New cannot miss a change. The caller
// must Close the bus.
func New(ctx context.Context, d *db.DB, dsn string, opts Options) (*Bus, error) {
	if d == nil {
		return nil, errors.New("notify: a database is required")
	}
	b := &Bus{
		db: d, log: opts.Logger, subs: map[string][]func(string){},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if d.Dialect != db.Postgres {
		if err := b.openFeed(ctx, opts); err != nil {
			return nil, err
		}
	}
	var notes <-chan *pq.Notification
	if d.Dialect == db.Postgres && !opts.PublishOnly {
		l, err := b.listen(ctx, dsn, opts)
		if err != nil {
			return nil, err
		}
		b.listener, notes = l, l.NotificationChannel()
	}
	if b.feed != nil && !opts.PublishOnly {
		b.tick = time.NewTicker(b.feed.interval)
	}
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go b.run(notes)
	return b, nil
}

// listen opens the pq.Listener and waits until it LISTENs on Channel.
func (b *Bus) listen(ctx context.Context, dsn string, opts Options) (*pq.Listener, error) {
	timeout, minR, maxR := opts.ListenTimeout, opts.MinReconnect, opts.MaxReconnect
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if minR <= 0 {
		minR = 250 * time.Millisecond
	}
	if maxR < minR {
		maxR = max(15*time.Second, minR)
	}
	l := pq.NewListener(listenerDSN(dsn), minR, maxR, b.event)
	errc := make(chan error, 1)
	go func() { errc <- l.Listen(Channel) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = fmt.Errorf("no connection within %s", timeout)
	}
	if err != nil {
		_ = l.Close()
		go drain(l.NotificationChannel())
		return nil, fmt.Errorf("notify: listen on %s: %w", Channel, err)
	}
	return l, nil
}

// listenerDSN names the listening connection after the pool's
// application_name, so operators can tell it apart in pg_stat_activity.
func listenerDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	name := q.Get("application_name")
	if name == "" {
		name = "authgate"
	}
	q.Set("application_name", name+"-notify")
	u.RawQuery = q.Encode()
	return u.String()
}

// event logs the listener's connection changes (called on pq's goroutine;
// the reconnection itself is reported by a nil notification, see run).
func (b *Bus) event(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventDisconnected:
		b.log.Warn("invalidation listener lost its database connection; reconnecting", "error", err)
	case pq.ListenerEventConnectionAttemptFailed:
		b.log.Warn("invalidation listener cannot reconnect yet", "error", err)
	case pq.ListenerEventReconnected:
		b.log.Info("invalidation listener reconnected; reloading every cache")
	}
}

// Subscribe calls fn with the id of every notice of kind, and with All when
// everything must be reloaded. fn runs on the bus's single delivery
// goroutine, in publication order, so it must return quickly: drop a cache
// entry or signal a worker, don't query the database there. A panic in fn
// is logged and does not reach other subscribers.
func (b *Bus) Subscribe(kind string, fn func(id string)) {
	if fn == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[kind] = append(slices.Clip(b.subs[kind]), fn)
}

// Publish announces that kind:id changed, to every process: by NOTIFY on
// PostgreSQL, through the change feed on SQLite (feed.go; this process's
// subscribers hear it at once, others within the poll interval). Call it
// after the change has committed; use PublishInTx when the change is made in a transaction.
// kind is lower-case letters, digits, '_', '.' or '-'; id is any non-empty
// text (All: every entry of kind).
func (b *Bus) Publish(ctx context.Context, kind, id string) error {
	payload, err := payloadOf(kind, id)
	if err != nil {
		return err
	}
	if b.closed() {
		return ErrClosed
	}
	if b.db.Dialect == db.Postgres {
		if _, err := b.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, payload); err != nil {
			return fmt.Errorf("notify %s: %w", payload, err)
		}
		return nil
	}
	seq, err := appendFeed(ctx, b.db, kind, id)
	if err != nil {
		return err
	}
	b.delivered(seq)
	b.enqueue(notice{kind, id})
	return nil
}

// PublishInTx runs fn in a transaction (db.InTx) and announces kind:id with
// it. On PostgreSQL the NOTIFY is sent inside the transaction, and
// PostgreSQL delivers it when — and only if — the transaction commits, so
// no listener can reload before the change is visible and a rolled-back
// change announces nothing. On SQLite a change-feed row is written in the
// transaction (so likewise committed or rolled back with it), other
// processes deliver it when they next poll, and this process's subscribers
// hear it at once after the commit. fn's error is returned unchanged.
func (b *Bus) PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error {
	payload, err := payloadOf(kind, id)
	if err != nil {
		return err
	}
	if b.closed() {
		return ErrClosed
	}
	pg := b.db.Dialect == db.Postgres
	var seq int64
	err = b.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if pg {
			if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, payload); err != nil {
				return fmt.Errorf("notify %s: %w", payload, err)
			}
			return nil
		}
		var err error
		seq, err = appendFeed(ctx, tx, kind, id)
		return err
	})
	if err != nil {
		return err
	}
	if !pg {
		b.delivered(seq)
		b.enqueue(notice{kind, id})
	}
	return nil
}

// Close stops the listener and the delivery goroutine; notices still
// queued are dropped. It is safe to call more than once.
func (b *Bus) Close() error {
	var err error
	b.closeOnce.Do(func() {
		if b.listener != nil {
			err = b.listener.Close()
		}
		close(b.stop)
		b.cancel() // an in-flight feed poll
		<-b.done
		if b.tick != nil {
			b.tick.Stop()
		}
		if b.listener != nil {
			// pq closes the channel once its goroutine ends (at most
			// MaxReconnect later); keep it from blocking on a send.
			go drain(b.listener.NotificationChannel())
		}
	})
	if err != nil {
		return fmt.Errorf("notify: close listener: %w", err)
	}
	return nil
}

func drain(ch <-chan *pq.Notification) {
	for range ch {
	}
}

func (b *Bus) closed() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

// run delivers notices until Close: those PostgreSQL sends the listener,
// those queued in process, and those other processes wrote to the SQLite
// change feed.
func (b *Bus) run(notes <-chan *pq.Notification) {
	defer close(b.done)
	var tick <-chan time.Time
	if b.tick != nil {
		tick = b.tick.C
	}
	for {
		select {
		case <-b.stop:
			return
		case <-b.wake:
			b.drainQueue()
		case <-tick:
			b.poll(b.ctx)
		case n, ok := <-notes:
			switch {
			case !ok:
				notes = nil // listener closed; Close follows
			case n == nil:
				// pq: after a reconnection a nil notification says that
				// notices may have been lost while the connection was down.
				b.deliverAll()
			default:
				b.deliverPayload(n.Extra)
			}
		}
	}
}

func (b *Bus) enqueue(n notice) {
	b.qmu.Lock()
	if len(b.queue) >= maxQueue {
		b.overflow = true
	} else {
		b.queue = append(b.queue, n)
	}
	b.qmu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (b *Bus) drainQueue() {
	b.qmu.Lock()
	q, overflow := b.queue, b.overflow
	b.queue, b.overflow = nil, false
	b.qmu.Unlock()
	if overflow {
		b.log.Warn("invalidation queue overflowed; reloading every cache", "queued", len(q))
		b.deliverAll()
		return
	}
	for _, n := range q {
		b.deliver(n.kind, n.id)
	}
}

// deliverPayload parses "<kind>:<id>" (or "*") as sent by any process.
func (b *Bus) deliverPayload(payload string) {
	if payload == All {
		b.deliverAll()
		return
	}
	kind, id, ok := strings.Cut(payload, ":")
	if !ok || kind == "" || id == "" {
		b.log.Warn("ignoring malformed invalidation notice", "payload", payload)
		return
	}
	b.deliver(kind, id)
}

func (b *Bus) deliver(kind, id string) {
	b.mu.RLock()
	fns := b.subs[kind]
	b.mu.RUnlock()
	for _, fn := range fns {
		b.call(kind, id, fn)
	}
}

func (b *Bus) deliverAll() {
	type sub struct {
		kind string
		fn   func(string)
	}
	b.mu.RLock()
	var all []sub
	for kind, fns := range b.subs {
		for _, fn := range fns {
			all = append(all, sub{kind, fn})
		}
	}
	b.mu.RUnlock()
	for _, s := range all {
		b.call(s.kind, All, s.fn)
	}
}

func (b *Bus) call(kind, id string, fn func(string)) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("invalidation subscriber panicked", "kind", kind, "panic", fmt.Sprint(p))
		}
	}()
	fn(id)
}

// payloadOf checks kind and id and joins them as "<kind>:<id>".
func payloadOf(kind, id string) (string, error) {
	if kind == "" || strings.TrimLeft(kind, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
		return "", fmt.Errorf("notify: invalid kind %q (lower-case letters, digits, '_', '.', '-')", kind)
	}
	if id == "" || strings.ContainsRune(id, 0) {
		return "", fmt.Errorf("notify: invalid id for kind %q", kind)
	}
	p := kind + ":" + id
	if len(p) > maxPayload {
		return "", fmt.Errorf("notify: %s notice of %d bytes exceeds PostgreSQL's %d", kind, len(p), maxPayload)
	}
	return p, nil
}
