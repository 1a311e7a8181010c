package resources

import "github.com/authgate/authgate/scopes"

// Resource declares one protected API resource. The zero values give
// Djblets' defaults: the policy ID is Name, the scope name is the policy ID,
// and both API tokens and OAuth2 tokens are accepted.
type Resource struct {
	// Name is the resource name (Djblets' resource.name), used in scope
	// descriptions.
	Name string
	// PolicyID keys the resource in API-token policies; default Name.
	PolicyID string
	// ScopeName is the name half of the resource's OAuth2 scopes; default
	// the policy ID when API tokens are allowed, else Name.
	ScopeName string
	// IDParam is the gin path parameter holding the object ID, compared as
	// a raw string against policy object-ID sections (Djblets; see
	// docs/api-tokens.md, "Policy grammar"); empty
	// for list and singleton resources.
	IDParam string
	// Methods and Description feed the scope registry (see Decl); the Guard
	// does not use them.
	Methods     []string
	Description string
	// APITokenAccess and OAuth2Access: nil means allowed (Djblets'
	// api_token_access_allowed / oauth2_token_access_allowed default true).
	// Use Bool(false) to close the resource to that kind of token.
	APITokenAccess *bool
	OAuth2Access   *bool
	// AllowAnonymous lets requests without any credential through (with no
	// Principal); otherwise they get 401 NOT_LOGGED_IN.
	AllowAnonymous bool
}

// Bool returns a pointer to b, for Resource.APITokenAccess and OAuth2Access.
func Bool(b bool) *bool { return &b }

// Decl returns the resource's declaration for the scope registry.
func (r Resource) Decl() scopes.Decl {
	return scopes.Decl{
		Name: r.Name, PolicyID: r.PolicyID, ScopeName: r.ScopeName,
		Methods: r.Methods, Description: r.Description,
		APITokenAccess: r.APITokenAccess, OAuth2Access: r.OAuth2Access,
	}
}

// EffectivePolicyID returns PolicyID, or Name when it is empty.
func (r Resource) EffectivePolicyID() string { return r.Decl().EffectivePolicyID() }

// EffectiveScopeName returns the scope name the resource's scopes use.
func (r Resource) EffectiveScopeName() string { return r.Decl().EffectiveScopeName() }

// AllowsAPITokens reports whether API tokens may reach the resource.
func (r Resource) AllowsAPITokens() bool { return r.APITokenAccess == nil || *r.APITokenAccess }

// AllowsOAuth2 reports whether OAuth2 access tokens may reach the resource.
func (r Resource) AllowsOAuth2() bool { return r.OAuth2Access == nil || *r.OAuth2Access }
