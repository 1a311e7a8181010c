package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/sessions"
	"github.com/authgate/authgate/tokens"
	"github.com/authgate/authgate/tokens/policy"
)

// Review Board's policy presets (see docs/api-tokens.md, "Policy grammar").
const (
	presetFull     = "full"
	presetReadOnly = "readonly"
	presetCustom   = "custom"

	policyFull     = `{}`
	policyReadOnly = `{"resources":{"*":{"allow":["GET","HEAD","OPTIONS"],"block":["*"]}}}`
)

// tokenRow is one API token in the list.
type tokenRow struct {
	*tokens.Token
	// Status is valid, expired or invalid; Deprecated marks a token made
	// by a generator the server no longer issues from.
	Status     string
	Deprecated bool
}

// tokenForm is the create and edit form, as submitted or as stored.
type tokenForm struct {
	ID      int64 // 0 when creating
	Prefix  string
	Note    string
	Expires string // datetime-local value, UTC
	Preset  string
	Policy  string
	// Problems maps a field (note, expires, policy) to its error; Pointer
	// is the JSON pointer of a policy error.
	Problems map[string]string
	Pointer  string
}

func (w *Pages) mountTokens(g gin.IRouter) {
	if w.deps.APITokens == nil {
		return
	}
	g.GET(webPathTokens, w.tokensPage)
	g.GET(webPathTokens+"new", w.tokenNewPage)
	g.POST(webPathTokens+"new", w.tokenCreate)
	g.POST(webPathTokens+"validate-policy", w.tokenValidatePolicy)
	g.GET(webPathTokens+":id/", w.tokenEditPage)
	g.POST(webPathTokens+":id/", w.tokenUpdate)
	g.POST(webPathTokens+":id/invalidate", w.tokenInvalidate)
	g.POST(webPathTokens+":id/delete", w.tokenDelete)
}

func (w *Pages) tokensPage(c *gin.Context) {
	cur := w.signedIn(c, webPathTokens)
	if cur == nil {
		return
	}
	list, err := w.deps.APITokens.List(c.Request.Context(), cur.User.ID)
	if err != nil {
		w.internalError(c, "list API tokens", err)
		return
	}
	now := w.cfg.Now()
	rows := make([]tokenRow, 0, len(list))
	for _, t := range list {
		r := tokenRow{Token: t, Status: "valid", Deprecated: w.deps.APITokens.IsDeprecated(t)}
		switch {
		case !t.Valid:
			r.Status = "invalid"
		case t.IsExpired(now):
			r.Status = "expired"
		}
		rows = append(rows, r)
	}
	w.render(c, http.StatusOK, "tokens.html", map[string]any{
		"Title": "API tokens", "Nav": "tokens", "User": cur.User, "CSRF": cur.CSRFToken(),
		"Tokens": rows, "Notice": c.Query("notice"),
	})
}

func (w *Pages) renderTokenForm(c *gin.Context, status int, cur *sessions.Current, f tokenForm) {
	title := "New API token"
	if f.ID != 0 {
		title = "Edit API token " + f.Prefix + "…"
	}
	w.render(c, status, "token_form.html", map[string]any{
		"Title": title, "Nav": "tokens", "User": cur.User, "CSRF": cur.CSRFToken(), "Form": f, "Script": true,
		"ReadOnlyPolicy": policyReadOnly,
	})
}

func (w *Pages) tokenNewPage(c *gin.Context) {
	cur := w.signedIn(c, webPathTokens+"new")
	if cur == nil {
		return
	}
	w.renderTokenForm(c, http.StatusOK, cur, tokenForm{Preset: presetReadOnly, Policy: indentPolicy(policyReadOnly)})
}

