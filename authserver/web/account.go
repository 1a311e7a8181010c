package web

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
)

// homePage is /: signed out, a short page saying what this server is;
// signed in, the account page.
func (w *Pages) homePage(c *gin.Context) {
	cur, err := w.currentSession(c)
	if err != nil {
		w.internalError(c, "load session", err)
		return
	}
	if cur == nil {
		w.render(c, http.StatusOK, "home.html", map[string]any{"Title": "Welcome", "Issuer": w.cfg.Issuer})
		return
	}
	w.renderAccount(c, http.StatusOK, cur, nil)
}

// accountPage is /account/: the profile and the change-password form.
func (w *Pages) accountPage(c *gin.Context) {
	cur := w.signedIn(c, webPathAccount)
	if cur == nil {
		return
	}
	w.renderAccount(c, http.StatusOK, cur, nil)
}

// passwordProblem is the change-password form's error, shown in place.
type passwordProblem struct {
	Field, Message string
}

func (w *Pages) renderAccount(c *gin.Context, status int, cur *sessions.Current, problem *passwordProblem) {
	w.renderAccountWith(c, status, cur, problem, nil)
}

// renderAccountWith renders the account page; profile is the profile form
// as submitted when it is shown again with an error (nil: the stored one).
func (w *Pages) renderAccountWith(c *gin.Context, status int, cur *sessions.Current, problem *passwordProblem, profile *profileForm) {
	if profile == nil {
		profile = &profileForm{Name: cur.User.Name, Email: cur.User.Email}
	}
	w.render(c, status, "account.html", map[string]any{
		"Title": "Your account", "Nav": "account", "User": cur.User, "CSRF": cur.CSRFToken(),
		"Problem": problem, "Profile": profile, "Notice": c.Query("notice"), "MinPassword": users.MinPasswordLength,
		"TokensEnabled": w.deps.APITokens != nil,
	})
}

// changePassword is POST /account/password: the current password is
// required (a stolen session alone cannot take the account over), the new
// one is hashed by the user store (argon2id) like every other password, and
// every other session of the user ends. Wrong current passwords count
// against the sign-in limiter, per user.
func (w *Pages) changePassword(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	current, next, confirm := c.PostForm("current_password"), c.PostForm("new_password"), c.PostForm("confirm_password")
	switch {
	case current == "":
		w.renderAccount(c, http.StatusBadRequest, cur, &passwordProblem{"current_password", "Enter your current password."})
		return
	case len(next) < users.MinPasswordLength:
		w.renderAccount(c, http.StatusBadRequest, cur, &passwordProblem{"new_password", users.ErrWeakPassword.Error() + "."})
		return
	case next != confirm:
		w.renderAccount(c, http.StatusBadRequest, cur, &passwordProblem{"confirm_password", "The two new passwords do not match."})
		return
	}
	ok, wait, refund := w.limiter.Take("password\x00" + strconv.FormatInt(cur.User.ID, 10))
	if !ok {
		c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		w.renderAccount(c, http.StatusTooManyRequests, cur, &passwordProblem{"current_password", "Too many attempts. Try again later."})
		return
	}
	// The user is the actor of their own user.password_set audit event.
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	_, err := w.deps.Users.Authenticate(ctx, cur.User.Username, current)
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		w.renderAccount(c, http.StatusBadRequest, cur, &passwordProblem{"current_password", "Your current password was not correct."})
		return
	case errors.Is(err, users.ErrBusy):
		refund()
		w.renderAccount(c, http.StatusServiceUnavailable, cur, &passwordProblem{"current_password", "The server is busy. Please try again in a moment."})
		return
	case err != nil:
		w.internalError(c, "check password", err)
		return
	}
	refund()
	if err := w.deps.Users.SetPassword(ctx, cur.User.ID, next); err != nil {
		if errors.Is(err, users.ErrWeakPassword) {
			w.renderAccount(c, http.StatusBadRequest, cur, &passwordProblem{"new_password", err.Error() + "."})
			return
		}
		w.internalError(c, "set password", err)
		return
	}
	// Every other session ends: whoever else held one (perhaps the reason
	// for the change) is out. This browser gets a fresh session.
	if _, err := w.deps.Sessions.EndUser(ctx, cur.User.ID); err != nil {
		w.internalError(c, "end sessions", err)
		return
	}
	if _, err := w.deps.Sessions.Start(ctx, c.Writer, c.Request, cur.User); err != nil {
		w.internalError(c, "start session", err)
		return
	}
	w.deps.Logger.Info("user changed password", "user_id", cur.User.ID)
	seeOther(c, webPathAccount+"?notice=password")
}
