package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
)

// accountApp is one authorized application on the authorized-apps page.
type accountApp struct {
	ClientID string
	Name     string
	Scopes   []consentScope
	Since    string
	// LastAuthorized is when the user last approved (or widened) the
	// consent.
	LastAuthorized string
	// LastUsed is when a token of the grant was last issued or refreshed,
	// to the minute; "" for never (or not since authgate records it).
	LastUsed string
	// LastUsedISO is LastUsed for the time element's datetime attribute.
	LastUsedISO string
}

// appsPage is /account/authorized-apps/: the applications the user
// consented to, with their scopes and a revoke button each.
func (w *Pages) appsPage(c *gin.Context) {
	cur := w.signedIn(c, webPathApps)
	if cur == nil {
		return
	}
	ctx := c.Request.Context()
	consents, err := w.deps.Consents.ListByUser(ctx, cur.User.ID)
	if err != nil {
		w.internalError(c, "list consents", err)
		return
	}
	apps := make([]accountApp, 0, len(consents))
	for _, co := range consents {
		app := accountApp{ClientID: co.ClientID, Name: co.ClientID, Since: co.CreatedAt.UTC().Format("2006-01-02"),
			LastAuthorized: co.UpdatedAt.UTC().Format("2006-01-02 15:04 MST")}
		if co.LastUsedAt != nil {
			app.LastUsed = co.LastUsedAt.UTC().Format("2006-01-02 15:04 MST")
			app.LastUsedISO = co.LastUsedAt.UTC().Format(time.RFC3339)
		}
		if cl, ok, err := w.deps.Clients.LookupClient(ctx, co.ClientID); err == nil && ok && cl.Name != "" {
			app.Name = cl.Name
		}
		for _, s := range co.Scopes.Items() {
			desc, ok := w.deps.Scopes.Describe(s)
			if !ok || desc == "" {
				desc = s
			}
			app.Scopes = append(app.Scopes, consentScope{Name: s, Description: desc})
		}
		apps = append(apps, app)
	}
	w.render(c, http.StatusOK, "apps.html", map[string]any{
		"Title": "Authorized applications", "Nav": "apps", "User": cur.User, "CSRF": cur.CSRFToken(),
		"Apps": apps, "Notice": c.Query("notice"),
	})
}

// accountRevokeApp withdraws an application's access: the consent is deleted
// (the next authorization asks again) and its tokens for this user revoked.
func (w *Pages) accountRevokeApp(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	clientID := c.PostForm("client_id")
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	if err := w.deps.Consents.Revoke(ctx, cur.User.ID, clientID); err != nil && !errors.Is(err, authserver.ErrConsentNotFound) {
		w.internalError(c, "revoke consent", err)
		return
	}
	if w.deps.RevokeGrants != nil {
		if err := w.deps.RevokeGrants(ctx, cur.User.ID, clientID); err != nil {
			w.internalError(c, "revoke client tokens", err)
			return
		}
	}
	w.deps.Logger.Info("user revoked application access", "user_id", cur.User.ID, "client_id", clientID)
	seeOther(c, webPathApps+"?notice=revoked")
}
