package mgmtapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/authgate/authgate/scopes"
)

// ResourceAdmin registers and removes run-time resources: the one write
// path behind PUT and DELETE /api/resources/{policy_id}/ and the admin
// console's resources page, so both validate, store, update the registry
// and log alike.
type ResourceAdmin struct {
	Store    *ResourceStore
	Registry *scopes.Registry
	Logger   *slog.Logger
}

// FieldErrors is Register's refusal of invalid fields: messages by field
// name, shown next to the field (the API's 105 INVALID_FORM_DATA).
type FieldErrors map[string][]string

func (f FieldErrors) Error() string {
	var parts []string
	for k, v := range f {
		parts = append(parts, k+": "+strings.Join(v, " "))
	}
	return "invalid resource: " + strings.Join(parts, "; ")
}

// ClashError is a refusal because the policy ID, scope name or audience is
// someone else's; Msg is the explanation shown to the caller. It wraps
// ErrDeclaredByServer, ErrScopeNameTaken or ErrAudienceTaken.
type ClashError struct {
	Msg string
	Err error
}

func (e *ClashError) Error() string { return e.Msg }
func (e *ClashError) Unwrap() error { return e.Err }

// ErrDeclaredByServer: the policy ID is declared by authgate itself or by
// its configuration, which run-time registration cannot change.
var ErrDeclaredByServer = errors.New("the resource is declared by the server")

// ResourceFields are the fields of a registration as submitted (the API's
// form, the console's form): name (default the policy ID), scope_name,
// methods (a JSON list or separated by spaces or commas), description,
// api_token_access and oauth2_access ("true"/"false"; absent: the
// default), audience.
type ResourceFields map[string]string

func (f ResourceFields) has(k string) bool { _, ok := f[k]; return ok }

// Register registers or replaces the resource policyID from f on behalf of
// by and adds it to the registry; created says it was new. Refusals:
// FieldErrors, *ClashError, ErrNotOwner.
func (a ResourceAdmin) Register(ctx context.Context, policyID string, f ResourceFields, by Registrant) (scopes.Decl, bool, error) {
	if err := scopes.ValidName(policyID); err != nil {
		return scopes.Decl{}, false, FieldErrors{"policy_id": {fieldMessage(err)}}
	}
	if cur, ok := a.Registry.Lookup(policyID); ok && cur.Origin != scopes.OriginRegistered {
		return scopes.Decl{}, false, &ClashError{`The resource "` + policyID + `" is declared by authgate's ` +
			originName(cur.Origin) + ` and cannot be changed at run time.`, ErrDeclaredByServer}
	}
	d, fields := declFromFields(policyID, f)
	if len(fields) > 0 {
		return scopes.Decl{}, false, fields
	}
	n, err := d.Normalize()
	if err != nil { // unreachable after the checks above; keep the answer honest
		return scopes.Decl{}, false, FieldErrors{"resource": {err.Error()}}
	}
	if holder, taken := a.Registry.ScopeNameHolder(n.ScopeName, n.PolicyID); taken {
		return scopes.Decl{}, false, &ClashError{`The scope name "` + n.ScopeName + `" is already declared by the resource "` + holder + `".`, ErrScopeNameTaken}
	}
	created, err := a.Store.Put(ctx, n, by)
	if err != nil {
		return scopes.Decl{}, false, a.storeError(policyID, n, err)
	}
	if err := a.Registry.Add(n); err != nil {
		return scopes.Decl{}, false, fmt.Errorf("register resource %q: %w", policyID, err)
	}
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "resource registered",
		slog.String("policy_id", n.PolicyID), slog.String("by", by.String()), slog.Bool("created", created))
	if um := n.UnmappedMethods(); len(um) > 0 {
		// As for resources declared in the configuration: a method that
		// maps to no scope action gets no scope, so OAuth2 tokens can never
		// use it. Djblets logs and skips these too (docs/api-tokens.md,
		// "OAuth2 scopes").
		a.Logger.LogAttrs(ctx, slog.LevelWarn, "resource methods map to no scope and get none",
			slog.String("resource", n.Name), slog.String("policy_id", n.PolicyID), slog.Any("methods", um))
	}
	return n, created, nil
}

