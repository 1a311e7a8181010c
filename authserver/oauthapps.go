package authserver

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver/api"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/resources"
)

// Paths of the OAuth application management resource.
const (
	PathOAuthApps = "/api/oauth-apps/"
	pathOAuthApp  = "/api/oauth-apps/:client_id/"
)

// MountOAuthApps registers the admin-only management resource for OAuth2
// clients, /api/oauth-apps/[{client_id}/], behind guard. It is declared in
// the registry as policy ID "oauth_app" and, like API-token management,
// accepts neither API tokens nor OAuth2 tokens
// (docs/api-tokens.md, "Deliberate differences": a token never
// mints credentials), only a first-party login; and only an admin's.
func (s *Server) MountOAuthApps(r gin.IRouter, guard *resources.Guard) {
	res := api.Builtin()[api.PolicyOAuthApp]
	h := &appHandlers{s: s}
	list := r.Group(PathOAuthApps, guard.Protect(res), api.SameSiteWrites, adminOnly)
	list.GET("", h.list)
	list.HEAD("", h.list)
	list.POST("", h.create)
	item := r.Group(pathOAuthApp, guard.Protect(res), api.SameSiteWrites, adminOnly)
	item.GET("", h.get)
	item.HEAD("", h.get)
	item.PUT("", h.update)
	item.DELETE("", h.delete)
}

// adminOnly lets only admins through and makes the admin the actor of the
// audit events the request causes.
func adminOnly(c *gin.Context) {
	p, ok := resources.PrincipalFrom(c)
	if !ok || !p.User.IsAdmin {
		resources.Fail(c, resources.PermissionDenied())
		return
	}
	c.Request = c.Request.WithContext(audit.WithActor(c.Request.Context(), p.User.ID))
	c.Next()
}

type appHandlers struct{ s *Server }

// appJSON is the resource's representation; client_secret appears only in
// the response that created or rotated it.
func appJSON(c *Client, secret string) gin.H {
	out := gin.H{
		"client_id": c.ID, "name": c.Name, "public": c.Public, "resource_server": c.ResourceServer, "redirect_uris": c.RedirectURIs,
		"grant_types": c.GrantTypes, "scopes": c.Scopes, "created_at": c.CreatedAt.Format(time.RFC3339),
		"updated_at": c.UpdatedAt.Format(time.RFC3339), "disabled": c.Disabled(),
		"links": gin.H{"self": gin.H{"method": "GET", "href": PathOAuthApps + c.ID + "/"}},
	}
	if c.SecretPrefix != "" {
		out["secret_prefix"] = c.SecretPrefix
	}
	if c.OwnerID != 0 {
		out["owner_id"] = c.OwnerID
	}
	if c.DisabledAt != nil {
		out["disabled_at"] = c.DisabledAt.Format(time.RFC3339)
	}
	if secret != "" {
		out["client_secret"] = secret
	}
	return out
}

func (h *appHandlers) list(c *gin.Context) {
	clients, err := h.s.Clients.List(c.Request.Context(), 0)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]gin.H, 0, len(clients))
	for _, cl := range clients {
		out = append(out, appJSON(cl, ""))
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_apps": out, "total_results": len(out)})
}

func (h *appHandlers) get(c *gin.Context) {
	cl, err := h.s.Clients.GetClient(c.Request.Context(), c.Param("client_id"))
	if err != nil {
		h.fail(c, err)
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_app": appJSON(cl, "")})
}

func (h *appHandlers) create(c *gin.Context) {
	in, aerr := readAppInput(c)
	if aerr != nil {
		resources.Fail(c, aerr)
		return
	}
	p, _ := resources.PrincipalFrom(c)
	spec := ClientSpec{Name: in.str("name"), OwnerID: p.User.ID, RedirectURIs: in.list("redirect_uris"),
		GrantTypes: in.list("grant_types"), Scopes: in.list("scopes")}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"public", &spec.Public}, {"resource_server", &spec.ResourceServer}} {
		if v, ok := in[f.key]; ok {
			b, err := strconv.ParseBool(first(v))
			if err != nil {
				resources.Fail(c, resources.InvalidFormData(map[string][]string{f.key: {"Must be true or false."}}))
				return
			}
			*f.dst = b
		}
	}
	cl, secret, err := h.s.CreateClient(c.Request.Context(), spec)
	if err != nil {
		h.fail(c, err)
		return
	}
	resources.OK(c, http.StatusCreated, gin.H{"oauth_app": appJSON(cl, secret)})
}

