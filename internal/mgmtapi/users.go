package mgmtapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
)

// listUsers is GET /api/users/. Users an API token's policy denies by
// username are left out (Djblets; see docs/api-tokens.md, "List filtering").
func (h *handlers) listUsers(c *gin.Context) {
	p := principal(c)
	all, err := h.Users.List(c.Request.Context())
	if err != nil {
		h.serverError(c, "list users", err)
		return
	}
	visible := resources.FilterList(c, all, func(u users.User) string { return u.Username })
	out := make([]gin.H, 0, len(visible))
	for _, u := range visible {
		out = append(out, userJSON(u, p.User.IsAdmin || p.User.ID == u.ID))
	}
	resources.OK(c, http.StatusOK, gin.H{"users": out, "total_results": len(out)})
}

// getUser is GET /api/users/{username}/.
func (h *handlers) getUser(c *gin.Context) {
	p := principal(c)
	u, err := h.Users.GetByUsername(c.Request.Context(), c.Param("username"))
	if errors.Is(err, users.ErrNotFound) {
		resources.Fail(c, resources.DoesNotExist())
		return
	}
	if err != nil {
		h.serverError(c, "load user", err)
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"user": userJSON(u, p.User.IsAdmin || p.User.ID == u.ID)})
}
