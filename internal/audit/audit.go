package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// Event is one audit-log entry.
type Event struct {
	ID int64     `json:"id"`
	At time.Time `json:"at"`
	// Kind is the event name, "<area>.<what>", e.g. "token.created" or
	// "client.disabled". Each emitter documents its kinds.
	Kind string `json:"kind"`
	// ActorUserID is the user who caused the event; nil for the system
	// (the CLI, expiry, a detected attack) or when unknown.
	ActorUserID *int64 `json:"actor_user_id"`
	// SubjectType and SubjectID name what the event is about, e.g.
	// "api_token" and "42", or "oauth_client" and a client_id.
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	// Data is a JSON object with event details; never a secret.
	Data json.RawMessage `json:"data"`
}

// Filter selects events; its zero value selects every event, oldest first.
type Filter struct {
	SubjectType string
	SubjectID   string
	Kind        string
	// ActorUserID keeps only events caused by this user; 0 means any actor
	// (and events without one).
	ActorUserID int64
	// AfterID keeps only events with a greater ID, BeforeID only events
	// with a smaller one (paging either way); 0 means no bound.
	AfterID  int64
	BeforeID int64
	// NewestFirst orders by ID descending instead of ascending.
	NewestFirst bool
	// Limit caps the number of events; 0 means no cap.
	Limit int
}

// ErrInvalidEvent is returned by Append for an event it refuses to store.
var ErrInvalidEvent = errors.New("invalid audit event")

// Append stores e and sets e.ID. ext is the caller's transaction (or a
// database handle, for an entry of its own); its Rebind adapts the
// placeholders to the dialect. A zero e.At becomes the current time and
// empty Data the empty object; times are stored in UTC to the microsecond.
// Kind, SubjectType and SubjectID are required and Data must be a JSON
// object.
func Append(ctx context.Context, ext sqlx.ExtContext, e *Event) error {
	switch {
	case e.Kind == "":
		return fmt.Errorf("%w: no kind", ErrInvalidEvent)
	case e.SubjectType == "" || e.SubjectID == "":
		return fmt.Errorf("%w: %s has no subject", ErrInvalidEvent, e.Kind)
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: %s data is not a JSON object", ErrInvalidEvent, e.Kind)
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	var actor sql.NullInt64
	if e.ActorUserID != nil {
		actor = sql.NullInt64{Int64: *e.ActorUserID, Valid: true}
	}
	q := ext.Rebind(`INSERT INTO audit_events (at, kind, actor_user_id, subject_type, subject_id, data)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`)
	if err := ext.QueryRowxContext(ctx, q, e.At, e.Kind, actor, e.SubjectType, e.SubjectID, string(e.Data)).Scan(&e.ID); err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Kind, err)
	}
	return nil
}

type row struct {
	ID          int64         `db:"id"`
	At          time.Time     `db:"at"`
	Kind        string        `db:"kind"`
	ActorUserID sql.NullInt64 `db:"actor_user_id"`
	SubjectType string        `db:"subject_type"`
	SubjectID   string        `db:"subject_id"`
	Data        string        `db:"data"`
}

// List returns the events matching f, in ID order (oldest first unless
// f.NewestFirst).
func List(ctx context.Context, d *db.DB, f Filter) ([]Event, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.SubjectType != "" {
		add("subject_type = ?", f.SubjectType)
	}
	if f.SubjectID != "" {
		add("subject_id = ?", f.SubjectID)
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.ActorUserID > 0 {
		add("actor_user_id = ?", f.ActorUserID)
	}
	if f.AfterID > 0 {
		add("id > ?", f.AfterID)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	q := `SELECT id, at, kind, actor_user_id, subject_type, subject_id, data FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id`
	if f.NewestFirst {
		q += ` DESC`
	}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var rows []row
	if err := d.SelectContext(ctx, &rows, d.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = Event{ID: r.ID, At: r.At.UTC(), Kind: r.Kind, SubjectType: r.SubjectType, SubjectID: r.SubjectID, Data: json.RawMessage(r.Data)}
		if r.ActorUserID.Valid {
			id := r.ActorUserID.Int64
			out[i].ActorUserID = &id
		}
	}
	return out, nil
}

// Data marshals v, an emitter's detail struct or map of plain values, into
// an event's Data. Such values cannot fail to marshal; if one ever did, the
// entry would still be written, with {"error": "..."} as its data, rather
// than failing the change it records.
func Data(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "unencodable audit data: " + err.Error()})
	}
	return b
}

type actorKey struct{}

// WithActor returns a context recording that userID is performing the
// operation; emitters write it into their events' ActorUserID. A userID of
// 0 or less records no actor.
func WithActor(ctx context.Context, userID int64) context.Context {
	return context.WithValue(ctx, actorKey{}, userID)
}

// ActorFrom returns a new pointer to the user ID set by WithActor, or nil
// when there is none: ready for Event.ActorUserID.
func ActorFrom(ctx context.Context) *int64 {
	id, ok := ctx.Value(actorKey{}).(int64)
	if !ok || id <= 0 {
		return nil
	}
	return &id
}
