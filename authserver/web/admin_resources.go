package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/scopes"
)

// The resources page of the admin console: the scope registry (authgate's
// own resources, those of the configuration file and those registered at
// run time) with owners, scopes and descriptions; an admin registers and
// removes run-time resources through the management API's write path
// (Deps.Resources). See docs/web-pages.md, "Admin: resources".
const webPathAdminResources = webPathAdmin + "resources/"

// Resources is the run-time resource registry's write path, shared with
// PUT and DELETE /api/resources/{policy_id}/ (the composition root passes
// the management API's; this package may not import it). Refusals are
// *ResourceRefusal.
type Resources interface {
	// RegisteredBy maps each run-time registration's policy ID to who made
	// it: "user:<username>" or "client:<client_id>".
	RegisteredBy(ctx context.Context) (map[string]string, error)
	// Register registers or replaces policyID from the form fields (name,
	// scope_name, methods, description, api_token_access, oauth2_access,
	// audience) on behalf of the admin adminUsername.
	Register(ctx context.Context, policyID string, fields map[string]string, adminUsername string) (created bool, err error)
	// Unregister removes the run-time registration policyID.
	Unregister(ctx context.Context, policyID, adminUsername string) error
}

// ResourceRefusal is a refused registration or removal: field messages
// (invalid input), a message (a clash with another resource), or NotFound.
type ResourceRefusal struct {
	Fields   map[string][]string
	Message  string
	NotFound bool
}

func (r *ResourceRefusal) Error() string {
	if r.Message != "" {
		return r.Message
	}
	return "invalid resource registration"
}

func (w *Pages) mountAdminResources(g gin.IRoutes) {
	g.GET(webPathAdminResources, w.adminResources)
	if w.deps.Resources != nil {
		g.POST(webPathAdminResources, w.adminRegisterResource)
		g.POST(webPathAdminResources+":policy_id/delete", w.adminDeleteResource)
	}
}

// resourceRow is one resource as the page shows it.
type resourceRow struct {
	scopes.Decl
	Origin, Owner string
	Scopes        []scopes.Info
	Removable     bool
}

// resourceForm is the registration form as submitted, with its refusal.
type resourceForm struct {
	PolicyID, Name, ScopeName, Methods, Description, Audience string
	APITokenAccess, OAuth2Access                              string
	Fields                                                    map[string][]string
	Message                                                   string
}

// FieldError is the first message about field, for the template.
func (f *resourceForm) FieldError(field string) string {
	if m := f.Fields[field]; len(m) > 0 {
		return m[0]
	}
	return ""
}

func (w *Pages) adminResources(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdminResources)
	if cur == nil {
		return
	}
	w.renderAdminResources(c, http.StatusOK, adminData(cur, "Resources", webPathAdminResources), nil)
}

// renderAdminResources renders the registry into data; form is the
// registration form shown again with its refusal.
func (w *Pages) renderAdminResources(c *gin.Context, status int, data map[string]any, form *resourceForm) {
	by := map[string]string{}
	if w.deps.Resources != nil {
		var err error
		if by, err = w.deps.Resources.RegisteredBy(c.Request.Context()); err != nil {
			w.internalError(c, "list resource registrants", err)
			return
		}
	}
	byPolicy := map[string][]scopes.Info{}
	var plain []scopes.Info
	for _, in := range w.deps.Scopes.Scopes() {
		if in.PolicyID == "" {
			plain = append(plain, in)
			continue
		}
		byPolicy[in.PolicyID] = append(byPolicy[in.PolicyID], in)
	}
	var rows []resourceRow
	for _, d := range w.deps.Scopes.Decls() {
		r := resourceRow{Decl: d, Scopes: byPolicy[d.PolicyID]}
		switch d.Origin {
		case scopes.OriginConfig:
			r.Origin, r.Owner = "configuration", "the configuration file"
		case scopes.OriginRegistered:
			r.Origin, r.Owner, r.Removable = "registered", registrantName(by[d.PolicyID]), w.deps.Resources != nil
		default:
			r.Origin, r.Owner = "built-in", "authgate"
		}
		rows = append(rows, r)
	}
	if form == nil {
		form = &resourceForm{}
	}
	data["Resources"], data["Plain"], data["Form"], data["CanRegister"] = rows, plain, form, w.deps.Resources != nil
	data["Notice"], data["NoticeID"] = c.Query("notice"), c.Query("policy_id")
	w.render(c, status, "admin_resources.html", data)
}

