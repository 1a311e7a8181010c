package scopes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Origin says where a declaration came from; only OriginRegistered
// declarations may be replaced or removed at run time by a resource server.
type Origin string

// The origins of a declaration.
const (
	OriginBuiltin    Origin = "builtin"    // authgate's own API
	OriginConfig     Origin = "config"     // the resources: section of the config file
	OriginRegistered Origin = "registered" // PUT /api/resources/{policy_id}/ by a resource server
)

// Decl declares one resource: what it is called, which methods it serves
// and which kinds of token may reach it. The zero values of PolicyID,
// ScopeName and the access flags give Djblets' defaults (Normalize).
type Decl struct {
	// Name is the resource name; scope descriptions use it (Djblets; see
	// docs/api-tokens.md, "OAuth2 scopes").
	Name string
	// PolicyID keys the resource in API-token policies; default Name
	// (Djblets; see docs/api-tokens.md, "Policy grammar").
	PolicyID string
	// ScopeName is the name half of the resource's scopes; default the
	// policy ID when API tokens are allowed, else Name (docs/architecture.md, "Scopes and resources",
	// Djblets (see docs/api-tokens.md, "OAuth2 scopes")).
	ScopeName string
	// Methods are the HTTP methods the resource serves, upper case.
	Methods []string
	// Description is an optional human sentence about the resource, shown
	// after the generated scope descriptions on the consent page.
	Description string
	// APITokenAccess and OAuth2Access: nil means allowed (Djblets'
	// api_token_access_allowed and oauth2_token_access_allowed default true).
	APITokenAccess *bool
	OAuth2Access   *bool
	// Origin records where the declaration came from; default OriginBuiltin.
	Origin Origin
	// Audience is the base URL of the resource server serving the resource
	// (see ValidAudience); tokens meant for it carry it as aud. "" for none.
	Audience string
}

// AllowsAPITokens reports whether API tokens may reach the resource.
func (d Decl) AllowsAPITokens() bool { return d.APITokenAccess == nil || *d.APITokenAccess }

// AllowsOAuth2 reports whether OAuth2 access tokens may reach the resource.
func (d Decl) AllowsOAuth2() bool { return d.OAuth2Access == nil || *d.OAuth2Access }

// EffectivePolicyID returns PolicyID, or Name when it is empty.
func (d Decl) EffectivePolicyID() string {
	if d.PolicyID != "" {
		return d.PolicyID
	}
	return d.Name
}

// EffectiveScopeName returns the scope name the resource's scopes use:
// ScopeName if set, else the policy ID if API tokens are allowed, else
// Name (docs/architecture.md, "Scopes and resources"; Djblets (see
// docs/api-tokens.md, "OAuth2 scopes") uses policy_id when the resource also
// takes API tokens).
func (d Decl) EffectiveScopeName() string {
	switch {
	case d.ScopeName != "":
		return d.ScopeName
	case d.AllowsAPITokens():
		return d.EffectivePolicyID()
	}
	return d.Name
}

// UnmappedMethods returns the declared methods that map to no scope action
// (ForMethod); Djblets (see docs/api-tokens.md, "OAuth2 scopes") skips them
// with a warning, and so does the
// registry, so callers may want to log these.
func (d Decl) UnmappedMethods() []string {
	var out []string
	for _, m := range d.Methods {
		if _, ok := ForMethod(m); !ok {
			out = append(out, m)
		}
	}
	return out
}

