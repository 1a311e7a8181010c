package signing

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
)

// Signing algorithms for JWT access tokens.
const (
	AlgEdDSA = "EdDSA"
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// SupportedAlgs lists the algorithms a signing key may use.
var SupportedAlgs = []string{AlgEdDSA, AlgRS256, AlgES256}

// Key states, as `authgate key list` shows them.
const (
	KeyPending = "pending" // published in the JWKS, not signing yet
	KeyActive  = "active"  // the key that signs new tokens
	KeyRetired = "retired" // superseded; published until its last token expires
	KeyExpired = "expired" // superseded long enough that no token it signed is valid
)

// ErrNoSigningKey means no key has activated yet.
var ErrNoSigningKey = errors.New("no active signing key")

// Key is one row of signing_keys with its parsed key. Its private part
// never leaves the package: callers sign with Sign and verify with the
// KeySet's PublicKeyFor.
type Key struct {
	id          int64
	kid         string
	alg         string
	createdAt   time.Time
	activatesAt time.Time
	priv        crypto.Signer
	method      jwt.SigningMethod
	purpose     string
}

// KID is the key's id, its RFC 7638 thumbprint.
func (k *Key) KID() string { return k.kid }

// Alg is the key's JWS algorithm.
func (k *Key) Alg() string { return k.alg }

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	KID         string    `json:"kid"`
	Alg         string    `json:"alg"`
	State       string    `json:"state"`
	CreatedAt   time.Time `json:"created_at"`
	ActivatesAt time.Time `json:"activates_at"`
	// Purpose is PurposeAccess or PurposeIDToken.
	Purpose   string     `json:"purpose"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
	// PublishedUntil is when a retired key leaves the JWKS.
	PublishedUntil *time.Time `json:"published_until,omitempty"`
}

// KeyNotifyKind is the invalidation kind
// (docs/architecture.md, "Storage and invalidation") announced when a
// signing key is added; the id is its kid.
const KeyNotifyKind = "signing_key"

// Notifier announces a change to every instance sharing the database,
// in the transaction that makes it (internal/notify.Bus implements it).
type Notifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// Options are a KeySet's settings and collaborators.
type Options struct {
	// MaxTokenTTL is the longest access-token lifetime, which decides how
	// long a retired key stays published. Required.
	MaxTokenTTL time.Duration
	// KEK is the key-encryption key (32 bytes, AES-256-GCM) that seals new
	// keys and opens sealed ones; empty stores new keys as PEM.
	KEK []byte
	// PreviousKEK opens keys still sealed with the key-encryption key
	// being replaced; optional, and only with KEK.
	PreviousKEK []byte
	// Notifier makes Rotate (and Ensure's first key) announce the new key
	// as KeyNotifyKind:<kid>, so every running instance reloads its keys
	// (Invalidate) and publishes the key in its JWKS at once instead of
	// after its refresh interval. nil announces nothing.
	Notifier Notifier
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// KeySet holds the signing keys shared by every instance through the
// signing_keys table. It caches them (parsed once, not per token:
// docs/go-oauth2.md, "Token generation")
// and reloads every refresh interval, or at once when a token names an
// unknown kid.
//
// A key is published in the JWKS from its creation, signs from activates_at
// until a newer key activates ("published before it signs"), and stays
// published for maxTokenTTL after that, so every token it signed can still
// be verified ("a retired key stays until its last token expires").
type KeySet struct {
	db          *db.DB
	now         func() time.Time
	maxTokenTTL time.Duration
	refresh     time.Duration
	notifier    Notifier // nil: announce nothing
	// kc seals new keys and opens encrypted ones (nil: PEM, see
	// encrypt.go).
	kc *keyCipher

	mu       sync.RWMutex
	keys     []*Key // sorted by activatesAt, then id
	loadedAt time.Time
	missAt   time.Time // last reload caused by an unknown kid
	// Loads are numbered as they start. keys come from load number
	// storedLoad; loads numbered up to invalidLoad started before the
	// last Invalidate, so their keys may predate the change announced.
	loads, storedLoad, invalidLoad uint64
	// plaintext counts the PEM keys of the last load.
	plaintext int

	jwks jwksCache // see JWKSJSON
}

// NewKeySet returns a KeySet over d. It reads nothing yet: Ensure (at
// start) or the first use loads the keys.
func NewKeySet(d *db.DB, o Options) (*KeySet, error) {
	if d == nil {
		return nil, errors.New("signing keys: a database is required")
	}
	if o.MaxTokenTTL <= 0 {
		return nil, fmt.Errorf("signing keys: the longest token lifetime must be positive, not %s", o.MaxTokenTTL)
	}
	kc, err := newKeyCipherWithPrevious(o.KEK, o.PreviousKEK)
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &KeySet{db: d, now: o.Now, maxTokenTTL: o.MaxTokenTTL, refresh: 30 * time.Second, notifier: o.Notifier, kc: kc}, nil
}

// Invalidate drops the cached keys; the next use reloads them. It never
// blocks on the database.
func (ks *KeySet) Invalidate() {
	ks.mu.Lock()
	ks.loadedAt = time.Time{}
	ks.invalidLoad = ks.loads
	ks.mu.Unlock()
}

type keyRow struct {
	ID          int64     `db:"id"`
	KID         string    `db:"kid"`
	Alg         string    `db:"alg"`
	PrivateKey  string    `db:"private_key"`
	CreatedAt   time.Time `db:"created_at"`
	ActivatesAt time.Time `db:"activates_at"`
	Purpose     string    `db:"purpose"`
}

func (ks *KeySet) load(ctx context.Context) error {
	seq := ks.startLoad()
	var rows []keyRow
	if err := ks.db.SelectContext(ctx, &rows, `SELECT id, kid, alg, private_key, created_at, activates_at, purpose FROM signing_keys`); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]*Key, 0, len(rows))
	plaintext := 0
	for _, r := range rows {
		k, err := ks.parseKeyRow(r)
		if err != nil {
			return err
		}
		keys = append(keys, k)
		if !strings.HasPrefix(r.PrivateKey, encryptedKeyPrefix) {
			plaintext++
		}
	}
	slices.SortFunc(keys, func(a, b *Key) int {
		if c := a.activatesAt.Compare(b.activatesAt); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})
	ks.store(seq, keys)
	ks.mu.Lock()
	if ks.storedLoad == seq {
		ks.plaintext = plaintext
	}
	ks.mu.Unlock()
	return nil
}

// startLoad numbers a load as it starts, before it reads the table.
func (ks *KeySet) startLoad() uint64 {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.loads++
	return ks.loads
}

// store keeps the keys read by load number seq. A load that started
// earlier than the one already stored read an older state and is dropped;
// one that started before the last Invalidate is kept (nothing newer is
// known) but not trusted as fresh, so the next use reloads.
func (ks *KeySet) store(seq uint64, keys []*Key) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if seq <= ks.storedLoad {
		return
	}
	ks.keys, ks.storedLoad = keys, seq
	if seq > ks.invalidLoad {
		ks.loadedAt = ks.now()
	}
}

func (ks *KeySet) parseKeyRow(r keyRow) (*Key, error) {
	der, err := ks.kc.open(r.KID, r.PrivateKey)
	if err != nil {
		return nil, err
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	signer, ok := pk.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: unsupported key type %T", r.KID, pk)
	}
	m, err := methodFor(r.Alg, signer)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", r.KID, err)
	}
	return &Key{id: r.ID, kid: r.KID, alg: r.Alg, createdAt: r.CreatedAt.UTC(), activatesAt: r.ActivatesAt.UTC(), priv: signer, method: m, purpose: r.Purpose}, nil
}

// ensureFresh reloads the cache when it is older than the refresh interval.
func (ks *KeySet) ensureFresh(ctx context.Context) error {
	ks.mu.RLock()
	fresh := !ks.loadedAt.IsZero() && ks.now().Sub(ks.loadedAt) < ks.refresh
	ks.mu.RUnlock()
	if fresh {
		return nil
	}
	return ks.load(ctx)
}

// dbNow is now as the database stores it: UTC, microseconds (PostgreSQL's
// timestamp precision), so a time written and read back compares equal.
func dbNow(now func() time.Time) time.Time { return now().UTC().Truncate(time.Microsecond) }
