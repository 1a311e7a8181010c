package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/sessions"
)

// The admin console's paths. Every page under webPathAdmin answers a
// signed-out visitor with 303 to the login page (and back afterwards) and a
// signed-in non-admin with 403.
const (
	webPathAdmin = "/admin/"
)

// adminSection is one entry of the admin console's index and navigation.
type adminSection struct {
	Path, Name, Summary string
}

// adminSections lists the console's pages in navigation order.
var adminSections = []adminSection{
	{webPathAdmin + "clients/", "Clients", "Register OAuth clients, rotate their secrets, disable or delete them."},
	{webPathAdmin + "users/", "Users", "Create users, deactivate or reactivate them, grant the admin flag, reset passwords."},
	{webPathAdmin + "resources/", "Resources", "The resource registry: built-in, configured and registered resources with their owners."},
	{webPathAdmin + "audit/", "Audit log", "Security events, newest first, filtered by kind, subject or actor."},
	{webPathAdmin + "keys/", "Signing keys", "The keys that sign access and ID tokens; rotate them."},
}

// mountAdmin registers the admin console's routes on g.
func (w *Pages) mountAdmin(g gin.IRoutes) {
	g.GET(webPathAdmin, w.adminIndex)
	w.mountAdminClients(g)
	w.mountAdminKeys(g)
	w.mountAdminUsers(g)
	w.mountAdminAudit(g)
	w.mountAdminResources(g)
}

// signedInAdmin is signedIn for the admin console: a signed-out visitor is
// sent to the login page (returning to returnTo), a signed-in user without
// the admin flag gets 403. It returns nil when it answered the request.
func (w *Pages) signedInAdmin(c *gin.Context, returnTo string) *sessions.Current {
	cur := w.signedIn(c, returnTo)
	if cur == nil {
		return nil
	}
	if !cur.User.IsAdmin {
		w.errorPage(c, http.StatusForbidden, "Administrators only", "This page is for administrators of this server.")
		return nil
	}
	return cur
}

// signedInAdminForm is signedInForm (same site, CSRF token) plus the admin
// check, for the console's form submissions.
func (w *Pages) signedInAdminForm(c *gin.Context, refusal string) *sessions.Current {
	cur := w.signedInForm(c, refusal)
	if cur == nil {
		return nil
	}
	if !cur.User.IsAdmin {
		w.errorPage(c, http.StatusForbidden, "Administrators only", "This page is for administrators of this server.")
		return nil
	}
	return cur
}

// adminData is the template data every admin page starts from: the layout's
// navigation, the signed-in user and the session's CSRF token.
func adminData(cur *sessions.Current, title, section string) map[string]any {
	return map[string]any{
		"Title": title, "Nav": "admin", "AdminNav": section, "AdminSections": adminSections,
		"User": cur.User, "CSRF": cur.CSRFToken(),
	}
}

// adminIndex is /admin/: the console's sections.
func (w *Pages) adminIndex(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdmin)
	if cur == nil {
		return
	}
	w.render(c, http.StatusOK, "admin.html", adminData(cur, "Administration", ""))
}
