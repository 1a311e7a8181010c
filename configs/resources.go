package configs

import (
	"fmt"
	"strings"
)

// Resource declares a resource of a separate resource server in the config
// file (resources: list), so its policy ID is accepted in API-token
// policies and its scopes can be requested and shown on the consent page.
// Empty fields take Djblets' defaults: policy_id = name, scope_name =
// policy_id, both kinds of token accepted.
type Resource struct {
	// Name is the resource name, used in scope descriptions. Lower-case
	// letters, digits and _ - . (starting with a letter or digit).
	Name string `koanf:"name"`
	// PolicyID keys the resource in API-token policies; default Name.
	PolicyID string `koanf:"policy_id"`
	// ScopeName is the name half of its OAuth2 scopes; default the policy ID.
	ScopeName string `koanf:"scope_name"`
	// Methods are the upper-case HTTP methods it serves; each maps to a
	// scope action (GET/HEAD/OPTIONS read, POST/PUT/PATCH write, DELETE
	// destroy).
	Methods []string `koanf:"methods"`
	// Description is shown after the generated scope descriptions.
	Description string `koanf:"description"`
	// APITokenAccess and OAuth2Access close the resource to that kind of
	// token when false; unset means allowed.
	APITokenAccess *bool `koanf:"api_token_access"`
	OAuth2Access   *bool `koanf:"oauth2_access"`
	// Audience is the resource server's base URL (https, or http on a
	// loopback host): access tokens for it carry it as aud, when the client
	// names it with resource= (RFC 8707) or asks only for its scopes.
	Audience string `koanf:"audience"`
}

// validateResources checks what can be checked without the scope registry
// (which applies the full grammar at start-up): names present, policy IDs
// unique, methods given.
func validateResources(rs []Resource) []error {
	var errs []error
	seen := map[string]bool{}
	for i, r := range rs {
		key := fmt.Sprintf("resources[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			errs = append(errs, fmt.Errorf("invalid value for %q: name must not be empty", key))
			continue
		}
		id := r.PolicyID
		if id == "" {
			id = r.Name
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("invalid value for %q: policy ID %q is declared twice", key, id))
		}
		seen[id] = true
		if len(r.Methods) == 0 {
			errs = append(errs, fmt.Errorf("invalid value for %q: resource %q lists no methods", key, r.Name))
		}
	}
	return errs
}