// declFromFields builds the declaration of policyID from f, with the
// messages of the fields it refuses.
func declFromFields(policyID string, f ResourceFields) (scopes.Decl, FieldErrors) {
	d := scopes.Decl{PolicyID: policyID, Name: f["name"], ScopeName: f["scope_name"], Description: f["description"],
		Audience: f["audience"], Origin: scopes.OriginRegistered}
	if d.Name == "" {
		d.Name = policyID
	}
	fields := FieldErrors{}
	check := func(field, v string) {
		if v == "" {
			return
		}
		if err := scopes.ValidName(v); err != nil {
			fields[field] = []string{fieldMessage(err)}
		}
	}
	check("name", d.Name)
	check("scope_name", d.ScopeName)
	if d.Audience != "" {
		if err := scopes.ValidAudience(d.Audience); err != nil {
			fields["audience"] = []string{strings.TrimPrefix(err.Error(), scopes.ErrInvalidAudience.Error()+": ")}
		}
	}
	ms, ok := parseMethods(f["methods"])
	switch {
	case !ok:
		fields["methods"] = []string{"Give the methods as a JSON list of strings or separated by spaces or commas."}
	case len(ms) == 0:
		fields["methods"] = []string{requiredMsg}
	}
	for _, m := range ms {
		if m == "" || strings.TrimLeft(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			fields["methods"] = []string{`"` + m + `" is not an upper-case HTTP method such as GET.`}
			break
		}
	}
	d.Methods = ms
	for _, k := range []string{"api_token_access", "oauth2_access"} {
		if !f.has(k) {
			continue
		}
		v, ok := parseBool(f[k])
		if !ok {
			fields[k] = []string{"Must be true or false."}
			continue
		}
		if k == "api_token_access" {
			d.APITokenAccess = &v
		} else {
			d.OAuth2Access = &v
		}
	}
	return d, fields
}

// Unregister removes the run-time registration policyID on behalf of by
// and drops it from the registry. Refusals: *ClashError (declared by the
// server), ErrNotOwner, scopes.ErrNotRegistered.
func (a ResourceAdmin) Unregister(ctx context.Context, policyID string, by Registrant) error {
	cur, ok := a.Registry.Lookup(policyID)
	if ok && cur.Origin != scopes.OriginRegistered {
		return &ClashError{`The resource "` + policyID + `" is declared by authgate's ` + originName(cur.Origin) +
			` and cannot be removed at run time.`, ErrDeclaredByServer}
	}
	if err := a.Store.Delete(ctx, policyID, by); err != nil {
		return a.storeError(policyID, cur, err)
	}
	a.Registry.Remove(policyID)
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "resource unregistered",
		slog.String("policy_id", policyID), slog.String("by", by.String()))
	return nil
}

// storeError explains the store's refusals; a registration another
// instance removed first leaves this registry too.
func (a ResourceAdmin) storeError(policyID string, n scopes.Decl, err error) error {
	switch {
	case errors.Is(err, ErrScopeNameTaken):
		return &ClashError{`The scope name "` + n.ScopeName + `" is already declared by another resource.`, err}
	case errors.Is(err, ErrAudienceTaken):
		return &ClashError{`The audience "` + n.Audience + `" belongs to a resource registered by another client.`, err}
	case errors.Is(err, scopes.ErrNotRegistered):
		a.Registry.Remove(policyID)
	}
	return err
}

// RegisteredBy returns who made each run-time registration, by policy ID:
// "user:<username>" or "client:<client_id>".
func (s *ResourceStore) RegisteredBy(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		PolicyID string `db:"policy_id"`
		By       string `db:"registered_by"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT policy_id, registered_by FROM registered_resources`); err != nil {
		return nil, fmt.Errorf("list resource registrants: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.PolicyID] = r.By
	}
	return out, nil
}
