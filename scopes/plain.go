package scopes

import (
	"fmt"
	"slices"
	"strings"
)

// AddScope declares a scope that names no resource and so grants nothing on
// the API by itself: OpenID Connect's openid, profile and email, which
// decide what an ID token and the userinfo endpoint say (see
// docs/openid-connect.md). It is then known (HasScope), advertised
// (ScopeNames) and described on the consent page (Describe). A name that a
// resource's scopes already use keeps the resource's description.
func (r *Registry) AddScope(name, description string) error {
	if _, err := ParseSet(name); err != nil || name == "" || strings.Contains(name, " ") {
		return fmt.Errorf("scope %q: not a valid scope token (RFC 6749 §3.3)", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Info{Name: name, Description: description}
	if i := slices.IndexFunc(r.plain, func(p Info) bool { return p.Name == name }); i >= 0 {
		r.plain[i] = in
	} else {
		r.plain = append(r.plain, in)
	}
	r.snap.Store(nil)
	return nil
}