// readTokenForm reads the submitted form; its policy is the preset's, or
// the editor's JSON for Custom. Field problems are set on the result.
func readTokenForm(c *gin.Context) (tokenForm, *time.Time) {
	f := tokenForm{
		Note: c.PostForm("note"), Expires: strings.TrimSpace(c.PostForm("expires")),
		Preset: c.PostForm("preset"), Policy: c.PostForm("policy"), Problems: map[string]string{},
	}
	if len(f.Note) > 4096 {
		f.Problems["note"] = "The note must be at most 4096 characters."
	}
	var expires *time.Time
	if f.Expires != "" {
		t, err := parseExpiry(f.Expires)
		if err != nil {
			f.Problems["expires"] = "Enter a date and time (UTC), such as 2030-01-02T15:04."
		} else {
			expires = &t
		}
	}
	switch f.Preset {
	case presetFull, presetReadOnly, presetCustom:
	default:
		f.Problems["preset"] = "Choose Full access, Read-only or Custom."
	}
	return f, expires
}

// policyJSON is the policy the form asks for.
func (f tokenForm) policyJSON() json.RawMessage {
	switch f.Preset {
	case presetFull:
		return json.RawMessage(policyFull)
	case presetReadOnly:
		return json.RawMessage(policyReadOnly)
	}
	return json.RawMessage(f.Policy)
}

// parseExpiry accepts the datetime-local form (taken as UTC) and RFC 3339.
func parseExpiry(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("bad expiry")
}

// policyProblem puts a validation error from the token manager in place
// on the form; it reports false for any other error.
func (f *tokenForm) policyProblem(err error) bool {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	// A preset never fails validation, so the error is the editor's.
	f.Preset = presetCustom
	f.Problems["policy"] = ve.Message
	f.Pointer = ve.Pointer
	return true
}

// tokenCreate is POST /account/api-tokens/new: it creates the token with
// the token manager (as POST /api/users/{username}/api-tokens/ does) and
// shows the secret once, in this response only.
func (w *Pages) tokenCreate(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	f, expires := readTokenForm(c)
	if len(f.Problems) > 0 {
		w.renderTokenForm(c, http.StatusBadRequest, cur, f)
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), cur.User.ID)
	t, raw, err := w.deps.APITokens.Generate(ctx, tokens.GenerateParams{
		User: cur.User, Note: f.Note, Policy: f.policyJSON(), Expires: expires,
	})
	if err != nil {
		if f.policyProblem(err) {
			w.renderTokenForm(c, http.StatusBadRequest, cur, f)
			return
		}
		w.internalError(c, "create API token", err)
		return
	}
	w.deps.Logger.Info("api token created", "token_id", t.ID, "user_id", cur.User.ID)
	w.render(c, http.StatusCreated, "token_created.html", map[string]any{
		"Title": "API token created", "Nav": "tokens", "User": cur.User, "CSRF": cur.CSRFToken(),
		"Token": t, "Raw": raw, "Script": true,
	})
}

// ownToken loads the token named in the path when the signed-in user owns
// it; otherwise it answers 404 (another user's token is not disclosed).
func (w *Pages) ownToken(c *gin.Context, cur *sessions.Current) *tokens.Token {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	var t *tokens.Token
	if err == nil {
		t, err = w.deps.APITokens.Get(c.Request.Context(), id)
	}
	if err == nil && t.UserID == cur.User.ID {
		return t
	}
	if err != nil && !errors.Is(err, tokens.ErrNotFound) && !errors.Is(err, strconv.ErrSyntax) && !errors.Is(err, strconv.ErrRange) {
		w.internalError(c, "load API token", err)
		return nil
	}
	w.errorPage(c, http.StatusNotFound, "Token not found", "You have no API token with this ID.")
	return nil
}

func (w *Pages) tokenEditPage(c *gin.Context) {
	cur := w.signedIn(c, c.Request.URL.Path)
	if cur == nil {
		return
	}
	t := w.ownToken(c, cur)
	if t == nil {
		return
	}
	f := tokenForm{ID: t.ID, Prefix: t.Prefix, Note: t.Note, Preset: presetCustom, Policy: indentPolicy(string(t.Policy))}
	if t.Expires != nil {
		f.Expires = t.Expires.UTC().Format("2006-01-02T15:04")
	}
	switch compactPolicy(string(t.Policy)) {
	case policyFull:
		f.Preset = presetFull
	case compactPolicy(policyReadOnly):
		f.Preset = presetReadOnly
	}
	w.renderTokenForm(c, http.StatusOK, cur, f)
}

