package scopes

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// ErrInvalidAudience is wrapped by ValidAudience's errors.
var ErrInvalidAudience = errors.New("invalid audience")

// ValidAudience reports why uri cannot be a resource's audience (its RFC
// 8707 resource indicator, the aud of the tokens meant for it); nil when
// it can. An audience is an absolute https URL, or http on a loopback host
// (a development server), with a host and without user information, query
// or fragment (RFC 8707 §2: no fragment; a query would be a resource inside
// the server, not the server).
func ValidAudience(uri string) error {
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %q is not a URL", ErrInvalidAudience, uri)
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%w: %q is not an absolute URL", ErrInvalidAudience, uri)
	case u.Fragment != "" || u.RawFragment != "" || u.RawQuery != "" || u.ForceQuery:
		return fmt.Errorf("%w: %q must not have a query or fragment", ErrInvalidAudience, uri)
	case u.User != nil:
		return fmt.Errorf("%w: %q must not contain user information", ErrInvalidAudience, uri)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%w: %q: http is allowed only on a loopback host; use https", ErrInvalidAudience, uri)
	}
	return fmt.Errorf("%w: %q must be an https URL", ErrInvalidAudience, uri)
}

// KnownAudience reports whether uri is the audience of a declared resource.
func (r *Registry) KnownAudience(uri string) bool {
	if uri == "" {
		return false
	}
	_, ok := r.load().audiences[uri]
	return ok
}

// ScopeAudience returns the audience of the resource that declared scope,
// or "" when that resource has none or the scope is unknown.
func (r *Registry) ScopeAudience(scope string) string {
	s := r.load()
	i, ok := s.byScope[scope]
	if !ok {
		return ""
	}
	return s.scopes[i].Audience
}

// ScopeNameHolder returns the policy ID of a declaration other than
// policyID whose scope name is scopeName: two resources sharing a scope
// name would share their scopes, so a consent given for one would open the
// other.
func (r *Registry) ScopeNameHolder(scopeName, policyID string) (string, bool) {
	for _, d := range r.load().decls {
		if d.PolicyID != policyID && d.ScopeName == scopeName {
			return d.PolicyID, true
		}
	}
	return "", false
}