// registrantName shows a registered_by value: "client:x" as "client x",
// "user:y" as "y".
func registrantName(s string) string {
	if id, ok := strings.CutPrefix(s, "client:"); ok {
		return "client " + id
	}
	if name, ok := strings.CutPrefix(s, "user:"); ok {
		return name
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// adminRegisterResource is POST /admin/resources/: register (or replace) a
// run-time resource as PUT /api/resources/{policy_id}/ does.
func (w *Pages) adminRegisterResource(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	f := &resourceForm{PolicyID: strings.TrimSpace(c.PostForm("policy_id")), Name: strings.TrimSpace(c.PostForm("name")),
		ScopeName: strings.TrimSpace(c.PostForm("scope_name")), Methods: c.PostForm("methods"),
		Description: strings.TrimSpace(c.PostForm("description")), Audience: strings.TrimSpace(c.PostForm("audience")),
		APITokenAccess: c.PostForm("api_token_access"), OAuth2Access: c.PostForm("oauth2_access")}
	fields := map[string]string{"name": f.Name, "scope_name": f.ScopeName, "methods": f.Methods,
		"description": f.Description, "audience": f.Audience}
	// "" is the select's "default" choice: the field is left out, as an
	// API caller would.
	if f.APITokenAccess != "" {
		fields["api_token_access"] = f.APITokenAccess
	}
	if f.OAuth2Access != "" {
		fields["oauth2_access"] = f.OAuth2Access
	}
	data := adminData(cur, "Resources", webPathAdminResources)
	if f.PolicyID == "" {
		f.Fields = map[string][]string{"policy_id": {"This field is required."}}
		w.renderAdminResources(c, http.StatusBadRequest, data, f)
		return
	}
	created, err := w.deps.Resources.Register(c.Request.Context(), f.PolicyID, fields, cur.User.Username)
	var refusal *ResourceRefusal
	switch {
	case errors.As(err, &refusal):
		f.Fields, f.Message = refusal.Fields, refusal.Message
		status := http.StatusBadRequest
		if refusal.Message != "" {
			status = http.StatusConflict
		}
		w.renderAdminResources(c, status, data, f)
		return
	case err != nil:
		w.internalError(c, "register resource", err)
		return
	}
	notice := "replaced"
	if created {
		notice = "registered"
	}
	seeOther(c, webPathAdminResources+"?"+url.Values{"notice": {notice}, "policy_id": {f.PolicyID}}.Encode())
}

// adminDeleteResource is POST /admin/resources/{policy_id}/delete: remove
// a run-time registration as DELETE /api/resources/{policy_id}/ does.
func (w *Pages) adminDeleteResource(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	policyID := c.Param("policy_id")
	err := w.deps.Resources.Unregister(c.Request.Context(), policyID, cur.User.Username)
	var refusal *ResourceRefusal
	switch {
	case errors.As(err, &refusal) && refusal.NotFound:
		w.errorPage(c, http.StatusNotFound, "No such resource", "No resource with that policy ID is registered at run time.")
		return
	case errors.As(err, &refusal):
		data := adminData(cur, "Resources", webPathAdminResources)
		data["Problem"] = refusal.Error()
		w.renderAdminResources(c, http.StatusConflict, data, nil)
		return
	case err != nil:
		w.internalError(c, "unregister resource", err)
		return
	}
	seeOther(c, webPathAdminResources+"?"+url.Values{"notice": {"deleted"}, "policy_id": {policyID}}.Encode())
}