func (h *appHandlers) update(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("client_id")
	in, aerr := readAppInput(c)
	if aerr != nil {
		resources.Fail(c, aerr)
		return
	}
	var (
		cl     *Client
		secret string
		err    error
	)
	rs, hasRS := false, in.has("resource_server")
	if hasRS {
		var perr error
		if rs, perr = strconv.ParseBool(first(in["resource_server"])); perr != nil {
			resources.Fail(c, resources.InvalidFormData(map[string][]string{"resource_server": {"Must be true or false."}}))
			return
		}
	}
	if hasRS || in.has("name") || in.has("redirect_uris") || in.has("grant_types") || in.has("scopes") {
		cl, err = h.s.UpdateClient(ctx, id, func(sp *ClientSpec) error {
			if hasRS {
				sp.ResourceServer = rs
			}
			if in.has("name") {
				sp.Name = in.str("name")
			}
			if in.has("redirect_uris") {
				sp.RedirectURIs = in.list("redirect_uris")
			}
			if in.has("grant_types") {
				sp.GrantTypes = in.list("grant_types")
			}
			if in.has("scopes") {
				sp.Scopes = in.list("scopes")
			}
			return nil
		})
		if err != nil {
			h.fail(c, err)
			return
		}
	}
	for _, flag := range []string{"disabled", "rotate_secret"} {
		v, ok := in[flag]
		if !ok {
			continue
		}
		b, perr := strconv.ParseBool(first(v))
		if perr != nil {
			resources.Fail(c, resources.InvalidFormData(map[string][]string{flag: {"Must be true or false."}}))
			return
		}
		switch {
		case flag == "disabled" && b:
			cl, err = h.s.DisableClient(ctx, id)
		case flag == "disabled":
			cl, err = h.s.EnableClient(ctx, id)
		case b:
			cl, secret, err = h.s.RotateClientSecret(ctx, id)
		}
		if err != nil {
			h.fail(c, err)
			return
		}
	}
	if cl == nil {
		if cl, err = h.s.Clients.GetClient(ctx, id); err != nil {
			h.fail(c, err)
			return
		}
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_app": appJSON(cl, secret)})
}

func (h *appHandlers) delete(c *gin.Context) {
	if err := h.s.DeleteClient(c.Request.Context(), c.Param("client_id")); err != nil {
		h.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *appHandlers) fail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, ErrClientNotFound):
		resources.Fail(c, resources.DoesNotExist())
	case errors.Is(err, ErrInvalidClientMetadata):
		msg := strings.TrimPrefix(err.Error(), ErrInvalidClientMetadata.Error()+": ")
		resources.Fail(c, resources.InvalidFormData(nil).WithMessage(msg))
	default:
		h.s.log.Error("oauth app management", "error", err, "path", c.Request.URL.Path)
		resources.Fail(c, resources.ServerError())
	}
}

// appInput holds request fields; list fields accept repeated form values,
// comma- or space-separated strings, or JSON arrays.
type appInput map[string][]string

func (in appInput) has(k string) bool { _, ok := in[k]; return ok }
func (in appInput) str(k string) string {
	return strings.TrimSpace(first(in[k]))
}

func (in appInput) list(k string) []string {
	var out []string
	for _, v := range in[k] {
		out = append(out, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })...)
	}
	return out
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func readAppInput(c *gin.Context) (appInput, *resources.APIError) {
	bad := func(msg string) *resources.APIError { return resources.InvalidFormData(nil).WithMessage(msg) }
	mt, _, _ := mime.ParseMediaType(c.ContentType())
	switch mt {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, 1<<20))
		if err != nil {
			return nil, bad("The request body could not be read.")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
			return nil, bad("The request body must be a JSON object.")
		}
		in := appInput{}
		for k, raw := range obj {
			var s string
			var list []string
			var b bool
			switch {
			case string(raw) == "null":
			case json.Unmarshal(raw, &s) == nil:
				in[k] = []string{s}
			case json.Unmarshal(raw, &list) == nil:
				if list == nil {
					list = []string{}
				}
				in[k] = list
			case json.Unmarshal(raw, &b) == nil:
				in[k] = []string{strconv.FormatBool(b)}
			default:
				return nil, resources.InvalidFormData(map[string][]string{k: {"Must be a string, a list of strings or a boolean."}})
			}
		}
		return in, nil
	case "", "application/x-www-form-urlencoded":
		if err := c.Request.ParseForm(); err != nil {
			return nil, bad("The form could not be read.")
		}
		return appInput(c.Request.PostForm), nil
	}
	return nil, bad("Unsupported Content-Type " + strconv.Quote(mt) + "; send application/x-www-form-urlencoded or application/json.")
}
