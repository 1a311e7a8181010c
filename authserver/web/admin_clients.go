package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/sessions"
)

const webPathAdminClients = webPathAdmin + "clients/"

// ClientAdmin is what /admin/clients/ needs of the authorization server:
// the client-management calls the management API's /api/oauth-apps/ makes,
// so validation, token revocation and audit events are the same whichever
// way an admin acts. *authserver.Server implements it.
type ClientAdmin interface {
	ListClients(ctx context.Context) ([]*authserver.Client, error)
	GetClient(ctx context.Context, id string) (*authserver.Client, error)
	CreateClient(ctx context.Context, spec authserver.ClientSpec) (*authserver.Client, string, error)
	RotateClientSecret(ctx context.Context, id string) (*authserver.Client, string, error)
	DisableClient(ctx context.Context, id string) (*authserver.Client, error)
	EnableClient(ctx context.Context, id string) (*authserver.Client, error)
	DeleteClient(ctx context.Context, id string) error
}

var _ ClientAdmin = (*authserver.Server)(nil)

// grantChoice is one grant type checkbox of the register form.
type grantChoice struct {
	Value, Label string
}

// grantChoices are the grant types the token endpoint serves, in the order
// the form offers them.
var grantChoices = []grantChoice{
	{authserver.GrantAuthorizationCode, "Authorization code"},
	{authserver.GrantRefreshToken, "Refresh token"},
	{authserver.GrantClientCredentials, "Client credentials"},
	{authserver.GrantDeviceCode, "Device code"},
}

// grantLabel names a grant type for people.
func grantLabel(g string) string {
	if i := slices.IndexFunc(grantChoices, func(c grantChoice) bool { return c.Value == g }); i >= 0 {
		return grantChoices[i].Label
	}
	return g
}

// clientForm is the register form, as submitted.
type clientForm struct {
	Name           string
	RedirectURIs   string // one per line
	Type           string // "confidential" or "public"
	ResourceServer bool
	Grants         []string
	Scopes         []string
	// Error is the registry's refusal (the same message the API gives).
	Error string
}

// clientRow is one client in the list, its grant types named for people.
type clientRow struct {
	*authserver.Client
	Grants []string
}

// scopeGroup is the registry's scopes of one resource, for the form.
type scopeGroup struct {
	Resource string
	Scopes   []scopeChoice
}

type scopeChoice struct {
	ID, Name string
	Checked  bool
}

func (w *Pages) mountAdminClients(g gin.IRoutes) {
	if w.deps.ClientAdmin == nil {
		return
	}
	g.GET(webPathAdminClients, w.adminClients)
	g.GET(webPathAdminClients+"new", w.adminClientNew)
	g.POST(webPathAdminClients+"new", w.adminClientCreate)
	g.POST(webPathAdminClients+":id/rotate-secret", w.adminClientRotate)
	g.POST(webPathAdminClients+":id/disable", w.adminClientSetDisabled)
	g.POST(webPathAdminClients+":id/enable", w.adminClientSetDisabled)
	g.GET(webPathAdminClients+":id/delete", w.adminClientDeletePage)
	g.POST(webPathAdminClients+":id/delete", w.adminClientDelete)
}

// adminClientNotices are the list's messages after a redirect, by the
// notice query parameter; the client is named by its client_id.
var adminClientNotices = map[string]string{
	"registered": "The public client was registered. It has no secret.",
	"disabled":   "The client was disabled and every token it held was revoked.",
	"enabled":    "The client was enabled. Tokens revoked when it was disabled stay revoked.",
	"deleted":    "The client was deleted and every token it held was revoked.",
}

func (w *Pages) adminClients(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdminClients)
	if cur == nil {
		return
	}
	list, err := w.deps.ClientAdmin.ListClients(c.Request.Context())
	if err != nil {
		w.internalError(c, "list clients", err)
		return
	}
	data := adminData(cur, "Clients", webPathAdminClients)
	rows := make([]clientRow, 0, len(list))
	for _, cl := range list {
		r := clientRow{Client: cl}
		for _, g := range cl.GrantTypes {
			r.Grants = append(r.Grants, grantLabel(g))
		}
		rows = append(rows, r)
	}
	data["Clients"] = rows
	if msg, ok := adminClientNotices[c.Query("notice")]; ok {
		data["Notice"] = msg
		data["NoticeClient"] = c.Query("client_id")
	}
	w.render(c, http.StatusOK, "admin_clients.html", data)
}

func (w *Pages) adminClientNew(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdminClients+"new")
	if cur == nil {
		return
	}
	w.renderClientForm(c, http.StatusOK, cur, clientForm{Type: "confidential"})
}

