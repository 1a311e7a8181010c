package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/internal/users"
)

// The users page of the admin console. Every write goes through the user
// store (users.Store) that `authgate user` and /api/users/ use, so password
// length, argon2id hashing and the user.* audit events are the same; see
// docs/web-pages.md, "Admin: users".
const (
	webPathAdminUsers = webPathAdmin + "users/"
	// adminUsersPage is how many users one page of the list shows.
	adminUsersPage = 50
	// generatedPasswordBytes of randomness make a generated password: 144
	// bits, 24 characters of base64url.
	generatedPasswordBytes = 18
)

func (w *Pages) mountAdminUsers(g gin.IRoutes) {
	g.GET(webPathAdminUsers, w.adminUsers)
	g.POST(webPathAdminUsers, w.adminCreateUser)
	g.POST(webPathAdminUsers+":id/active", w.adminSetActive)
	g.POST(webPathAdminUsers+":id/admin", w.adminSetAdmin)
	g.POST(webPathAdminUsers+":id/password", w.adminResetPassword)
}

// newUserForm is the create form as submitted, with its problem.
type newUserForm struct {
	Username, Name, Email string
	Admin, Generate       bool
	Field, Message        string
}

// userProblem is a refused action on one user, shown above the list.
type userProblem struct {
	UserID  int64
	Message string
}

func (w *Pages) adminUsers(c *gin.Context) {
	cur := w.signedInAdmin(c, webPathAdminUsers)
	if cur == nil {
		return
	}
	w.renderAdminUsers(c, http.StatusOK, cur, nil, nil)
}