// Normalize fills in the defaults (policy ID, scope name, origin), sorts
// and de-duplicates Methods, and checks every name against ValidName and
// every method against RFC 9110's token grammar restricted to upper case.
func (d Decl) Normalize() (Decl, error) {
	if err := ValidName(d.Name); err != nil {
		return Decl{}, fmt.Errorf("resource %q: name: %w", d.Name, err)
	}
	d.PolicyID = d.EffectivePolicyID()
	if err := ValidName(d.PolicyID); err != nil {
		return Decl{}, fmt.Errorf("resource %q: policy ID: %w", d.Name, err)
	}
	d.ScopeName = d.EffectiveScopeName()
	if err := ValidName(d.ScopeName); err != nil {
		return Decl{}, fmt.Errorf("resource %q: scope name: %w", d.Name, err)
	}
	if d.Origin == "" {
		d.Origin = OriginBuiltin
	}
	if d.Audience != "" {
		if err := ValidAudience(d.Audience); err != nil {
			return Decl{}, fmt.Errorf("resource %q: audience: %w", d.Name, err)
		}
	}
	ms := slices.Clone(d.Methods)
	for _, m := range ms {
		if m == "" || strings.TrimLeft(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return Decl{}, fmt.Errorf("resource %q: method %q: want an upper-case HTTP method such as GET", d.Name, m)
		}
	}
	slices.Sort(ms)
	d.Methods = slices.Compact(ms)
	d.APITokenAccess = cloneBool(d.APITokenAccess)
	d.OAuth2Access = cloneBool(d.OAuth2Access)
	return d, nil
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// Info is one supported scope with its consent-page description.
type Info struct {
	Name        string // "scope_name:action"
	Description string
	Action      Action
	PolicyID    string // the policy ID of the resource that declared it
	Audience    string // the audience of that resource, "" for none
}

// ErrNotRegistered is returned when a policy ID is not in the registry.
var ErrNotRegistered = errors.New("resource not registered")

// Registry holds every declared resource: authgate's own, those declared in
// config and those registered at run time by resource servers. It is the
// one source for policy-ID validation (Djblets; see
// docs/api-tokens.md, "Policy validation", step 7), scope
// validation, consent-page descriptions and scopes_supported.
//
// It is safe for concurrent use. Reads use an immutable snapshot rebuilt
// lazily after a change, so they take no lock. The zero value is empty and
// ready to use.
type Registry struct {
	mu    sync.Mutex
	decls []Decl // declaration order, which decides description overwrites
	// plain are scopes that name no resource (OpenID Connect's openid,
	// profile, email), added by AddScope.
	plain []Info
	snap  atomic.Pointer[snapshot]
}

type snapshot struct {
	decls     []Decl // sorted by policy ID
	byPolicy  map[string]int
	scopes    []Info // sorted by name
	byScope   map[string]int
	audiences map[string]struct{}
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Add declares d (normalized, see Decl.Normalize), replacing any declaration
// with the same policy ID.
func (r *Registry) Add(d Decl) error {
	n, err := d.Normalize()
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := r.index(n.PolicyID); i >= 0 {
		r.decls[i] = n
	} else {
		r.decls = append(r.decls, n)
	}
	r.snap.Store(nil)
	return nil
}

// Remove deletes the declaration with this policy ID and reports whether
// there was one.
func (r *Registry) Remove(policyID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.index(policyID)
	if i < 0 {
		return false
	}
	r.decls = slices.Delete(r.decls, i, i+1)
	r.snap.Store(nil)
	return true
}

// ReplaceOrigin atomically swaps every declaration of origin o for decls
// (each normalized, with Origin forced to o). Declarations of other origins
// keep their policy IDs: a decl whose policy ID belongs to another origin is
// skipped and reported in the returned error, the rest are applied.
func (r *Registry) ReplaceOrigin(o Origin, decls []Decl) error {
	var errs []error
	norm := make([]Decl, 0, len(decls))
	for _, d := range decls {
		d.Origin = o
		n, err := d.Normalize()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		norm = append(norm, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	kept := r.decls[:0:0]
	for _, d := range r.decls {
		if d.Origin != o {
			kept = append(kept, d)
		}
	}
	for _, n := range norm {
		if i := indexIn(kept, n.PolicyID); i >= 0 {
			errs = append(errs, fmt.Errorf("resource %q: policy ID %q is already declared by %s", n.Name, n.PolicyID, kept[i].Origin))
			continue
		}
		kept = append(kept, n)
	}
	r.decls = kept
	r.snap.Store(nil)
	return errors.Join(errs...)
}

func (r *Registry) index(policyID string) int { return indexIn(r.decls, policyID) }

func indexIn(ds []Decl, policyID string) int {
	return slices.IndexFunc(ds, func(d Decl) bool { return d.PolicyID == policyID })
}

func (r *Registry) load() *snapshot {
	if s := r.snap.Load(); s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.snap.Load(); s != nil {
		return s
	}
	s := build(r.decls, r.plain)
	r.snap.Store(s)
	return s
}

// build derives the scope dictionary, Djblets (see
// docs/api-tokens.md, "OAuth2 scopes"): resources closed to
// OAuth2 contribute nothing; each declared method maps to an action
// (unmapped ones are skipped); per action the description is "Ability to
// perform HTTP <methods sorted, joined by ', '> on the <name> resource";
// a later declaration with the same scope name overwrites the earlier
// description (methods are not merged).
func build(decls []Decl, plain []Info) *snapshot {
	s := &snapshot{
		decls:     slices.Clone(decls),
		byPolicy:  make(map[string]int, len(decls)),
		byScope:   make(map[string]int),
		audiences: make(map[string]struct{}),
	}
	for _, d := range decls {
		if d.Audience != "" {
			s.audiences[d.Audience] = struct{}{}
		}
		if !d.AllowsOAuth2() {
			continue
		}
		for _, a := range Actions() {
			var ms []string
			for _, m := range d.Methods { // already sorted
				if got, ok := ForMethod(m); ok && got == a {
					ms = append(ms, m)
				}
			}
			if len(ms) == 0 {
				continue
			}
			info := Info{
				Name:        d.ScopeName + ":" + string(a),
				Description: "Ability to perform HTTP " + strings.Join(ms, ", ") + " on the " + d.Name + " resource",
				Action:      a,
				PolicyID:    d.PolicyID,
				Audience:    d.Audience,
			}
			if d.Description != "" {
				info.Description += " (" + d.Description + ")"
			}
			if i, ok := s.byScope[info.Name]; ok {
				s.scopes[i] = info
				continue
			}
			s.byScope[info.Name] = len(s.scopes)
			s.scopes = append(s.scopes, info)
		}
	}
	for _, in := range plain {
		if _, ok := s.byScope[in.Name]; !ok {
			s.byScope[in.Name] = len(s.scopes)
			s.scopes = append(s.scopes, in)
		}
	}
	slices.SortFunc(s.scopes, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	for i, in := range s.scopes {
		s.byScope[in.Name] = i
	}
	slices.SortFunc(s.decls, func(a, b Decl) int { return strings.Compare(a.PolicyID, b.PolicyID) })
	for i, d := range s.decls {
		s.byPolicy[d.PolicyID] = i
	}
	return s
}

// Scopes returns every supported scope with its description, sorted by
// name.
func (r *Registry) Scopes() []Info { return slices.Clone(r.load().scopes) }

// ScopeNames returns the names of every supported scope, sorted; it is the
// scopes_supported list of RFC 8414 §2.
func (r *Registry) ScopeNames() []string {
	s := r.load()
	out := make([]string, len(s.scopes))
	for i, in := range s.scopes {
		out[i] = in.Name
	}
	return out
}

// HasScope reports whether name is a supported scope.
func (r *Registry) HasScope(name string) bool {
	_, ok := r.load().byScope[name]
	return ok
}

// Describe returns the description of a supported scope.
func (r *Registry) Describe(scope string) (string, bool) {
	s := r.load()
	i, ok := s.byScope[scope]
	if !ok {
		return "", false
	}
	return s.scopes[i].Description, true
}

// Unknown returns, sorted, the members of set that are not supported
// scopes (for RFC 6749 §5.2 invalid_scope).
func (r *Registry) Unknown(set Set) []string {
	s := r.load()
	var out []string
	for _, it := range set.items {
		if _, ok := s.byScope[it]; !ok {
			out = append(out, it)
		}
	}
	return out
}

// KnownPolicyID reports whether id is the policy ID of a declared resource,
// whatever kinds of token it accepts (Djblets (see
// docs/api-tokens.md, "Policy validation", step 7) collects every
// resource's policy_id). The tokens manager uses it to validate policies.
func (r *Registry) KnownPolicyID(id string) bool {
	_, ok := r.load().byPolicy[id]
	return ok
}

// Lookup returns the normalized declaration with this policy ID.
func (r *Registry) Lookup(policyID string) (Decl, bool) {
	s := r.load()
	i, ok := s.byPolicy[policyID]
	if !ok {
		return Decl{}, false
	}
	return s.decls[i].clone(), true
}

// Decls returns every declaration, sorted by policy ID.
func (r *Registry) Decls() []Decl {
	s := r.load()
	out := make([]Decl, len(s.decls))
	for i, d := range s.decls {
		out[i] = d.clone()
	}
	return out
}

// clone copies the slices and pointers so callers cannot change the
// registry's snapshot.
func (d Decl) clone() Decl {
	d.Methods = slices.Clone(d.Methods)
	d.APITokenAccess = cloneBool(d.APITokenAccess)
	d.OAuth2Access = cloneBool(d.OAuth2Access)
	return d
}