func (w *Pages) renderClientForm(c *gin.Context, status int, cur *sessions.Current, f clientForm) {
	data := adminData(cur, "Register a client", webPathAdminClients)
	data["Form"] = f
	type grantBox struct {
		grantChoice
		ID      string
		Checked bool
	}
	boxes := make([]grantBox, 0, len(grantChoices))
	for _, g := range grantChoices {
		// The device grant's URN is no good as an id: its colons need
		// escaping in CSS selectors.
		id := strings.ReplaceAll(strings.ToLower(g.Label), " ", "-")
		boxes = append(boxes, grantBox{grantChoice: g, ID: id, Checked: slices.Contains(f.Grants, g.Value)})
	}
	data["Grants"] = boxes
	data["ScopeGroups"] = w.scopeGroups(f.Scopes)
	w.render(c, status, "admin_client_form.html", data)
}

// scopeGroups returns the registry's scopes grouped by the resource that
// declares them, in registry order; scopes of no resource (OpenID
// Connect's) come last. checked are the boxes to tick.
func (w *Pages) scopeGroups(checked []string) []scopeGroup {
	var groups []scopeGroup
	var plain []scopeChoice
	byPolicy := map[string]int{}
	for i, s := range w.deps.Scopes.Scopes() {
		ch := scopeChoice{ID: "scope-" + strconv.Itoa(i), Name: s.Name, Checked: slices.Contains(checked, s.Name)}
		if s.PolicyID == "" {
			plain = append(plain, ch)
			continue
		}
		gi, ok := byPolicy[s.PolicyID]
		if !ok {
			name := s.PolicyID
			if d, found := w.deps.Scopes.Lookup(s.PolicyID); found && d.Name != "" {
				name = d.Name
			}
			gi = len(groups)
			byPolicy[s.PolicyID] = gi
			groups = append(groups, scopeGroup{Resource: name})
		}
		groups[gi].Scopes = append(groups[gi].Scopes, ch)
	}
	if len(plain) > 0 {
		groups = append(groups, scopeGroup{Resource: "OpenID Connect and other scopes", Scopes: plain})
	}
	return groups
}

