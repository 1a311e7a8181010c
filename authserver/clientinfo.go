package authserver

import (
	"fmt"
	"strings"

	"github.com/go-oauth2/oauth2/v4"
)

// clientInfo adapts a Client to go-oauth2's ClientInfo and
// ClientPasswordVerifier, so the library never sees or compares a secret.
type clientInfo struct{ c *Client }

var (
	_ oauth2.ClientInfo             = clientInfo{}
	_ oauth2.ClientPasswordVerifier = clientInfo{}
)

func (ci clientInfo) GetID() string     { return ci.c.ID }
func (ci clientInfo) GetSecret() string { return "" }
func (ci clientInfo) IsPublic() bool    { return ci.c.Public }

// GetDomain returns the registered redirect URIs joined by newlines. The
// library passes it to the ValidateURIHandler (our exact matcher splits it
// again) and, when an authorize request omits redirect_uri, redirects to it;
// we only let that happen for a client with exactly one URI.
func (ci clientInfo) GetDomain() string { return strings.Join(ci.c.RedirectURIs, "\n") }

func (ci clientInfo) GetUserID() string {
	if ci.c.OwnerID == 0 {
		return ""
	}
	return fmt.Sprint(ci.c.OwnerID)
}

// VerifyPassword implements oauth2.ClientPasswordVerifier in constant time.
func (ci clientInfo) VerifyPassword(secret string) bool { return ci.c.VerifySecret(secret) }

// exactURIValidator is go-oauth2's ValidateURIHandler replacement
// (manage.DefaultValidateURI matches host suffixes:
// docs/go-oauth2.md, "Redirect URIs";
// docs/go-oauth2.md, "Findings and their tests", finding 3).
func exactURIValidator(domain, redirectURI string) error {
	if MatchRedirectURI(strings.Split(domain, "\n"), redirectURI) {
		return nil
	}
	return errInvalidRedirectURI
}
