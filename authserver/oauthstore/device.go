package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// DeviceRow is one device_codes row: a device authorization request
// (RFC 8628 §3.1). Neither the device code nor the user code is stored,
// only their SHA-256 digests.
type DeviceRow struct {
	ID              int64         `db:"id"`
	DeviceDigest    string        `db:"device_digest"`
	UserDigest      string        `db:"user_digest"`
	Prefix          string        `db:"prefix"`
	ClientID        string        `db:"client_id"`
	Scope           string        `db:"scope"`
	Extension       string        `db:"extension"`
	Status          string        `db:"status"`
	UserID          sql.NullInt64 `db:"user_id"`
	IntervalSeconds int64         `db:"interval_seconds"`
	CreatedAt       time.Time     `db:"created_at"`
	ExpiresAt       time.Time     `db:"expires_at"`
	LastPollAt      sql.NullTime  `db:"last_poll_at"`
	DecidedAt       sql.NullTime  `db:"decided_at"`
	RedeemedAt      sql.NullTime  `db:"redeemed_at"`

	// UserActive is set by PollDevice for an approved row: its user
	// exists and is active.
	UserActive bool `db:"-"`
}

const deviceColumns = `id, device_digest, user_digest, prefix, client_id, scope, extension, status, user_id,
	interval_seconds, created_at, expires_at, last_poll_at, decided_at, redeemed_at`

// Expired reports whether the device code has expired at now.
func (r *DeviceRow) Expired(now time.Time) bool { return !now.Before(r.ExpiresAt) }

// Interval is the minimum time between polls the client was told.
func (r *DeviceRow) Interval() time.Duration { return time.Duration(r.IntervalSeconds) * time.Second }

// UserIDString is the approving user's ID as go-oauth2 carries it ("" for
// none).
func (r *DeviceRow) UserIDString() string {
	if !r.UserID.Valid {
		return ""
	}
	return strconv.FormatInt(r.UserID.Int64, 10)
}

// Ext is the grant's extension (its audience).
func (r *DeviceRow) Ext() url.Values {
	v, err := url.ParseQuery(r.Extension)
	if err != nil {
		return url.Values{}
	}
	return v
}

// NewDevice is a device authorization request to store.
type NewDevice struct {
	// DeviceCode and UserCode are the raw values (the user code
	// normalised); only their digests are stored.
	DeviceCode, UserCode string
	ClientID, Scope      string
	Extension            url.Values
	Interval, TTL        time.Duration
}

// Device store errors, compared with errors.Is.
var (
	// ErrUserCodeTaken: a live request holds the same user code; draw
	// another.
	ErrUserCodeTaken = errors.New("user code in use")
	// ErrDeviceNotPending: no pending, unexpired request has this user
	// code.
	ErrDeviceNotPending = errors.New("no pending device authorization with this user code")
)

// CreateDevice stores a device authorization request. An expired request
// with the same user code is deleted first; a live one makes it
// ErrUserCodeTaken.
func (s *TokenStore) CreateDevice(ctx context.Context, n NewDevice) error {
	now := DBNow(s.now)
	userDigest := Digest(n.UserCode)
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM device_codes WHERE user_digest = ? AND expires_at <= ?`),
			userDigest, now); err != nil {
			return fmt.Errorf("store device code: %w", err)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO device_codes
			(device_digest, user_digest, prefix, client_id, scope, extension, status, interval_seconds, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (user_digest) DO NOTHING`),
			Digest(n.DeviceCode), userDigest, DisplayPrefix(n.DeviceCode), n.ClientID, n.Scope, n.Extension.Encode(),
			int64(n.Interval/time.Second), now, now.Add(n.TTL))
		if err != nil {
			return fmt.Errorf("store device code: %w", err)
		}
		if k, err := res.RowsAffected(); err == nil && k == 0 {
			return ErrUserCodeTaken
		}
		return err
	})
}