// adminClientCreate is POST /admin/clients/new: CreateClient with the
// spec POST /api/oauth-apps/ builds, the admin as owner and actor. A
// confidential client's secret is shown in this response only.
func (w *Pages) adminClientCreate(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	f := clientForm{
		Name: c.PostForm("name"), RedirectURIs: c.PostForm("redirect_uris"), Type: c.PostForm("client_type"),
		ResourceServer: c.PostForm("resource_server") != "", Grants: c.PostFormArray("grant_types"), Scopes: c.PostFormArray("scopes"),
	}
	if f.Type != "confidential" && f.Type != "public" {
		f.Error = "Choose whether the client is confidential or public."
		w.renderClientForm(c, http.StatusBadRequest, cur, f)
		return
	}
	spec := authserver.ClientSpec{
		Name: f.Name, OwnerID: cur.User.ID, Public: f.Type == "public", ResourceServer: f.ResourceServer,
		RedirectURIs: strings.Fields(f.RedirectURIs), GrantTypes: f.Grants, Scopes: f.Scopes,
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	cl, secret, err := w.deps.ClientAdmin.CreateClient(ctx, spec)
	if err != nil {
		if msg, ok := clientMetadataProblem(err); ok {
			f.Error = msg
			w.renderClientForm(c, http.StatusBadRequest, cur, f)
			return
		}
		w.internalError(c, "register client", err)
		return
	}
	w.deps.Logger.Info("oauth client registered", "client_id", cl.ID, "actor_user_id", cur.User.ID)
	if secret == "" {
		seeOther(c, webPathAdminClients+"?notice=registered&client_id="+url.QueryEscape(cl.ID))
		return
	}
	w.renderClientSecret(c, http.StatusCreated, cur, cl, secret, false)
}

// clientMetadataProblem returns the message of a client the registry
// refuses, worded as the management API words it.
func clientMetadataProblem(err error) (string, bool) {
	if !errors.Is(err, authserver.ErrInvalidClientMetadata) {
		return "", false
	}
	msg := strings.TrimPrefix(err.Error(), authserver.ErrInvalidClientMetadata.Error()+": ")
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg, true
}

// renderClientSecret shows a client's secret, once: the server keeps only
// its digest, and pageHeaders marks the response no-store.
func (w *Pages) renderClientSecret(c *gin.Context, status int, cur *sessions.Current, cl *authserver.Client, secret string, rotated bool) {
	title := "Client registered"
	if rotated {
		title = "Client secret rotated"
	}
	data := adminData(cur, title, webPathAdminClients)
	data["Client"] = cl
	data["Secret"] = secret
	data["Rotated"] = rotated
	data["Script"] = true // the copy button
	w.render(c, status, "admin_client_secret.html", data)
}

// adminClient loads the client named in the path, answering 404 for an
// unknown one.
func (w *Pages) adminClient(c *gin.Context) *authserver.Client {
	cl, err := w.deps.ClientAdmin.GetClient(c.Request.Context(), c.Param("id"))
	switch {
	case errors.Is(err, authserver.ErrClientNotFound):
		w.errorPage(c, http.StatusNotFound, "Client not found", "There is no client with this client_id.")
		return nil
	case err != nil:
		w.internalError(c, "load client", err)
		return nil
	}
	return cl
}

// adminClientRotate is POST /admin/clients/{id}/rotate-secret, as PUT
// /api/oauth-apps/{id}/ with rotate_secret=true: the old secret stops
// working at once.
func (w *Pages) adminClientRotate(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	cl, secret, err := w.deps.ClientAdmin.RotateClientSecret(ctx, c.Param("id"))
	if err != nil {
		w.clientActionFailed(c, "rotate client secret", err)
		return
	}
	w.deps.Logger.Info("oauth client secret rotated", "client_id", cl.ID, "actor_user_id", cur.User.ID)
	w.renderClientSecret(c, http.StatusOK, cur, cl, secret, true)
}

// clientActionFailed answers a failed action on one client: 404 for an
// unknown client, the registry's message (a public client has no secret
// to rotate) as 400, else 500.
func (w *Pages) clientActionFailed(c *gin.Context, what string, err error) {
	if errors.Is(err, authserver.ErrClientNotFound) {
		w.errorPage(c, http.StatusNotFound, "Client not found", "There is no client with this client_id.")
		return
	}
	if msg, ok := clientMetadataProblem(err); ok {
		w.errorPage(c, http.StatusBadRequest, "Not possible for this client", msg)
		return
	}
	w.internalError(c, what, err)
}

// adminClientSetDisabled is POST /admin/clients/{id}/disable or /enable,
// as PUT /api/oauth-apps/{id}/ with disabled=true or false.
func (w *Pages) adminClientSetDisabled(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	id := c.Param("id")
	var err error
	notice := "disabled"
	if strings.HasSuffix(c.Request.URL.Path, "/enable") {
		notice = "enabled"
		_, err = w.deps.ClientAdmin.EnableClient(ctx, id)
	} else {
		_, err = w.deps.ClientAdmin.DisableClient(ctx, id)
	}
	if err != nil {
		w.clientActionFailed(c, "set client disabled", err)
		return
	}
	w.deps.Logger.Info("oauth client "+notice, "client_id", id, "actor_user_id", cur.User.ID)
	seeOther(c, webPathAdminClients+"?notice="+notice+"&client_id="+url.QueryEscape(id))
}

// adminClientDeletePage is the confirmation step before a delete; it works
// without JavaScript.
func (w *Pages) adminClientDeletePage(c *gin.Context) {
	cur := w.signedInAdmin(c, c.Request.URL.Path)
	if cur == nil {
		return
	}
	w.renderDeleteConfirm(c, http.StatusOK, cur, "")
}

func (w *Pages) renderDeleteConfirm(c *gin.Context, status int, cur *sessions.Current, problem string) {
	cl := w.adminClient(c)
	if cl == nil {
		return
	}
	data := adminData(cur, "Delete client "+cl.Name, webPathAdminClients)
	data["Client"] = cl
	data["Problem"] = problem
	w.render(c, status, "admin_client_delete.html", data)
}

// adminClientDelete is POST /admin/clients/{id}/delete, as DELETE
// /api/oauth-apps/{id}/; the form's confirm box must be ticked.
func (w *Pages) adminClientDelete(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	if c.PostForm("confirm") != "yes" {
		w.renderDeleteConfirm(c, http.StatusBadRequest, cur, "Tick the box to confirm the deletion.")
		return
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	id := c.Param("id")
	if err := w.deps.ClientAdmin.DeleteClient(ctx, id); err != nil {
		w.clientActionFailed(c, "delete client", err)
		return
	}
	w.deps.Logger.Info("oauth client deleted", "client_id", id, "actor_user_id", cur.User.ID)
	seeOther(c, webPathAdminClients+"?notice=deleted&client_id="+url.QueryEscape(id))
}
