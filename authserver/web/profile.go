package web

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
)

// changeProfile is POST /account/profile: the signed-in user sets their
// display name and email address, the OpenID Connect name and email
// claims (docs/openid-connect.md, "Claims"). It writes through the user
// store's SetProfile, as PUT /api/users/{username}/ does, with the same
// rule: a new address is unverified until an administrator marks it
// verified; an unchanged one keeps its flag.
func (w *Pages) changeProfile(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	u := cur.User
	prof := users.Profile{Email: u.Email, EmailVerified: u.EmailVerified, Name: c.PostForm("name")}
	if email := c.PostForm("email"); email != u.Email {
		prof.Email, prof.EmailVerified = email, false
	}
	err := w.deps.Users.SetProfile(c.Request.Context(), u.ID, prof)
	if errors.Is(err, users.ErrInvalidProfile) {
		w.renderAccountWith(c, http.StatusBadRequest, cur, nil, &profileForm{
			Name: prof.Name, Email: prof.Email, Message: err.Error() + "."})
		return
	}
	if err != nil {
		w.internalError(c, "set profile", err)
		return
	}
	w.deps.Logger.Info("user changed profile", "user_id", u.ID)
	seeOther(c, webPathAccount+"?notice=profile")
}

// profileForm is the profile form as submitted, re-shown with its error.
type profileForm struct {
	Name, Email, Message string
}