// PendingDevice returns the pending, unexpired request with the
// (normalised) user code, or ErrDeviceNotPending.
func (s *TokenStore) PendingDevice(ctx context.Context, userCode string) (*DeviceRow, error) {
	var row DeviceRow
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT `+deviceColumns+` FROM device_codes
		WHERE user_digest = ? AND status = 'pending' AND expires_at > ?`), Digest(userCode), DBNow(s.now))
	if db.IsNoRows(err) {
		return nil, ErrDeviceNotPending
	}
	if err != nil {
		return nil, fmt.Errorf("load device code: %w", err)
	}
	return &row, nil
}

// DecideDevice records the user's decision on the pending request with the
// user code: approved by (or denied by) userID. A request that is no longer
// pending or has expired is ErrDeviceNotPending, so a decision is taken
// once.
func (s *TokenStore) DecideDevice(ctx context.Context, userCode string, userID int64, approve bool) error {
	status := "denied"
	if approve {
		status = "approved"
	}
	now := DBNow(s.now)
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE device_codes SET status = ?, user_id = ?, decided_at = ?
		WHERE user_digest = ? AND status = 'pending' AND expires_at > ?`), status, userID, now, Digest(userCode), now)
	if err != nil {
		return fmt.Errorf("decide device code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("decide device code: %w", err)
	} else if n == 0 {
		return ErrDeviceNotPending
	}
	return nil
}

// DeviceOutcome is what a poll decided; PollDevice applies it in the
// transaction that read the row.
type DeviceOutcome struct {
	// Record stores the poll's time and Interval (slow_down bookkeeping).
	Record   bool
	Interval time.Duration
	// Issue, when not nil, is stored and the device code marked redeemed.
	Issue *Issue
	// Refusal is the client-facing failure; the transaction still commits.
	Refusal error
}

// DecideDevicePoll is a grant's decision over a stored device code (nil
// when unknown), run inside PollDevice's transaction; it must do no I/O on
// the database. An error is a server fault and rolls everything back.
type DecideDevicePoll func(row *DeviceRow) (DeviceOutcome, error)

// PollDevice applies decide to the device code raw in one transaction
// holding the row's lock: the poll bookkeeping, the redemption and the
// insertion of the tokens, so of concurrent polls of an approved code
// exactly one gets tokens.
func (s *TokenStore) PollDevice(ctx context.Context, raw string, decide DecideDevicePoll) (DeviceOutcome, error) {
	var out DeviceOutcome
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		lock := ""
		if s.db.Dialect == db.Postgres {
			lock = " FOR UPDATE" // SQLite's immediate transactions serialise writers
		}
		var row *DeviceRow
		var r DeviceRow
		err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+deviceColumns+` FROM device_codes WHERE device_digest = ?`+lock), Digest(raw))
		switch {
		case db.IsNoRows(err):
		case err != nil:
			return fmt.Errorf("load device code: %w", err)
		default:
			row = &r
		}
		if row != nil && row.Status == "approved" && !row.RedeemedAt.Valid {
			if row.UserActive, err = s.checkUser(ctx, tx, &TokenRow{Kind: "device code", UserID: row.UserID}); err != nil {
				return err
			}
		}
		if out, err = decide(row); err != nil {
			return err
		}
		if row == nil {
			if out.Record || out.Issue != nil {
				return errDecidedTwice
			}
			return nil
		}
		now := DBNow(s.now)
		if out.Record {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE device_codes SET last_poll_at = ?, interval_seconds = ? WHERE id = ?`),
				now, int64(out.Interval/time.Second), row.ID); err != nil {
				return fmt.Errorf("record device poll: %w", err)
			}
		}
		if out.Issue == nil {
			return nil
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE device_codes SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL`), now, row.ID)
		if err != nil {
			return fmt.Errorf("redeem device code: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errDecidedTwice
		}
		return s.insertInfo(ctx, tx, *out.Issue)
	})
	if err != nil {
		return DeviceOutcome{}, err
	}
	return out, nil
}
