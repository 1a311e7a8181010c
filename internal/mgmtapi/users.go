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
	out := make([]userView, 0, len(visible))
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

// updateUser is PUT /api/users/{username}/: the user's OpenID Connect
// profile (see docs/openid-connect.md, "Claims"). fullname and email may be
// changed by the user and by admins; email_verified only by an admin, and a
// user's own change of address clears it (authgate sends no mail to check
// one).
func (h *handlers) updateUser(c *gin.Context) {
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
	if !p.User.IsAdmin && p.User.ID != u.ID {
		resources.Fail(c, resources.PermissionDenied())
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	prof := users.Profile{Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name}
	fields := fieldErrors{}
	if f.has("fullname") {
		prof.Name = f["fullname"]
	}
	if f.has("email") && f["email"] != u.Email {
		prof.Email, prof.EmailVerified = f["email"], false
	}
	if f.has("email_verified") {
		v, ok := parseBool(f["email_verified"])
		switch {
		case !ok:
			fields["email_verified"] = []string{"Must be true or false."}
		case !p.User.IsAdmin:
			fields["email_verified"] = []string{"Only an administrator can mark an address verified."}
		default:
			prof.EmailVerified = v
		}
	}
	if len(fields) > 0 {
		resources.Fail(c, resources.InvalidFormData(fields))
		return
	}
	err = h.Users.SetProfile(c.Request.Context(), u.ID, prof)
	if errors.Is(err, users.ErrInvalidProfile) {
		resources.Fail(c, resources.InvalidFormData(fieldErrors{"email": {err.Error()}}))
		return
	}
	if err != nil {
		h.serverError(c, "update user", err)
		return
	}
	if u, err = h.Users.Get(c.Request.Context(), u.ID); err != nil {
		h.serverError(c, "load user", err)
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"user": userJSON(u, true)})
}
