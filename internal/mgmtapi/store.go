package mgmtapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/db"
	"github.com/authgate/authgate/scopes"
)

// ResourceStore persists the resources registered at run time (table
// registered_resources, migrations 00005 and 00007), so that every
// instance sharing the database serves the same registry. A registration
// belongs to the client that made it: only that client, or an admin, may
// replace or remove it (docs/introspection-and-audience.md).
type ResourceStore struct {
	db       *db.DB
	now      func() time.Time
	notifier Notifier
	reload   chan struct{} // Invalidate → Watch reloads now
}

// NewResourceStore returns a store on d. With a notifier n, Put and Delete
// announce each change as ResourceNotifyKind:<policy_id> in its own
// transaction, so that every instance reloads its registry at once (see
// Invalidate); nil announces nothing (a single process, or a command that
// only reads).
func NewResourceStore(d *db.DB, n Notifier) *ResourceStore {
	return &ResourceStore{db: d, now: time.Now, notifier: n, reload: make(chan struct{}, 1)}
}

// ResourceNotifyKind is the invalidation kind
// (docs/architecture.md, "Storage and invalidation") announced when a
// registration changes; the id is the policy ID.
const ResourceNotifyKind = "resource"

// Notifier announces a change to every instance sharing the database, in
// the transaction that makes it (internal/notify.Bus implements it).
type Notifier interface {
	PublishInTx(ctx context.Context, kind, id string, fn func(tx *sqlx.Tx) error) error
}

// Invalidate asks Watch to reload the registry now (another instance
// changed a registration). It never blocks; requests made while a reload
// is pending are served by it.
func (s *ResourceStore) Invalidate() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// inTx runs fn in a transaction that announces policyID when a notifier is
// set.
func (s *ResourceStore) inTx(ctx context.Context, policyID string, fn func(tx *sqlx.Tx) error) error {
	if s.notifier != nil {
		return s.notifier.PublishInTx(ctx, ResourceNotifyKind, policyID, fn)
	}
	return s.db.InTx(ctx, fn)
}

// Errors of Put and Delete, compared with errors.Is.
var (
	// ErrNotOwner: the registration belongs to another client.
	ErrNotOwner = errors.New("the resource is registered by another client")
	// ErrScopeNameTaken: another registration declares the scope name.
	ErrScopeNameTaken = errors.New("the scope name is declared by another registered resource")
	// ErrAudienceTaken: another client's registration has the audience.
	ErrAudienceTaken = errors.New("the audience belongs to a resource registered by another client")
)

// Registrant is who registers or removes a resource: a resource-server
// client (ClientID), or an admin user (ClientID "", Username set).
type Registrant struct {
	ClientID string
	Username string
}

// String is the registered_by value: "client:<client_id>" or
// "user:<username>".
func (r Registrant) String() string {
	if r.ClientID != "" {
		return "client:" + r.ClientID
	}
	return "user:" + r.Username
}

// admin reports whether the registrant acts as an admin, who may change
// any registration.
func (r Registrant) admin() bool { return r.ClientID == "" }

type resourceRow struct {
	PolicyID       string    `db:"policy_id"`
	Name           string    `db:"name"`
	ScopeName      string    `db:"scope_name"`
	Methods        string    `db:"methods"`
	Description    string    `db:"description"`
	APITokenAccess bool      `db:"api_token_access"`
	OAuth2Access   bool      `db:"oauth2_access"`
	RegisteredBy   string    `db:"registered_by"`
	OwnerClientID  string    `db:"owner_client_id"`
	Audience       string    `db:"audience"`
	CreatedAt      time.Time `db:"created_at"`
	UpdatedAt      time.Time `db:"updated_at"`
}

func (r resourceRow) decl() scopes.Decl {
	api, oauth := r.APITokenAccess, r.OAuth2Access
	return scopes.Decl{
		Name: r.Name, PolicyID: r.PolicyID, ScopeName: r.ScopeName,
		Methods: strings.Fields(r.Methods), Description: r.Description,
		APITokenAccess: &api, OAuth2Access: &oauth, Origin: scopes.OriginRegistered, Audience: r.Audience,
	}
}

