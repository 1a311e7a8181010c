package mgmtapi

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
)

// getRoot is GET /api/: links to the resources, URI templates, and every
// supported scope with its description.
func (h *handlers) getRoot(c *gin.Context) {
	scopeList := make([]gin.H, 0)
	for _, in := range h.Registry.Scopes() {
		scopeList = append(scopeList, gin.H{"name": in.Name, "description": in.Description})
	}
	resources.OK(c, http.StatusOK, gin.H{
		"links": gin.H{
			"self":      link(PathRoot),
			"session":   link(PathSession),
			"users":     link(PathUsers),
			"resources": link(PathResources),
		},
		"uri_templates": gin.H{
			"session":    PathSession,
			"users":      PathUsers,
			"user":       PathUsers + "{username}/",
			"api_tokens": PathUsers + "{username}/api-tokens/",
			"api_token":  PathUsers + "{username}/api-tokens/{id}/",
			"resources":  PathResources,
			"resource":   PathResources + "{policy_id}/",

			"api_tokens_invalidate": PathAPITokensInvalidate,
			"credentials_revoke":    PathCredentialsRevoke,
		},
		"scopes": scopeList,
	})
}

// getSession is GET /api/session/: who the caller is and how they
// authenticated. It accepts every credential type (and none), so it is the
// first thing a client calls.
func (h *handlers) getSession(c *gin.Context) {
	p, ok := resources.PrincipalFrom(c)
	if !ok {
		resources.OK(c, http.StatusOK, gin.H{"session": gin.H{"authenticated": false, "links": gin.H{"self": link(PathSession)}}})
		return
	}
	s := gin.H{
		"authenticated": true,
		"auth_method":   string(p.Method),
		"user":          nil,
		"links":         gin.H{"self": link(PathSession)},
	}
	if p.User.ID != 0 {
		// The Principal carries only what a resource server can know; the
		// full record comes from the store.
		u, err := h.Users.Get(c.Request.Context(), p.User.ID)
		if err != nil {
			h.serverError(c, "load session user", err)
			return
		}
		s["user"] = userJSON(u, true)
		s["links"].(gin.H)["user"] = link(userPath(p.User.Username))
	}
	switch p.Method {
	case resources.MethodSession:
		// A session client sends this token in X-CSRF-Token on unsafe
		// requests; reading it here spares it scraping a page. A GET
		// response is readable by the session's own origin only (no CORS),
		// so it does not leak to other sites.
		if h.Sessions != nil {
			if _, csrf, ok, err := h.Sessions.ValidateSession(c.Request); err == nil && ok {
				s["csrf_token"] = csrf
				s["csrf_header"] = resources.CSRFHeader
			}
		}
	case resources.MethodAPIToken:
		s["token_id"] = p.TokenID
		s["policy"] = p.APIToken.Policy
		s["token"] = gin.H{
			"id": p.APIToken.ID, "token_prefix": p.APIToken.Prefix, "note": p.APIToken.Note,
			"expires": timePtr(p.APIToken.Expires), "deprecated": p.APIToken.Deprecated,
		}
	case resources.MethodOAuth2:
		s["token_id"] = p.TokenID
		s["client_id"] = p.ClientID
		s["scopes"] = p.Scopes.Items()
		if p.Bearer != nil && !p.Bearer.ExpiresAt.IsZero() {
			s["expires"] = p.Bearer.ExpiresAt.UTC().Format(time.RFC3339)
		}
	}
	resources.OK(c, http.StatusOK, gin.H{"session": s})
}

func userPath(username string) string { return PathUsers + url.PathEscape(username) + "/" }

// userJSON renders a user; the e-mail address only for the user themself
// or an admin (full).
func userJSON(u users.User, full bool) gin.H {
	out := gin.H{
		"id":         u.ID,
		"username":   u.Username,
		"is_admin":   u.IsAdmin,
		"is_active":  u.IsActive,
		"created_at": timeOrNil(u.CreatedAt),
		"links": gin.H{
			"self":       link(userPath(u.Username)),
			"api_tokens": link(userPath(u.Username) + "api-tokens/"),
		},
	}
	if full {
		out["email"] = u.Email
		out["email_verified"] = u.EmailVerified
		out["fullname"] = u.Name
	}
	return out
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}
