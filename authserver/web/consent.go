package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/scopes"
)

// consentScope is one line of the consent page.
type consentScope struct {
	Name        string
	Description string
	// Granted marks a scope the user already approved for this client.
	Granted bool
}

// renderConsent shows the consent page: each requested scope with the
// registry's description, an Allow and a Deny button, and the request's
// parameters as hidden fields so the decision re-runs the full validation.
func (w *Pages) renderConsent(c *gin.Context, ar *authzRequest, cur *sessions.Current, granted scopes.Set) {
	w.renderConsentWith(c, ar, cur, granted, webPathAuthorize, ar.encode())
}

// renderConsentWith renders the consent page posting params to action
// (the device verification page uses it with no redirect URI).
func (w *Pages) renderConsentWith(c *gin.Context, ar *authzRequest, cur *sessions.Current, granted scopes.Set, action string, params url.Values) {
	var list []consentScope
	for _, s := range ar.Scope.Items() {
		desc, ok := w.deps.Scopes.Describe(s)
		if !ok || desc == "" {
			desc = s
		}
		list = append(list, consentScope{Name: s, Description: desc, Granted: granted.Has(s)})
	}
	name := ar.Client.Name
	if name == "" {
		name = ar.Client.ID
	}
	w.render(c, http.StatusOK, "consent.html", map[string]any{
		"Title":       "Authorize " + name,
		"ClientName":  name,
		"ClientID":    ar.Client.ID,
		"RedirectURI": ar.RedirectURI,
		"Scopes":      list,
		"Params":      params,
		"CSRF":        cur.CSRFToken(),
		"User":        cur.User,
		"Action":      action,
	})
}
