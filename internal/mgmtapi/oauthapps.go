package mgmtapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/resources"
)

// ClientAdmin is what /api/oauth-apps/ needs of the authorization server:
// the client-management operations it shares with `authgate client`, which
// check scopes against the registry, revoke a disabled or deleted client's
// tokens and record the audit events. *authserver.Server implements it.
type ClientAdmin interface {
	ListClients(ctx context.Context) ([]*authserver.Client, error)
	GetClient(ctx context.Context, id string) (*authserver.Client, error)
	CreateClient(ctx context.Context, spec authserver.ClientSpec) (*authserver.Client, string, error)
	UpdateClient(ctx context.Context, id string, fn func(sp *authserver.ClientSpec) error) (*authserver.Client, error)
	RotateClientSecret(ctx context.Context, id string) (*authserver.Client, string, error)
	DisableClient(ctx context.Context, id string) (*authserver.Client, error)
	EnableClient(ctx context.Context, id string) (*authserver.Client, error)
	DeleteClient(ctx context.Context, id string) error
}

var _ ClientAdmin = (*authserver.Server)(nil)

// mountOAuthApps registers the admin-only management resource for OAuth2
// clients, /api/oauth-apps/[{client_id}/]. It is declared in the registry
// as policy ID "oauth_app" and, like API-token management, accepts neither
// API tokens nor OAuth2 tokens (docs/api-tokens.md, "Deliberate
// differences": a token never mints credentials), only a first-party
// login; and only an admin's.
func (h *handlers) mountOAuthApps(r gin.IRouter, protect gin.HandlerFunc) {
	list := r.Group(PathOAuthApps, protect, SameSiteWrites, adminOnly)
	list.GET("", h.listApps)
	list.HEAD("", h.listApps)
	list.POST("", h.createApp)
	item := r.Group(PathOAuthApps+":client_id/", protect, SameSiteWrites, adminOnly)
	item.GET("", h.getApp)
	item.HEAD("", h.getApp)
	item.PUT("", h.updateApp)
	item.DELETE("", h.deleteApp)
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

// appJSON is the resource's representation; client_secret appears only in
// the response that created or rotated it.
func appJSON(c *authserver.Client, secret string) gin.H {
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

func (h *handlers) listApps(c *gin.Context) {
	clients, err := h.Clients.ListClients(c.Request.Context())
	if err != nil {
		h.failApp(c, err)
		return
	}
	out := make([]gin.H, 0, len(clients))
	for _, cl := range clients {
		out = append(out, appJSON(cl, ""))
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_apps": out, "total_results": len(out)})
}

func (h *handlers) getApp(c *gin.Context) {
	cl, err := h.Clients.GetClient(c.Request.Context(), c.Param("client_id"))
	if err != nil {
		h.failApp(c, err)
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_app": appJSON(cl, "")})
}

func (h *handlers) createApp(c *gin.Context) {
	in, aerr := readAppInput(c)
	if aerr != nil {
		resources.Fail(c, aerr)
		return
	}
	p, _ := resources.PrincipalFrom(c)
	spec := authserver.ClientSpec{Name: in.str("name"), OwnerID: p.User.ID, RedirectURIs: in.list("redirect_uris"),
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
	cl, secret, err := h.Clients.CreateClient(c.Request.Context(), spec)
	if err != nil {
		h.failApp(c, err)
		return
	}
	resources.OK(c, http.StatusCreated, gin.H{"oauth_app": appJSON(cl, secret)})
}

func (h *handlers) updateApp(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.Param("client_id")
	in, aerr := readAppInput(c)
	if aerr != nil {
		resources.Fail(c, aerr)
		return
	}
	var (
		cl     *authserver.Client
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
		cl, err = h.Clients.UpdateClient(ctx, id, func(sp *authserver.ClientSpec) error {
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
			h.failApp(c, err)
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
			cl, err = h.Clients.DisableClient(ctx, id)
		case flag == "disabled":
			cl, err = h.Clients.EnableClient(ctx, id)
		case b:
			cl, secret, err = h.Clients.RotateClientSecret(ctx, id)
		}
		if err != nil {
			h.failApp(c, err)
			return
		}
	}
	if cl == nil {
		if cl, err = h.Clients.GetClient(ctx, id); err != nil {
			h.failApp(c, err)
			return
		}
	}
	resources.OK(c, http.StatusOK, gin.H{"oauth_app": appJSON(cl, secret)})
}

func (h *handlers) deleteApp(c *gin.Context) {
	if err := h.Clients.DeleteClient(c.Request.Context(), c.Param("client_id")); err != nil {
		h.failApp(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) failApp(c *gin.Context, err error) {
	switch {
	case errors.Is(err, authserver.ErrClientNotFound):
		resources.Fail(c, resources.DoesNotExist())
	case errors.Is(err, authserver.ErrInvalidClientMetadata):
		msg := strings.TrimPrefix(err.Error(), authserver.ErrInvalidClientMetadata.Error()+": ")
		resources.Fail(c, resources.InvalidFormData(nil).WithMessage(msg))
	default:
		h.serverError(c, "oauth app management", err)
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
