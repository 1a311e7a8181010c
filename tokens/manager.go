package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/authgate/authgate/internal/users"
)

// Defaults for Options.
const (
	// DefaultMaxAttempts is Djblets' generate_token max_attempts
	// (docs/api-tokens.md, "Manager operations").
	DefaultMaxAttempts = 20
	// lastUsedInterval: last_used is written at most this often per token.
	lastUsedInterval = time.Minute
)

// DeprecatedHeaderValue is the X-API-Token-Deprecated header Djblets adds
// when a deprecated token authenticates (docs/api-tokens.md, "Authentication").
const DeprecatedHeaderValue = "This token uses a deprecated format. The token can still be used, but you should remove it and generate a new one to take advantage of security improvements."

// Options configures a Manager. The zero value is usable and safe: no
// cache, no notices, policies checked for structure only.
type Options struct {
	// TokenType is the vendor prefix of new vendor_checksum tokens and the
	// one Authenticate accepts; default "agp".
	TokenType string
	// AcceptedPrefixes are further vendor prefixes whose vendor_checksum
	// tokens authenticate (checksum verified offline) and may be chosen
	// per call in GenerateParams.TokenType, e.g. Review Board's "rbp" for
	// imported tokens.
	AcceptedPrefixes []string
	// Length is the total length of new vendor_checksum tokens, default 40
	// ("agp_" + 30 random + 6 checksum). Any length from the entropy floor
	// to 255 is accepted at authentication.
	Length int
	// DefaultGenerator is the generator for GenerateParams without one;
	// default vendor_checksum. An unregistered ID is logged and replaced by
	// vendor_checksum (Djblets; see docs/api-tokens.md, "Generators").
	DefaultGenerator string
	// MaxAttempts bounds Generate's collision retries; default 20.
	MaxAttempts int
	// LegacySecret keys the legacy_sha1 generator. Without it legacy tokens
	// still authenticate but cannot be created.
	LegacySecret []byte
	// DeprecatedGenerators lists generator IDs whose tokens are flagged
	// deprecated. nil means {"legacy_sha1"}; an empty non-nil slice means
	// none (Djblets cannot express that, docs/api-tokens.md, "Generators";
	// docs/api-tokens.md, "Deliberate differences").
	DeprecatedGenerators []string
	// Registry holds the generators; nil means DefaultRegistry(LegacySecret).
	Registry *Registry
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives operational logs (never a secret); default discards.
	Logger *slog.Logger
	// CacheTTL enables the authentication cache: a token found by digest
	// is kept with its owner this long (0: no cache, every Authenticate
	// queries). Decisions are still made per request from the cached row;
	// writes drop entries locally, and with Notifier on every instance.
	CacheTTL time.Duration
	// CacheSize bounds the cache; default DefaultCacheSize.
	CacheSize int
	// Cache, instead of CacheTTL and CacheSize, is an authentication cache
	// built by NewAuthCache, for a caller that must drop entries from
	// outside the manager (the users store's notices, at once on this
	// instance). Setting it with CacheTTL or CacheSize is an error.
	Cache *AuthCache
	// Notifier, when set, connects the manager to the cross-instance
	// invalidation bus (docs/architecture.md, "Storage and invalidation";
	// docs/api-tokens.md, "Deliberate differences"): every change to a
	// token (Update, Invalidate*, Delete) announces "api_token:<id>" (or
	// "user:<id>" / "api_token:*" for bulk invalidation) in its
	// transaction, and the authentication cache drops what any instance
	// announces, including "user:<id>" from package users. Nil: changes
	// are not announced.
	Notifier Notifier
	// KnownPolicyID rejects unknown resource policy IDs when a policy is
	// written (Djblets; see docs/api-tokens.md, "Policy validation", step
	// 7.1), e.g. scopes.Registry.KnownPolicyID. Nil checks structure only.
	KnownPolicyID func(id string) bool
}