// renderAdminUsers renders the list (the page of ?page=N) with the create
// form; form is the create form shown again with its error, problem a
// refused action.
func (w *Pages) renderAdminUsers(c *gin.Context, status int, cur *sessions.Current, form *newUserForm, problem *userProblem) {
	all, err := w.deps.Users.List(c.Request.Context())
	if err != nil {
		w.internalError(c, "list users", err)
		return
	}
	pages := max(1, (len(all)+adminUsersPage-1)/adminUsersPage)
	page, err := strconv.Atoi(c.DefaultQuery("page", "1"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, pages)
	shown := all[(page-1)*adminUsersPage : min(len(all), page*adminUsersPage)]
	if form == nil {
		form = &newUserForm{Generate: true}
	}
	data := adminData(cur, "Users", webPathAdminUsers)
	data["Users"], data["Total"], data["Page"], data["Pages"] = shown, len(all), page, pages
	data["Form"], data["Problem"], data["MinPassword"] = form, problem, users.MinPasswordLength
	data["Notice"], data["NoticeUser"] = c.Query("notice"), c.Query("user")
	if page > 1 {
		data["PrevPage"] = page - 1
	}
	if page < pages {
		data["NextPage"] = page + 1
	}
	w.render(c, status, "admin_users.html", data)
}

// generatePassword returns a random password to show once.
func generatePassword() (string, error) {
	b := make([]byte, generatedPasswordBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newPassword reads the password fields of a form: a generated password
// when generate is set, else password and its confirmation, which must
// match and be long enough. field names the field a problem is about.
func newPassword(c *gin.Context) (password string, generated bool, field, problem string, err error) {
	if c.PostForm("generate") != "" {
		p, err := generatePassword()
		return p, true, "", "", err
	}
	p, confirm := c.PostForm("password"), c.PostForm("confirm_password")
	switch {
	case len(p) < users.MinPasswordLength:
		return "", false, "password", users.ErrWeakPassword.Error() + ", or choose a generated one.", nil
	case p != confirm:
		return "", false, "confirm_password", "The two passwords do not match.", nil
	}
	return p, false, "", "", nil
}

// adminCreateUser is POST /admin/users/: create a user with a password
// typed twice or generated (then shown once).
func (w *Pages) adminCreateUser(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	f := &newUserForm{Username: strings.TrimSpace(c.PostForm("username")), Name: c.PostForm("name"),
		Email: c.PostForm("email"), Admin: c.PostForm("admin") != "", Generate: c.PostForm("generate") != ""}
	fail := func(status int, field, msg string) {
		f.Field, f.Message = field, msg
		w.renderAdminUsers(c, status, cur, f, nil)
	}
	if !users.ValidUsername(f.Username) {
		fail(http.StatusBadRequest, "username", "A username is 1 to 150 letters, digits and . _ @ + -.")
		return
	}
	password, generated, field, problem, err := newPassword(c)
	if err != nil {
		w.internalError(c, "generate password", err)
		return
	}
	if problem != "" {
		fail(http.StatusBadRequest, field, problem)
		return
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	u, err := w.deps.Users.Create(ctx, users.NewUser{Username: f.Username, Name: f.Name, Email: f.Email,
		Password: password, IsAdmin: f.Admin})
	switch {
	case errors.Is(err, users.ErrAlreadyExists):
		fail(http.StatusConflict, "username", `The username "`+f.Username+`" is taken.`)
		return
	case errors.Is(err, users.ErrInvalidProfile):
		fail(http.StatusBadRequest, "email", err.Error()+".")
		return
	case errors.Is(err, users.ErrWeakPassword):
		fail(http.StatusBadRequest, "password", err.Error()+".")
		return
	case errors.Is(err, users.ErrBusy):
		fail(http.StatusServiceUnavailable, "password", "The server is busy. Please try again in a moment.")
		return
	case err != nil:
		w.internalError(c, "create user", err)
		return
	}
	w.deps.Logger.Info("admin created user", "user_id", u.ID, "admin_id", cur.User.ID, "is_admin", u.IsAdmin)
	if generated {
		w.renderPasswordOnce(c, http.StatusCreated, cur, u, password, "User created")
		return
	}
	seeOther(c, webPathAdminUsers+"?notice=created&user="+u.Username)
}

// renderPasswordOnce shows a generated password, this once: the server
// keeps only its argon2id hash.
func (w *Pages) renderPasswordOnce(c *gin.Context, status int, cur *sessions.Current, u users.User, password, title string) {
	data := adminData(cur, title, webPathAdminUsers)
	data["Target"], data["Password"], data["Script"] = u, password, true
	w.render(c, status, "admin_user_password.html", data)
}

// targetUser loads the user named by the path's id for an admin action; it
// answers 404 for an unknown one and returns ok=false.
func (w *Pages) targetUser(c *gin.Context) (users.User, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		w.errorPage(c, http.StatusNotFound, "No such user", "There is no user with that ID.")
		return users.User{}, false
	}
	u, err := w.deps.Users.Get(c.Request.Context(), id)
	if errors.Is(err, users.ErrNotFound) {
		w.errorPage(c, http.StatusNotFound, "No such user", "There is no user with that ID.")
		return users.User{}, false
	}
	if err != nil {
		w.internalError(c, "load user", err)
		return users.User{}, false
	}
	return u, true
}

// formFlag reads a "true"/"false" form field.
func formFlag(c *gin.Context, name string) (on, ok bool) {
	switch c.PostForm(name) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// adminSetActive is POST /admin/users/{id}/active (active=true|false).
// Deactivation is users.Store.SetActive, as `authgate user deactivate`:
// the user's sessions are refused (and deleted) at their next request,
// their API tokens and OAuth access tokens stop authenticating. An admin
// cannot deactivate themselves: the console would lock them out mid-task,
// and a server must keep an admin who can sign in.
func (w *Pages) adminSetActive(c *gin.Context) {
	w.adminFlag(c, "active", w.deps.Users.SetActive)
}

// adminSetAdmin is POST /admin/users/{id}/admin (admin=true|false). An
// admin cannot remove their own flag, for the same reason.
func (w *Pages) adminSetAdmin(c *gin.Context) {
	w.adminFlag(c, "admin", w.deps.Users.SetAdmin)
}

// adminFlag is the common half of the active and admin toggles: guard,
// target, the self-demotion refusal, the change (set, with the admin as the
// audit actor), 303 back to the list.
func (w *Pages) adminFlag(c *gin.Context, field string, set func(ctx context.Context, id int64, on bool) error) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	u, ok := w.targetUser(c)
	if !ok {
		return
	}
	on, ok := formFlag(c, field)
	if !ok {
		w.renderAdminUsers(c, http.StatusBadRequest, cur, nil, &userProblem{u.ID, `The form's "` + field + `" field must be true or false.`})
		return
	}
	if u.ID == cur.User.ID && !on {
		msg := "You cannot deactivate yourself. Ask another administrator."
		if field == "admin" {
			msg = "You cannot remove your own administrator flag. Ask another administrator."
		}
		w.renderAdminUsers(c, http.StatusConflict, cur, nil, &userProblem{u.ID, msg})
		return
	}
	if err := set(audit.WithActor(c.Request.Context(), cur.User.ID), u.ID, on); err != nil {
		if errors.Is(err, users.ErrNotFound) {
			w.errorPage(c, http.StatusNotFound, "No such user", "There is no user with that ID.")
			return
		}
		w.internalError(c, "set user "+field, err)
		return
	}
	w.deps.Logger.Info("admin changed user flag", "user_id", u.ID, "admin_id", cur.User.ID, "flag", field, "value", on)
	notice := map[string]map[bool]string{"active": {true: "activated", false: "deactivated"},
		"admin": {true: "admin-granted", false: "admin-removed"}}[field][on]
	seeOther(c, webPathAdminUsers+"?notice="+notice+"&user="+url.QueryEscape(u.Username))
}

// adminResetPassword is POST /admin/users/{id}/password: set another
// user's password (typed twice, or generated and shown once). Every session
// of the user ends, as when they change it themselves: a reset usually
// follows a suspicion that someone else knows the old one.
func (w *Pages) adminResetPassword(c *gin.Context) {
	cur := w.signedInAdminForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	u, ok := w.targetUser(c)
	if !ok {
		return
	}
	if u.ID == cur.User.ID {
		// The account page asks for the current password first, so that a
		// session alone (a borrowed browser) cannot take the account over.
		w.renderAdminUsers(c, http.StatusConflict, cur, nil, &userProblem{u.ID,
			"Change your own password on your account page, which asks for your current one."})
		return
	}
	password, generated, _, problem, err := newPassword(c)
	if err != nil {
		w.internalError(c, "generate password", err)
		return
	}
	if problem != "" {
		w.renderAdminUsers(c, http.StatusBadRequest, cur, nil, &userProblem{u.ID, u.Username + ": " + problem})
		return
	}
	ctx := audit.WithActor(c.Request.Context(), cur.User.ID)
	if err := w.deps.Users.SetPassword(ctx, u.ID, password); err != nil {
		switch {
		case errors.Is(err, users.ErrWeakPassword):
			w.renderAdminUsers(c, http.StatusBadRequest, cur, nil, &userProblem{u.ID, u.Username + ": " + err.Error() + "."})
		case errors.Is(err, users.ErrBusy):
			w.renderAdminUsers(c, http.StatusServiceUnavailable, cur, nil, &userProblem{u.ID, "The server is busy. Please try again in a moment."})
		default:
			w.internalError(c, "set password", err)
		}
		return
	}
	if _, err := w.deps.Sessions.EndUser(ctx, u.ID); err != nil {
		w.internalError(c, "end sessions", err)
		return
	}
	w.deps.Logger.Info("admin reset password", "user_id", u.ID, "admin_id", cur.User.ID)
	if generated {
		w.renderPasswordOnce(c, http.StatusOK, cur, u, password, "Password reset")
		return
	}
	seeOther(c, webPathAdminUsers+"?notice=password&user="+u.Username)
}
