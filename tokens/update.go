package tokens

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Update changes token id inside one transaction: fn receives a copy of the
// current token and edits it; the result is validated and written, and
// EventUpdated fires. fn may change Note, Policy (validated),
// Expires (which re-arms the expired event), ExtraData, and Valid from
// true to false with InvalidReason (and optionally InvalidDate; default
// now), which also fires EventInvalidated. Setting Valid back to true is
// ErrCannotRevalidate; changing another field is ErrImmutableField. An
// error from fn aborts the update and is returned as is.
func (m *Manager) Update(ctx context.Context, id int64, fn func(t *Token) error) (*Token, error) {
	now := dbTime(m.now())
	actor := ActorFrom(ctx)
	var events []Event
	var out *Token
	err := m.writeTx(ctx, NotifyKind, strconv.FormatInt(id, 10), func(tx StoreTx) error {
		events = events[:0]
		old, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		t := old.clone()
		if err := fn(t); err != nil {
			return err
		}
		changed, err := m.applyUpdate(old, t, now)
		if err != nil {
			return err
		}
		if err := tx.Update(ctx, t); err != nil {
			return err
		}
		events = append(events, Event{Kind: EventUpdated, At: now, Token: t, ActorUserID: actor, Changed: changed})
		if old.Valid && !t.Valid {
			events = append(events, Event{Kind: EventInvalidated, At: now, Token: t, ActorUserID: actor, Reason: t.InvalidReason})
		}
		for i := range events {
			if err := m.appendAudit(ctx, tx, &events[i]); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ev := range events {
		m.emit(ctx, ev)
	}
	return out.clone(), nil
}

// applyUpdate checks what fn did to t (a copy of old), normalises it and
// returns the JSON names of the changed fields.
func (m *Manager) applyUpdate(old, t *Token, now time.Time) ([]string, error) {
	immutable := func(field string, same bool) error {
		if same {
			return nil
		}
		return fmt.Errorf("update api token %d: %w: %s", old.ID, ErrImmutableField, field)
	}
	for _, c := range []struct {
		field string
		same  bool
	}{
		{"id", t.ID == old.ID},
		{"user_id", t.UserID == old.UserID},
		{"username", t.Username == old.Username},
		{"prefix", t.Prefix == old.Prefix},
		{"token_generator_id", t.GeneratorID == old.GeneratorID},
		{"time_added", t.TimeAdded.Equal(old.TimeAdded)},
		{"last_used", timePtrEqual(t.LastUsed, old.LastUsed)},
		{"expired_event_sent", t.ExpiredEventSent == old.ExpiredEventSent},
	} {
		if err := immutable(c.field, c.same); err != nil {
			return nil, err
		}
	}
	var changed []string
	switch {
	case !old.Valid && t.Valid:
		return nil, ErrCannotRevalidate
	case !old.Valid:
		// docs/api-tokens.md, "Deliberate differences": an invalid token keeps its first date and reason.
		if err := immutable("invalid_date", timePtrEqual(t.InvalidDate, old.InvalidDate)); err != nil {
			return nil, err
		}
		if err := immutable("invalid_reason", t.InvalidReason == old.InvalidReason); err != nil {
			return nil, err
		}
	case !t.Valid: // being invalidated now
		if t.InvalidDate == nil {
			t.InvalidDate = &now
		}
		t.InvalidDate = dbTimePtr(t.InvalidDate)
		changed = append(changed, "valid", "invalid_date", "invalid_reason")
	default: // stays valid: nothing to say about invalidity
		if err := immutable("invalid_date", t.InvalidDate == nil); err != nil {
			return nil, err
		}
		if err := immutable("invalid_reason", t.InvalidReason == ""); err != nil {
			return nil, err
		}
	}
	if t.Note != old.Note {
		changed = append(changed, "note")
	}
	if !bytes.Equal(t.Policy, old.Policy) {
		pol, err := m.normalizePolicy(t.Policy)
		if err != nil {
			return nil, err
		}
		t.Policy = pol
		if !bytes.Equal(pol, old.Policy) {
			changed = append(changed, "policy")
		}
	}
	if !bytes.Equal(t.ExtraData, old.ExtraData) {
		extra, err := normalizeExtraData(t.ExtraData)
		if err != nil {
			return nil, err
		}
		t.ExtraData = extra
		if !bytes.Equal(extra, old.ExtraData) {
			changed = append(changed, "extra_data")
		}
	}
	t.Expires = dbTimePtr(t.Expires)
	if !timePtrEqual(t.Expires, old.Expires) {
		// Review Board resets its expired-notification flag when expires
		// changes (docs/api-tokens.md, "Errors and codes" PUT); the once-per-token event is re-armed too.
		t.ExpiredEventSent = false
		changed = append(changed, "expires")
	}
	// Djblets (see docs/api-tokens.md, "The model"): last_updated is set on every
	// save of an existing row.
	t.LastUpdated = now
	slices.Sort(changed)
	return changed, nil
}

func timePtrEqual(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// Delete removes token id (ErrNotFound) and fires EventDeleted.
func (m *Manager) Delete(ctx context.Context, id int64) error {
	now := dbTime(m.now())
	var ev Event
	err := m.writeTx(ctx, NotifyKind, strconv.FormatInt(id, 10), func(tx StoreTx) error {
		t, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, id); err != nil {
			return err
		}
		ev = Event{Kind: EventDeleted, At: now, Token: t, ActorUserID: ActorFrom(ctx)}
		return m.appendAudit(ctx, tx, &ev)
	})
	if err != nil {
		return err
	}
	m.emit(ctx, ev)
	return nil
}