// Validate reports settings that NewManager would have to replace.
func (o Options) Validate() error {
	tt := o.TokenType
	if tt == "" {
		tt = DefaultTokenType
	}
	for i := 0; i < len(tt); i++ {
		if !isBase62(tt[i]) {
			return fmt.Errorf("token type %q: only letters and digits are allowed", tt)
		}
	}
	if o.Length != 0 && (o.Length < minVendorLength(tt) || o.Length > DjbletsTokenLength) {
		return fmt.Errorf("token length %d: must be between %d and %d for type %q (at least %d random characters)",
			o.Length, minVendorLength(tt), DjbletsTokenLength, tt, MinEntropyLength)
	}
	if o.MaxAttempts < 0 {
		return fmt.Errorf("max attempts %d: must not be negative", o.MaxAttempts)
	}
	if o.CacheTTL < 0 || o.CacheSize < 0 {
		return fmt.Errorf("cache TTL %v and size %d: must not be negative", o.CacheTTL, o.CacheSize)
	}
	if o.Cache != nil && (o.CacheTTL != 0 || o.CacheSize != 0) {
		return errors.New("cache: set either Cache or CacheTTL and CacheSize, not both")
	}
	return validatePrefixes(o.AcceptedPrefixes)
}

// Manager creates, authenticates and manages API tokens.
type Manager struct {
	store      Store
	users      users.Store
	reg        *Registry
	info       TokenInfo // TokenType and Length
	prefixes   []string  // TokenType, then Options.AcceptedPrefixes
	defaultGen string
	maxAttempt int
	deprecated map[string]bool
	now        func() time.Time
	log        *slog.Logger

	knownIDs func(string) bool // nil: policy IDs are not checked
	policies policyCache
	cache    *AuthCache // nil: no authentication cache
	notifier Notifier   // nil: changes are not announced

	obsMu     sync.RWMutex
	observers []func(context.Context, Event)
}

// NewManager returns a Manager on store. us, when non-nil, is used to
// re-read a token owner at generation. Options that Validate refuses are
// an error: a misconfigured manager is never started on defaults.
func NewManager(store Store, us users.Store, opts Options) (*Manager, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("API token options: %w", err)
	}
	m := &Manager{store: store, users: us, reg: opts.Registry, now: opts.Now, log: opts.Logger,
		cache: opts.Cache, notifier: opts.Notifier, knownIDs: opts.KnownPolicyID}
	if m.cache == nil {
		m.cache = NewAuthCache(opts.CacheTTL, opts.CacheSize)
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.info = TokenInfo{TokenType: opts.TokenType, Length: opts.Length}
	if m.info.TokenType == "" {
		m.info.TokenType = DefaultTokenType
	}
	if m.info.Length == 0 {
		m.info.Length = DefaultTokenLength
	}
	m.prefixes = []string{m.info.TokenType}
	for _, p := range opts.AcceptedPrefixes {
		if p != m.info.TokenType {
			m.prefixes = append(m.prefixes, p)
		}
	}
	m.maxAttempt = opts.MaxAttempts
	if m.maxAttempt == 0 {
		m.maxAttempt = DefaultMaxAttempts
	}
	if m.reg == nil {
		m.reg = DefaultRegistry(opts.LegacySecret)
	}
	m.defaultGen = opts.DefaultGenerator
	if m.defaultGen == "" {
		m.defaultGen = VendorChecksumID
	} else if m.reg.Get(m.defaultGen) == nil {
		// Djblets (see docs/api-tokens.md, "Generators") get_default(): log and fall back.
		m.log.Error(fmt.Sprintf("Could not find the %s token generator in the registry. Using the %s token generator instead.",
			m.defaultGen, VendorChecksumID))
		m.defaultGen = VendorChecksumID
	}
	deprecated := opts.DeprecatedGenerators
	if deprecated == nil {
		deprecated = []string{LegacySHA1ID} // Djblets (see docs/api-tokens.md, "Generators") default
	}
	m.deprecated = make(map[string]bool, len(deprecated))
	for _, id := range deprecated {
		m.deprecated[id] = true
	}
	if m.notifier != nil && m.cache != nil {
		m.notifier.Subscribe(NotifyKind, func(id string) { m.cache.Drop(NotifyKind, id) })
		m.notifier.Subscribe(users.NotifyKind, func(id string) { m.cache.Drop(users.NotifyKind, id) })
	}
	return m, nil
}

