package tokens

import (
	"context"
	"time"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/users"
)

// Store is the storage contract for API tokens and the audit log, in this
// package's own types (docs/architecture.md, "Storage and invalidation").
// Reads run on their own; every change
// runs inside InTx so that the change and its audit event commit together.
// NewSQLStore implements it for SQLite and PostgreSQL.
type Store interface {
	// InTx runs fn in one transaction, committed when fn returns nil and
	// rolled back otherwise.
	InTx(ctx context.Context, fn func(tx StoreTx) error) error
	// InTxAnnounce is InTx whose transaction is run by p.PublishInTx, so
	// that kind:id is announced to every instance when, and only if, it
	// commits.
	InTxAnnounce(ctx context.Context, p Publisher, kind, id string, fn func(tx StoreTx) error) error
	// Get loads a token by ID, or returns ErrNotFound.
	Get(ctx context.Context, id int64) (*Token, error)
	// List returns the tokens of userID, oldest first.
	List(ctx context.Context, userID int64) ([]*Token, error)
	// LookupDigest finds the token whose secret has the given SHA-256 hex
	// digest, with its owner, in one query; ErrNotFound when there is none.
	LookupDigest(ctx context.Context, digest string) (*Lookup, error)
	// ListAuditEvents returns audit events matching f, oldest first unless
	// f.NewestFirst.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// StoreTx is the part of Store that runs inside a transaction.
type StoreTx interface {
	// Savepoint runs fn so that, when it fails, only its work is undone and
	// the transaction stays usable.
	Savepoint(ctx context.Context, name string, fn func() error) error
	// Insert stores t with the digest of its secret and sets t.ID. A digest
	// that already exists is ErrDuplicateDigest; any other failure is
	// another error.
	Insert(ctx context.Context, t *Token, digest string) error
	// Get loads a token by ID (ErrNotFound), locking it against concurrent
	// changes until the transaction ends where the database can.
	Get(ctx context.Context, id int64) (*Token, error)
	// Update writes t's changeable columns: note, policy, extra_data,
	// expires, valid, invalid_date, invalid_reason, last_updated and
	// expired_event_sent. ErrNotFound when the row is gone.
	Update(ctx context.Context, t *Token) error
	// Invalidate marks the still-valid tokens selected by scope invalid with
	// the given date and reason and returns them as now stored. Tokens that
	// are already invalid are left untouched (their first date and reason
	// stay), and an empty scope selects nothing (docs/api-tokens.md, "Deliberate differences").
	Invalidate(ctx context.Context, scope InvalidateScope, at time.Time, reason string) ([]*Token, error)
	// Delete removes a token; ErrNotFound when there is none.
	Delete(ctx context.Context, id int64) error
	// MarkUsed sets last_used to at, unless another writer already set it
	// to a time after staleBefore; it reports whether it wrote.
	MarkUsed(ctx context.Context, id int64, at, staleBefore time.Time) (bool, error)
	// MarkExpiredEventSent sets expired_event_sent and reports whether it
	// was unset before, so exactly one caller sees true.
	MarkExpiredEventSent(ctx context.Context, id int64) (bool, error)
	// AppendAuditEvent appends e to the audit log and sets e.ID.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
}

// Lookup is a token found by digest, with the stored digest (compared in
// constant time by the caller) and the owner.
type Lookup struct {
	Token  *Token
	Digest string
	Owner  users.User
}

// InvalidateScope selects tokens to invalidate (Djblets'
// invalidate_tokens(users, extra_query)): every token when All
// is set, else the token TokenID when non-zero, else the tokens of UserIDs;
// the filters then narrow that selection, all of them together. The zero
// scope, and one with only filters, selects nothing: an empty user list
// is never "everyone". See docs/migrating-from-review-board.md, "Bulk
// invalidation".
type InvalidateScope struct {
	All     bool
	TokenID int64
	UserIDs []int64

	// NoteContains keeps tokens whose note contains this text (case
	// sensitive, as Django's note__contains); "" does not filter.
	NoteContains string
	// GeneratorID keeps tokens made by this generator; "" does not filter.
	GeneratorID string
	// CreatedBefore and CreatedAfter keep tokens whose time_added is
	// strictly before / strictly after the instant; nil does not filter.
	CreatedBefore *time.Time
	CreatedAfter  *time.Time
	// OnlyUnexpired keeps tokens that have not expired at the time of the
	// call (invalid tokens are never selected anyway), so an audit of a
	// bulk invalidation lists only tokens that could still be used.
	OnlyUnexpired bool
}

// selects reports whether s can select anything: it names all tokens, one
// token or some users.
func (s InvalidateScope) selects() bool {
	return s.All || s.TokenID != 0 || len(s.UserIDs) > 0
}

// AuditEvent is one entry of authgate's append-only audit log (package
// internal/audit, which owns it). Data never holds a secret.
type AuditEvent = audit.Event

// AuditFilter selects audit events; empty fields match everything.
type AuditFilter = audit.Filter
