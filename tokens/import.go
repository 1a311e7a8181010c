package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens/policy"
)

// EventImported: Import stored a token exported from another server.
const EventImported EventKind = "token.imported"

// ImportRecord is one token exported from Djblets or Review Board, with
// the WebAPIToken fields. Only the digest of Token is stored.
// See docs/migrating-from-review-board.md, "Importing tokens".
type ImportRecord struct {
	User        string          `json:"user"`
	Token       string          `json:"token"`
	GeneratorID string          `json:"token_generator_id"`
	Note        *string         `json:"note"`
	Policy      json.RawMessage `json:"policy"`
	ExtraData   json.RawMessage `json:"extra_data"`
	TimeAdded   *time.Time      `json:"time_added"`
	LastUpdated *time.Time      `json:"last_updated"`
	LastUsed    *time.Time      `json:"last_used"`
	Expires     *time.Time      `json:"expires"`
	Valid       *bool           `json:"valid"`
	InvalidDate *time.Time      `json:"invalid_date"`
	// InvalidReason is text; null means "".
	InvalidReason *string `json:"invalid_reason"`
}

// ParseImportLine decodes one JSON Lines record. Unknown keys are ignored
// (a Review Board export may carry id or local_site). The error names the
// field at fault and never contains the token.
func ParseImportLine(line []byte) (ImportRecord, error) {
	var r ImportRecord
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
		return r, errors.New("not a JSON object")
	}
	str := func(key string, dst *string) error {
		v, ok := obj[key]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("%s: must be a string", key)
		}
		return nil
	}
	strPtr := func(key string, dst **string) error {
		var s string
		if v, ok := obj[key]; !ok || string(v) == "null" {
			return nil
		}
		if err := str(key, &s); err != nil {
			return err
		}
		*dst = &s
		return nil
	}
	tm := func(key string, dst **time.Time) error {
		v, ok := obj[key]
		if !ok || string(v) == "null" {
			return nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("%s: must be an RFC 3339 time or null", key)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("%s: %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", key, s)
		}
		*dst = &t
		return nil
	}
	for _, err := range []error{
		str("user", &r.User), str("token", &r.Token), str("token_generator_id", &r.GeneratorID),
		strPtr("note", &r.Note), strPtr("invalid_reason", &r.InvalidReason),
		tm("time_added", &r.TimeAdded), tm("last_updated", &r.LastUpdated), tm("last_used", &r.LastUsed),
		tm("expires", &r.Expires), tm("invalid_date", &r.InvalidDate),
	} {
		if err != nil {
			return r, err
		}
	}
	if v, ok := obj["valid"]; ok && string(v) != "null" {
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return r, errors.New("valid: must be true, false or null")
		}
		r.Valid = &b
	}
	r.Policy, r.ExtraData = obj["policy"], obj["extra_data"]
	return r, nil
}

// ImportStatus is the outcome of one record.
type ImportStatus string

// Import outcomes.
const (
	ImportImported ImportStatus = "imported"
	ImportSkipped  ImportStatus = "skipped" // the token is already stored
	ImportRefused  ImportStatus = "refused"
)

// ImportOutcome is the result of one record, in input order.
type ImportOutcome struct {
	Status ImportStatus
	// Reason says why a record was skipped or refused.
	Reason string
	// Token is the stored (or, in a dry run, would-be) token.
	Token *Token
}

// ImportOptions controls Import.
type ImportOptions struct {
	// DryRun validates and reports everything and stores nothing.
	DryRun bool
	// Strict stores nothing when any record is refused.
	Strict bool
}

// errRollback undoes a dry or failed strict import.
var errRollback = errors.New("import rolled back")