// List returns every registered resource, normalized, ordered by policy ID.
// A row that no longer normalizes (hand-edited) is skipped and reported in
// the error, the others are returned.
func (s *ResourceStore) List(ctx context.Context) ([]scopes.Decl, error) {
	var rows []resourceRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT policy_id, name, scope_name, methods, description,
		api_token_access, oauth2_access, registered_by, owner_client_id, audience, created_at, updated_at
		FROM registered_resources ORDER BY policy_id`); err != nil {
		return nil, fmt.Errorf("list registered resources: %w", err)
	}
	out := make([]scopes.Decl, 0, len(rows))
	var errs []error
	for _, r := range rows {
		d, err := r.decl().Normalize()
		if err != nil {
			errs = append(errs, fmt.Errorf("registered resource %q: %w", r.PolicyID, err))
			continue
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// Owner returns the client that owns a registration ("" for one made by an
// admin); scopes.ErrNotRegistered if there is none.
func (s *ResourceStore) Owner(ctx context.Context, policyID string) (string, error) {
	var owner string
	err := s.db.GetContext(ctx, &owner, s.db.Rebind(`SELECT owner_client_id FROM registered_resources WHERE policy_id = ?`), policyID)
	if db.IsNoRows(err) {
		return "", scopes.ErrNotRegistered
	}
	if err != nil {
		return "", fmt.Errorf("registered resource %q: %w", policyID, err)
	}
	return owner, nil
}

// Put inserts or replaces the registration of d (already normalized) and
// reports whether it was new. A new registration is owned by by's client
// (none for an admin); a replacement keeps its owner and is refused with
// ErrNotOwner when by is another client. It is refused with
// ErrScopeNameTaken when another registration declares d's scope name, and
// with ErrAudienceTaken when a client registers an audience another
// client's registration has. Checks and write share one transaction.
func (s *ResourceStore) Put(ctx context.Context, d scopes.Decl, by Registrant) (created bool, err error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.inTx(ctx, d.PolicyID, func(tx *sqlx.Tx) error {
		owner, found, err := s.ownerTx(ctx, tx, d.PolicyID)
		if err != nil {
			return err
		}
		if found && !by.admin() && owner != by.ClientID {
			return ErrNotOwner
		}
		if err := s.checkClashes(ctx, tx, d, owner, found, by); err != nil {
			return err
		}
		created = !found
		if created {
			_, err := tx.ExecContext(ctx, s.db.Rebind(`INSERT INTO registered_resources
				(policy_id, name, scope_name, methods, description, api_token_access, oauth2_access, registered_by,
				 owner_client_id, audience, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				d.PolicyID, d.Name, d.ScopeName, strings.Join(d.Methods, " "), d.Description,
				d.AllowsAPITokens(), d.AllowsOAuth2(), by.String(), by.ClientID, d.Audience, now, now)
			return err
		}
		_, err = tx.ExecContext(ctx, s.db.Rebind(`UPDATE registered_resources SET name = ?, scope_name = ?, methods = ?,
			description = ?, api_token_access = ?, oauth2_access = ?, registered_by = ?, audience = ?, updated_at = ?
			WHERE policy_id = ?`),
			d.Name, d.ScopeName, strings.Join(d.Methods, " "), d.Description,
			d.AllowsAPITokens(), d.AllowsOAuth2(), by.String(), d.Audience, now, d.PolicyID)
		return err
	})
	if db.IsUniqueViolation(err) {
		// Two instances registered the same new policy ID at once; the
		// other one won, so this is an update of what it wrote.
		return s.Put(ctx, d, by)
	}
	if errors.Is(err, ErrNotOwner) || errors.Is(err, ErrScopeNameTaken) || errors.Is(err, ErrAudienceTaken) {
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("register resource %q: %w", d.PolicyID, err)
	}
	return created, nil
}

// ownerTx reads a registration's owner inside tx, locking the row on
// PostgreSQL so the ownership check and the write see one state.
func (s *ResourceStore) ownerTx(ctx context.Context, tx *sqlx.Tx, policyID string) (owner string, found bool, err error) {
	q := `SELECT owner_client_id FROM registered_resources WHERE policy_id = ?`
	if s.db.Dialect == db.Postgres {
		q += ` FOR UPDATE`
	}
	err = tx.GetContext(ctx, &owner, s.db.Rebind(q), policyID)
	if db.IsNoRows(err) {
		return "", false, nil
	}
	return owner, err == nil, err
}

// checkClashes applies Put's scope-name and audience rules among the
// registrations (the handler checks authgate's own and configured
// resources against the registry).
func (s *ResourceStore) checkClashes(ctx context.Context, tx *sqlx.Tx, d scopes.Decl, owner string, found bool, by Registrant) error {
	var n int
	if err := tx.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM registered_resources
		WHERE scope_name = ? AND policy_id <> ?`), d.ScopeName, d.PolicyID); err != nil {
		return err
	}
	if n > 0 {
		return ErrScopeNameTaken
	}
	if d.Audience == "" {
		return nil
	}
	if !found {
		owner = by.ClientID
	}
	if err := tx.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM registered_resources
		WHERE audience = ? AND owner_client_id <> ? AND policy_id <> ?`), d.Audience, owner, d.PolicyID); err != nil {
		return err
	}
	if n > 0 && !by.admin() {
		return ErrAudienceTaken
	}
	return nil
}

// Delete removes a registration; scopes.ErrNotRegistered if there is none,
// ErrNotOwner if it belongs to a client other than by's.
func (s *ResourceStore) Delete(ctx context.Context, policyID string, by Registrant) error {
	err := s.inTx(ctx, policyID, func(tx *sqlx.Tx) error {
		owner, found, err := s.ownerTx(ctx, tx, policyID)
		switch {
		case err != nil:
			return err
		case !found:
			return scopes.ErrNotRegistered // nothing changed: roll back, announce nothing
		case !by.admin() && owner != by.ClientID:
			return ErrNotOwner
		}
		_, err = tx.ExecContext(ctx, s.db.Rebind(`DELETE FROM registered_resources WHERE policy_id = ?`), policyID)
		return err
	})
	if err != nil {
		return fmt.Errorf("unregister resource %q: %w", policyID, err)
	}
	return nil
}

// Load replaces the registry's registered resources with the stored ones.
// A stored resource whose policy ID is now declared by authgate or its
// configuration is left out (and reported): those always win.
func (s *ResourceStore) Load(ctx context.Context, reg *scopes.Registry) error {
	decls, listErr := s.List(ctx)
	if decls == nil && listErr != nil {
		return listErr
	}
	return errors.Join(listErr, reg.ReplaceOrigin(scopes.OriginRegistered, decls))
}

// Watch reloads the registry from the store at once when Invalidate is
// called and every interval (a safety net; 0: never) until ctx ends, so
// registrations made through another instance show up here. Reloads run
// one at a time, here, so an older read never overwrites a newer one.
// Errors are logged and retried at the next tick.
func (s *ResourceStore) Watch(ctx context.Context, reg *scopes.Registry, interval time.Duration, logger *slog.Logger) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-s.reload:
		}
		if err := s.Load(ctx, reg); err != nil && ctx.Err() == nil && logger != nil {
			logger.Warn("reload registered resources", "error", err)
		}
	}
}