// tokenUpdate is POST /account/api-tokens/{id}/: note, expiry and policy,
// written with the token manager's Update (as the API's PUT does).
func (w *Pages) tokenUpdate(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	t := w.ownToken(c, cur)
	if t == nil {
		return
	}
	f, expires := readTokenForm(c)
	f.ID, f.Prefix = t.ID, t.Prefix
	if len(f.Problems) > 0 {
		w.renderTokenForm(c, http.StatusBadRequest, cur, f)
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), cur.User.ID)
	_, err := w.deps.APITokens.Update(ctx, t.ID, func(t *tokens.Token) error {
		t.Note, t.Policy, t.Expires = f.Note, f.policyJSON(), expires
		return nil
	})
	if err != nil {
		if f.policyProblem(err) {
			w.renderTokenForm(c, http.StatusBadRequest, cur, f)
			return
		}
		w.internalError(c, "update API token", err)
		return
	}
	seeOther(c, webPathTokens+"?notice=updated")
}

// tokenInvalidate is POST /account/api-tokens/{id}/invalidate: the token
// stops working at once and for good; the reason is kept with it.
func (w *Pages) tokenInvalidate(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	t := w.ownToken(c, cur)
	if t == nil {
		return
	}
	reason := strings.TrimSpace(c.PostForm("reason"))
	if len(reason) > 4096 {
		reason = reason[:4096]
	}
	ctx := tokens.WithActor(c.Request.Context(), cur.User.ID)
	if _, err := w.deps.APITokens.Update(ctx, t.ID, func(t *tokens.Token) error {
		if t.Valid { // invalidating twice keeps the first date and reason
			t.Valid, t.InvalidReason = false, reason
		}
		return nil
	}); err != nil {
		w.internalError(c, "invalidate API token", err)
		return
	}
	seeOther(c, webPathTokens+"?notice=invalidated")
}

// tokenDelete is POST /account/api-tokens/{id}/delete.
func (w *Pages) tokenDelete(c *gin.Context) {
	cur := w.signedInForm(c, "The form expired or did not come from this site.")
	if cur == nil {
		return
	}
	t := w.ownToken(c, cur)
	if t == nil {
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), cur.User.ID)
	if err := w.deps.APITokens.Delete(ctx, t.ID); err != nil && !errors.Is(err, tokens.ErrNotFound) {
		w.internalError(c, "delete API token", err)
		return
	}
	seeOther(c, webPathTokens+"?notice=deleted")
}

// tokenValidatePolicy is POST /account/api-tokens/validate-policy, the
// policy editor's live check: the token manager's ValidatePolicy, the very
// check Generate and Update run, answered as JSON
// {"valid":…,"message":…,"pointer":…,"warnings":[…]}. It needs the session
// and its CSRF token (header or field) like every other POST here.
func (w *Pages) tokenValidatePolicy(c *gin.Context) {
	cur, err := w.currentSession(c)
	if err != nil {
		w.deps.Logger.Error("load session", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
		return
	}
	if cur == nil {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "Sign in first."})
		return
	}
	tok := c.GetHeader(sessions.CSRFHeader)
	if tok == "" {
		tok = c.PostForm(sessions.CSRFField)
	}
	if crossSite(c.Request) || !sessions.ValidCSRF(cur.CSRFToken(), tok) {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "The request did not come from this site."})
		return
	}
	_, warnings, err := w.deps.APITokens.ValidatePolicy(json.RawMessage(c.PostForm("policy")))
	var ve *policy.ValidationError
	switch {
	case errors.As(err, &ve):
		c.JSON(http.StatusOK, gin.H{"valid": false, "message": ve.Message, "pointer": ve.Pointer})
	case err != nil:
		w.deps.Logger.Error("validate policy", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	default:
		ws := make([]string, 0, len(warnings))
		for _, x := range warnings {
			ws = append(ws, x.String())
		}
		c.JSON(http.StatusOK, gin.H{"valid": true, "warnings": ws})
	}
}

func compactPolicy(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

func indentPolicy(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}