// Import stores exported tokens, each by the digest of its original value
// so that it keeps authenticating. Every record is checked as Generate
// checks a new token (owner, policy with Djblets' messages, extra_data)
// and its value must be a token this server accepts: vendor_checksum of an
// accepted prefix with a correct checksum, or 40 hexadecimal characters
// (legacy_sha1, authenticated as deprecated). A value already stored is
// skipped. All records are written in one transaction, each in its own
// savepoint, with a token.imported event and audit_events row; a record is never
// half-written. With DryRun, or Strict and a refused record, the
// transaction is rolled back. The outcomes are in input order.
func (m *Manager) Import(ctx context.Context, recs []ImportRecord, opts ImportOptions) ([]ImportOutcome, error) {
	now := dbTime(m.now())
	actor := ActorFrom(ctx)
	out := make([]ImportOutcome, len(recs))
	var events []Event
	owners := map[string]users.User{}
	err := m.store.InTx(ctx, func(tx StoreTx) error {
		events = events[:0]
		refused := false
		for i, r := range recs {
			tok, digest, reason, err := m.importToken(ctx, r, owners, now)
			if err != nil {
				return err
			}
			if reason != "" {
				out[i] = ImportOutcome{Status: ImportRefused, Reason: reason}
				refused = true
				continue
			}
			err = tx.Savepoint(ctx, "api_token_import", func() error {
				if err := tx.Insert(ctx, tok, digest); err != nil {
					return err
				}
				ev := Event{Kind: EventImported, At: now, Token: tok, ActorUserID: actor}
				if err := m.appendAudit(ctx, tx, &ev); err != nil {
					return err
				}
				events = append(events, ev)
				return nil
			})
			switch {
			case errors.Is(err, ErrDuplicateDigest):
				out[i] = ImportOutcome{Status: ImportSkipped, Reason: "this token is already stored"}
			case err != nil:
				return err
			default:
				out[i] = ImportOutcome{Status: ImportImported, Token: tok.clone()}
			}
		}
		if opts.DryRun || opts.Strict && refused {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("import api tokens: %w", err)
	}
	for _, ev := range events {
		m.emit(ctx, ev)
	}
	return out, nil
}

// importToken checks r and builds its row. A refusal is a non-empty reason;
// err is only a database failure.
func (m *Manager) importToken(ctx context.Context, r ImportRecord, owners map[string]users.User, now time.Time) (*Token, string, string, error) {
	if m.users == nil {
		return nil, "", "", errors.New("import needs the manager's user store")
	}
	if r.User == "" {
		return nil, "", "user: " + requiredText, nil
	}
	if r.Token == "" {
		return nil, "", "token: " + requiredText, nil
	}
	gen, info := m.recognize(r.Token)
	switch {
	case gen == nil:
		return nil, "", "token: not a token this server accepts (a vendor_checksum token of an accepted prefix " +
			strings.Join(m.prefixes, ", ") + " with a valid checksum, or 40 hexadecimal characters)", nil
	case r.GeneratorID != "" && r.GeneratorID != gen.ID():
		return nil, "", fmt.Sprintf("token_generator_id: %q does not match the token, which is a %s token", r.GeneratorID, gen.ID()), nil
	}
	pol, err := importPolicy(m, r.Policy)
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			return nil, "", "policy: " + ve.Message + pointerText(ve.Pointer), nil
		}
		return nil, "", "policy: " + err.Error(), nil
	}
	extra, err := normalizeExtraData(unquoteJSONText(r.ExtraData))
	if err != nil {
		return nil, "", "extra_data: must be a JSON object (or JSON text of one)", nil
	}
	owner, ok := owners[r.User]
	if !ok {
		u, err := m.users.GetByUsername(ctx, r.User)
		if errors.Is(err, users.ErrNotFound) {
			return nil, "", fmt.Sprintf("user: %q does not exist", r.User), nil
		}
		if err != nil {
			return nil, "", "", err
		}
		owner, owners[r.User] = u, u
	}
	t := &Token{
		UserID: owner.ID, Username: owner.Username, GeneratorID: gen.ID(), Prefix: gen.DisplayPrefix(r.Token, info),
		TimeAdded: now, LastUpdated: now, LastUsed: dbTimePtr(r.LastUsed), Expires: dbTimePtr(r.Expires),
		Valid: true, Policy: pol, ExtraData: extra,
	}
	if r.TimeAdded != nil {
		t.TimeAdded = dbTime(*r.TimeAdded)
	}
	t.LastUpdated = t.TimeAdded
	if r.LastUpdated != nil {
		t.LastUpdated = dbTime(*r.LastUpdated)
	}
	if r.Note != nil {
		t.Note = *r.Note
	}
	if r.Valid != nil && !*r.Valid {
		t.Valid = false
		t.InvalidDate = dbTimePtr(r.InvalidDate)
		if r.InvalidReason != nil {
			t.InvalidReason = *r.InvalidReason
		}
	} else if r.InvalidDate != nil || r.InvalidReason != nil && *r.InvalidReason != "" {
		return nil, "", "invalid_date, invalid_reason: only allowed with \"valid\": false", nil
	}
	return t, digestOf(r.Token), "", nil
}

const requiredText = "This field is required."

func pointerText(p string) string {
	if p == "" {
		return ""
	}
	return " (at " + p + ")"
}

// importPolicy accepts the policy as an object or as JSON text holding
// one, as Djblets' JSONField does; null and "" mean {}. Unlike Djblets,
// text that is not JSON is refused rather than read as {} (full access).
// See docs/migrating-from-review-board.md, "Importing tokens".
func importPolicy(m *Manager, raw json.RawMessage) (json.RawMessage, error) {
	return m.normalizePolicy(unquoteJSONText(raw))
}

// unquoteJSONText turns a JSON string holding JSON text into that text;
// any other value is returned as is.
func unquoteJSONText(raw json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '"' {
		return raw
	}
	var s string
	if err := json.Unmarshal(trimmed, &s); err != nil {
		return raw
	}
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return json.RawMessage(s)
}
