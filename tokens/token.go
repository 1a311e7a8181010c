package tokens

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/authgate/authgate/internal/users"
)

// Token is one API token as stored: everything but the secret, of which only
// a SHA-256 digest is kept (docs/architecture.md, "Storage and invalidation")
// and a display prefix shown to people.
// Fields follow Djblets' BaseWebAPIToken (docs/api-tokens.md, "The model").
type Token struct {
	ID     int64 `json:"id"`
	UserID int64 `json:"user_id"`
	// Username is the owner's username, filled in on every load.
	Username string `json:"username"`
	// Prefix is the display prefix: for vendor_checksum tokens the type
	// prefix, "_" and the first 4 characters of entropy ("agp_Ab3x"); for
	// legacy_sha1 tokens the first 4 hex digits.
	Prefix      string    `json:"prefix"`
	GeneratorID string    `json:"token_generator_id"`
	TimeAdded   time.Time `json:"time_added"`
	// LastUpdated changes on every Update. Like Djblets, invalidation and
	// last-use bookkeeping leave it alone
	// (docs/api-tokens.md, "Manager operations";
	// docs/api-tokens.md, "Authentication").
	LastUpdated time.Time  `json:"last_updated"`
	LastUsed    *time.Time `json:"last_used"`
	// Expires is nil for a token that never expires.
	Expires       *time.Time `json:"expires"`
	Valid         bool       `json:"valid"`
	InvalidDate   *time.Time `json:"invalid_date"`
	InvalidReason string     `json:"invalid_reason"`
	Note          string     `json:"note"`
	// Policy is canonical JSON (sorted keys); "{}" is full access.
	Policy json.RawMessage `json:"policy"`
	// ExtraData is a free-form JSON object.
	ExtraData json.RawMessage `json:"extra_data"`
	// ExpiredEventSent records that the "token.expired" event was emitted;
	// it fires once per token and is re-armed when Expires changes.
	ExpiredEventSent bool `json:"-"`
}

// String is Djblets' string form of a token, "Web API token for
// <username>". It never includes the secret, which a Token does
// not hold.
func (t *Token) String() string { return "Web API token for " + t.Username }

// IsExpired reports whether the token has an expiry and now is at or past
// it. Djblets (see docs/api-tokens.md, "The model"): the boundary is inclusive.
func (t *Token) IsExpired(now time.Time) bool {
	return t.Expires != nil && !now.Before(*t.Expires)
}

// IsAccessibleBy reports whether u may view the token: its owner or an
// admin (Djblets is_accessible_by: owner or is_superuser, docs/api-tokens.md, "The model").
func (t *Token) IsAccessibleBy(u users.User) bool { return t.ownedOrAdmin(u) }

// IsMutableBy reports whether u may change the token (owner or admin).
func (t *Token) IsMutableBy(u users.User) bool { return t.ownedOrAdmin(u) }

// IsDeletableBy reports whether u may delete the token (owner or admin).
func (t *Token) IsDeletableBy(u users.User) bool { return t.ownedOrAdmin(u) }

func (t *Token) ownedOrAdmin(u users.User) bool {
	if u.ID == 0 { // the zero User is nobody, not an owner of an unsaved token
		return false
	}
	return u.IsAdmin || u.ID == t.UserID
}

// clone returns a deep copy, so observers and update functions cannot
// change the manager's or the store's copy.
func (t *Token) clone() *Token {
	if t == nil {
		return nil
	}
	c := *t
	c.LastUsed = cloneTime(t.LastUsed)
	c.Expires = cloneTime(t.Expires)
	c.InvalidDate = cloneTime(t.InvalidDate)
	c.Policy = bytes.Clone(t.Policy)
	c.ExtraData = bytes.Clone(t.ExtraData)
	return &c
}

func cloneTime(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// dbTime normalises a time for storage: UTC, microsecond precision (what
// PostgreSQL keeps), so what is written is what is read back.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func dbTimePtr(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	v := dbTime(*p)
	return &v
}