// DropCached drops the authentication-cache entries a notice names: kind
// NotifyKind with a token ID, or users.NotifyKind with a user ID; "*"
// drops everything. Without a cache it does nothing.
func (m *Manager) DropCached(kind, id string) { m.cache.Drop(kind, id) }

// CacheLen returns the number of cached authentication rows.
func (m *Manager) CacheLen() int {
	if m.cache == nil {
		return 0
	}
	return m.cache.len()
}

// writeTx runs a change to tokens in one transaction that announces
// kind:id with its commit when a notifier is set, and then drops the named
// cache entries locally (also after an error: a failed commit may still
// have committed, and a drop only costs a query).
func (m *Manager) writeTx(ctx context.Context, kind, id string, fn func(tx StoreTx) error) error {
	var err error
	if m.notifier != nil {
		err = m.store.InTxAnnounce(ctx, m.notifier, kind, id, fn)
	} else {
		err = m.store.InTx(ctx, fn)
	}
	m.DropCached(kind, id)
	return err
}

// Subscribe registers fn to receive every event after its change commits.
// Observers run synchronously, in registration order; a panic in one is
// logged and does not affect the operation or other observers.
func (m *Manager) Subscribe(fn func(ctx context.Context, e Event)) {
	m.obsMu.Lock()
	defer m.obsMu.Unlock()
	m.observers = append(m.observers, fn)
}

// Registry returns the manager's generator registry.
func (m *Manager) Registry() *Registry { return m.reg }

// TokenType returns the vendor prefix of new tokens.
func (m *Manager) TokenType() string { return m.info.TokenType }

// IsDeprecated reports whether t was made by a deprecated generator
// (Djblets is_deprecated, docs/api-tokens.md, "The model").
func (m *Manager) IsDeprecated(t *Token) bool { return m.deprecated[t.GeneratorID] }

// ValidateFormat checks raw against every registered generator's format
// and checksum, without I/O, and returns the first generator that accepts
// it.
func (m *Manager) ValidateFormat(raw string) (generatorID string, ok bool) {
	g, _ := m.recognize(raw)
	if g == nil {
		return "", false
	}
	return g.ID(), true
}

// Get loads a token by ID (ErrNotFound).
func (m *Manager) Get(ctx context.Context, id int64) (*Token, error) {
	return m.store.Get(ctx, id)
}

// List returns userID's tokens, oldest first.
func (m *Manager) List(ctx context.Context, userID int64) ([]*Token, error) {
	return m.store.List(ctx, userID)
}

// AuditEvents lists audit-log entries matching f, oldest first unless
// f.NewestFirst. The log holds every audit event, not only tokens'.
func (m *Manager) AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	return m.store.ListAuditEvents(ctx, f)
}

func (m *Manager) appendAudit(ctx context.Context, tx StoreTx, ev *Event) error {
	a := ev.audit()
	if err := tx.AppendAuditEvent(ctx, a); err != nil {
		return err
	}
	ev.AuditID = a.ID
	return nil
}

// emit delivers ev to every observer, each with its own copy of the token.
func (m *Manager) emit(ctx context.Context, ev Event) {
	m.obsMu.RLock()
	obs := m.observers
	m.obsMu.RUnlock()
	for _, fn := range obs {
		e := ev
		e.Token = ev.Token.clone()
		e.Changed = slices.Clone(ev.Changed)
		m.deliver(ctx, fn, e)
	}
}

func (m *Manager) deliver(ctx context.Context, fn func(context.Context, Event), e Event) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("API token event observer panicked", "event", string(e.Kind), "token_id", e.Token.ID, "panic", fmt.Sprint(p))
		}
	}()
	fn(ctx, e)
}
