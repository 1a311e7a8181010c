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
// first thing a client calls — and the path resource servers' load tests
// hit, so its body is typed (session_json.go), not a map.
func (h *handlers) getSession(c *gin.Context) {
	p, ok := resources.PrincipalFrom(c)
	if !ok {
		c.JSON(http.StatusOK, anonymousSessionBody{Session: anonymousSession{Links: sessionLinks{Self: link(PathSession)}}, Stat: "ok"})
		return
	}
	var u *users.User
	if p.User.ID != 0 {
		// The Principal carries only what a resource server can know; the
		// full record comes from the store.
		rec, err := h.Users.Get(c.Request.Context(), p.User.ID)
		if err != nil {
			h.serverError(c, "load session user", err)
			return
		}
		u = &rec
	}
	var csrf string
	if p.Method == resources.MethodSession && h.Sessions != nil {
		// A session client sends this token in X-CSRF-Token on unsafe
		// requests; reading it here spares it scraping a page. A GET
		// response is readable by the session's own origin only (no CORS),
		// so it does not leak to other sites.
		if _, token, ok, err := h.Sessions.ValidateSession(c.Request); err == nil && ok {
			csrf = token
		}
	}
	c.JSON(http.StatusOK, sessionBody{Session: sessionOf(p, u, csrf), Stat: "ok"})
}

func userPath(username string) string { return PathUsers + url.PathEscape(username) + "/" }

// userJSON renders a user; the e-mail address only for the user themself
// or an admin (full).
func userJSON(u users.User, full bool) userView {
	out := userView{
		ID:        u.ID,
		Username:  u.Username,
		IsAdmin:   u.IsAdmin,
		IsActive:  u.IsActive,
		CreatedAt: timeOrNil(u.CreatedAt),
		Links: userLinks{
			Self:      link(userPath(u.Username)),
			APITokens: link(userPath(u.Username) + "api-tokens/"),
		},
	}
	if full {
		out.Email, out.EmailVerified, out.Fullname = &u.Email, &u.EmailVerified, &u.Name
	}
	return out
}

// timeOrNil is t in RFC 3339 (UTC), or nil (JSON null) for the zero time.
func timeOrNil(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return timePtr(&t)
}

// timePtr is *t in RFC 3339 (UTC), or nil (JSON null).
func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
