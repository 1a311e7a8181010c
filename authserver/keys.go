package authserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	"github.com/authgate/authgate/internal/jwk"
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

// signingKey is one row of signing_keys with its parsed key.
type signingKey struct {
	ID          int64
	KID         string
	Alg         string
	CreatedAt   time.Time
	ActivatesAt time.Time
	priv        crypto.Signer
	method      jwt.SigningMethod
}

// KeyInfo describes a signing key without its private part.
type KeyInfo struct {
	KID         string     `json:"kid"`
	Alg         string     `json:"alg"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatesAt time.Time  `json:"activates_at"`
	RetiredAt   *time.Time `json:"retired_at,omitempty"`
	// PublishedUntil is when a retired key leaves the JWKS.
	PublishedUntil *time.Time `json:"published_until,omitempty"`
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

	mu       sync.RWMutex
	keys     []*signingKey // sorted by ActivatesAt, then ID
	loadedAt time.Time
	missAt   time.Time // last reload caused by an unknown kid
	notifier KeyNotifier
	// Loads are numbered as they start. keys come from load number
	// storedLoad; loads numbered up to invalidLoad started before the
	// last Invalidate, so their keys may predate the change announced.
	loads, storedLoad, invalidLoad uint64
	// kc seals new keys and opens encrypted ones (nil: PEM, see
	// keys_enc.go); plaintext counts the PEM keys of the last load.
	kc        *keyCipher
	plaintext int
}

// KeyNotifyKind is the invalidation kind
// (docs/architecture.md, "Storage and invalidation") announced when a
// signing key is added; the id is its kid.
const KeyNotifyKind = "signing_key"

// KeyNotifier announces a change to every instance sharing the database,
// in the transaction that makes it (internal/notify.Bus implements it).
type KeyNotifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// SetNotifier makes Rotate (and Ensure's first key) announce the new key as
// KeyNotifyKind:<kid>, so that every running instance reloads its keys
// (Invalidate) and publishes the key in its JWKS at once, instead of after
// its refresh interval.
func (ks *KeySet) SetNotifier(n KeyNotifier) {
	ks.mu.Lock()
	ks.notifier = n
	ks.mu.Unlock()
}

// Invalidate drops the cached keys; the next use reloads them. It never
// blocks on the database.
func (ks *KeySet) Invalidate() {
	ks.mu.Lock()
	ks.loadedAt = time.Time{}
	ks.invalidLoad = ks.loads
	ks.mu.Unlock()
}

// NewKeySet returns a KeySet over d. maxTokenTTL is the longest access
// token lifetime, which decides how long a retired key stays published.
func NewKeySet(d *db.DB, maxTokenTTL time.Duration) *KeySet {
	return &KeySet{db: d, now: time.Now, maxTokenTTL: maxTokenTTL, refresh: 30 * time.Second}
}

type keyRow struct {
	ID          int64     `db:"id"`
	KID         string    `db:"kid"`
	Alg         string    `db:"alg"`
	PrivateKey  string    `db:"private_key"`
	CreatedAt   time.Time `db:"created_at"`
	ActivatesAt time.Time `db:"activates_at"`
}

func (ks *KeySet) load(ctx context.Context) error {
	seq := ks.startLoad()
	var rows []keyRow
	if err := ks.db.SelectContext(ctx, &rows, `SELECT id, kid, alg, private_key, created_at, activates_at FROM signing_keys`); err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	keys := make([]*signingKey, 0, len(rows))
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
	slices.SortFunc(keys, func(a, b *signingKey) int {
		if c := a.ActivatesAt.Compare(b.ActivatesAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
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
func (ks *KeySet) store(seq uint64, keys []*signingKey) {
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

func (ks *KeySet) parseKeyRow(r keyRow) (*signingKey, error) {
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
	return &signingKey{ID: r.ID, KID: r.KID, Alg: r.Alg, CreatedAt: r.CreatedAt.UTC(), ActivatesAt: r.ActivatesAt.UTC(), priv: signer, method: m}, nil
}

func methodFor(alg string, k crypto.Signer) (jwt.SigningMethod, error) {
	switch alg {
	case AlgEdDSA:
		if _, ok := k.(ed25519.PrivateKey); ok {
			return jwt.SigningMethodEdDSA, nil
		}
	case AlgRS256:
		if _, ok := k.(*rsa.PrivateKey); ok {
			return jwt.SigningMethodRS256, nil
		}
	case AlgES256:
		if ec, ok := k.(*ecdsa.PrivateKey); ok && ec.Curve == elliptic.P256() {
			return jwt.SigningMethodES256, nil
		}
	default:
		return nil, fmt.Errorf("unsupported algorithm %q (supported: EdDSA, RS256, ES256)", alg)
	}
	return nil, fmt.Errorf("key type %T does not match algorithm %s", k, alg)
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case AlgRS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	return nil, fmt.Errorf("unsupported algorithm %q (supported: EdDSA, RS256, ES256)", alg)
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

// Ensure creates an immediately active key of alg when the table is empty
// (first start). Nothing can have cached an empty JWKS, so there is nothing
// to publish in advance.
func (ks *KeySet) Ensure(ctx context.Context, alg string) error {
	if err := ks.load(ctx); err != nil {
		return err
	}
	ks.mu.RLock()
	n := len(ks.keys)
	ks.mu.RUnlock()
	if n > 0 {
		return nil
	}
	if _, err := ks.add(ctx, alg, 0); err != nil {
		return err
	}
	return ks.load(ctx)
}

// Rotate adds a new key of alg that starts signing after activateIn. Until
// then it is only published, so resource servers that cache the JWKS learn
// it before any token carries its kid.
func (ks *KeySet) Rotate(ctx context.Context, alg string, activateIn time.Duration) (KeyInfo, error) {
	if activateIn < 0 {
		return KeyInfo{}, fmt.Errorf("rotate key: activation delay must not be negative")
	}
	k, err := ks.add(ctx, alg, activateIn)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := ks.load(ctx); err != nil {
		return KeyInfo{}, err
	}
	for _, info := range ks.infos() {
		if info.KID == k.KID {
			return info, nil
		}
	}
	return KeyInfo{}, fmt.Errorf("rotate key: new key %s not found after insert", k.KID)
}

func (ks *KeySet) add(ctx context.Context, alg string, activateIn time.Duration) (*signingKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	kid, err := jwk.Thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	now := dbNow(ks.now)
	stored, err := ks.kc.seal(kid, der)
	if err != nil {
		return nil, err
	}
	insert := func(ex sqlx.ExecerContext) error {
		_, err := ex.ExecContext(ctx, ks.db.Rebind(`INSERT INTO signing_keys (kid, alg, private_key, created_at, activates_at)
			VALUES (?, ?, ?, ?, ?)`), kid, alg, stored, now, now.Add(activateIn))
		return err
	}
	ks.mu.RLock()
	n := ks.notifier
	ks.mu.RUnlock()
	if n != nil {
		err = n.PublishInTx(ctx, KeyNotifyKind, kid, func(tx *sqlx.Tx) error { return insert(tx) })
	} else {
		err = insert(ks.db)
	}
	if err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return &signingKey{KID: kid, Alg: alg}, nil
}

// states computes each key's state at now: the newest activated key is
// active, older activated keys are retired when their successor activated.
func (ks *KeySet) states(now time.Time) []KeyInfo {
	ks.mu.RLock()
	keys := ks.keys
	ks.mu.RUnlock()
	out := make([]KeyInfo, len(keys))
	active := -1
	for i, k := range keys {
		if !k.ActivatesAt.After(now) {
			active = i
		}
	}
	for i, k := range keys {
		info := KeyInfo{KID: k.KID, Alg: k.Alg, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt}
		switch {
		case k.ActivatesAt.After(now):
			info.State = KeyPending
		case i == active:
			info.State = KeyActive
		default:
			// Retired when the next activated key took over.
			retired := keys[i+1].ActivatesAt
			until := retired.Add(ks.maxTokenTTL)
			info.RetiredAt, info.PublishedUntil = &retired, &until
			info.State = KeyRetired
			if !now.Before(until) {
				info.State = KeyExpired
			}
		}
		out[i] = info
	}
	return out
}

func (ks *KeySet) infos() []KeyInfo { return ks.states(ks.now()) }

// List returns every key with its state, oldest first.
func (ks *KeySet) List(ctx context.Context) ([]KeyInfo, error) {
	if err := ks.load(ctx); err != nil {
		return nil, err
	}
	return ks.infos(), nil
}

// signer returns the key that signs new tokens now.
func (ks *KeySet) signer(ctx context.Context) (*signingKey, error) {
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, err
	}
	now := ks.now()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	for i := len(ks.keys) - 1; i >= 0; i-- {
		if !ks.keys[i].ActivatesAt.After(now) {
			return ks.keys[i], nil
		}
	}
	return nil, ErrNoSigningKey
}

// published returns the keys a verifier may use now: pending, active and
// retired ones whose tokens may still be valid.
func (ks *KeySet) published() []*signingKey {
	states := ks.infos()
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	var out []*signingKey
	for i, k := range ks.keys {
		if i < len(states) && states[i].KID == k.KID && states[i].State != KeyExpired {
			out = append(out, k)
		}
	}
	return out
}

// verifier returns the published key with this kid, reloading at most once
// every five seconds when it is unknown (a key rotated on another instance).
func (ks *KeySet) verifier(ctx context.Context, kid string) (*signingKey, bool) {
	if err := ks.ensureFresh(ctx); err != nil {
		return nil, false
	}
	find := func() *signingKey {
		for _, k := range ks.published() {
			if k.KID == kid {
				return k
			}
		}
		return nil
	}
	if k := find(); k != nil {
		return k, true
	}
	ks.mu.Lock()
	retry := ks.now().Sub(ks.missAt) > 5*time.Second
	if retry {
		ks.missAt = ks.now()
	}
	ks.mu.Unlock()
	if !retry || ks.load(ctx) != nil {
		return nil, false
	}
	k := find()
	return k, k != nil
}

// JWKS returns the published public keys.
func (ks *KeySet) JWKS(ctx context.Context) (JWKS, error) {
	if err := ks.ensureFresh(ctx); err != nil {
		return JWKS{}, err
	}
	set := JWKS{Keys: []JWK{}}
	for _, k := range ks.published() {
		j, err := jwk.Encode(k.priv.Public())
		if err != nil {
			return JWKS{}, err
		}
		j.KID, j.Alg, j.Use = k.KID, k.Alg, "sig"
		set.Keys = append(set.Keys, j)
	}
	return set, nil
}
