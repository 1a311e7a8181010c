package mgmtapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
	"github.com/authgate/authgate/tokens/policy"
)

// requiredMsg is Django's message for a missing required field.
const requiredMsg = "This field is required."

// tokenJSON renders an API token with the fields of Review Board's
// api_token resource (docs/api-tokens.md, "Errors and codes"). raw, the
// secret, is only ever passed by
// POST's 201 response.
func (h *handlers) tokenJSON(t *tokens.Token, raw string) gin.H {
	pol := json.RawMessage(t.Policy)
	if len(pol) == 0 {
		pol = json.RawMessage("{}")
	}
	extra := json.RawMessage(t.ExtraData)
	if len(extra) == 0 {
		extra = json.RawMessage("{}")
	}
	out := gin.H{
		"id":                 t.ID,
		"token_prefix":       t.Prefix,
		"token_generator_id": t.GeneratorID,
		"note":               t.Note,
		"policy":             pol,
		"extra_data":         extra,
		"time_added":         timeOrNil(t.TimeAdded),
		"last_updated":       timeOrNil(t.LastUpdated),
		"last_used":          timePtr(t.LastUsed),
		"expires":            timePtr(t.Expires),
		"expired":            t.IsExpired(time.Now()),
		"deprecated":         h.Tokens.IsDeprecated(t),
		"valid":              t.Valid,
		"invalid_date":       timePtr(t.InvalidDate),
		"invalid_reason":     t.InvalidReason,
		"links": gin.H{
			"self":  link(userPath(t.Username) + "api-tokens/" + strconv.FormatInt(t.ID, 10) + "/"),
			"owner": link(userPath(t.Username)),
		},
	}
	if raw != "" {
		out["token"] = raw
	}
	return out
}

// tokenOwner loads the user named in the URL and checks that the caller
// may manage their tokens: the user themself or an admin (Djblets
// is_accessible_by / is_mutable_by / is_deletable_by).
func (h *handlers) tokenOwner(c *gin.Context) (users.User, bool) {
	p := principal(c)
	u, err := h.Users.GetByUsername(c.Request.Context(), c.Param("username"))
	if errors.Is(err, users.ErrNotFound) {
		resources.Fail(c, resources.DoesNotExist())
		return users.User{}, false
	}
	if err != nil {
		h.serverError(c, "load user", err)
		return users.User{}, false
	}
	if p.User.ID == 0 || (p.User.ID != u.ID && !p.User.IsAdmin) {
		resources.Fail(c, resources.PermissionDenied())
		return users.User{}, false
	}
	return u, true
}

// ownedToken loads the token in the URL, which must belong to owner.
func (h *handlers) ownedToken(c *gin.Context, owner users.User) (*tokens.Token, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		resources.Fail(c, resources.DoesNotExist())
		return nil, false
	}
	t, err := h.Tokens.Get(c.Request.Context(), id)
	if errors.Is(err, tokens.ErrNotFound) || err == nil && t.UserID != owner.ID {
		resources.Fail(c, resources.DoesNotExist())
		return nil, false
	}
	if err != nil {
		h.serverError(c, "load api token", err)
		return nil, false
	}
	return t, true
}

// listTokens is GET /api/users/{username}/api-tokens/.
func (h *handlers) listTokens(c *gin.Context) {
	owner, ok := h.tokenOwner(c)
	if !ok {
		return
	}
	list, err := h.Tokens.List(c.Request.Context(), owner.ID)
	if err != nil {
		h.serverError(c, "list api tokens", err)
		return
	}
	out := make([]gin.H, 0, len(list))
	for _, t := range list {
		out = append(out, h.tokenJSON(t, ""))
	}
	resources.OK(c, http.StatusOK, gin.H{"api_tokens": out, "total_results": len(out)})
}

// getToken is GET /api/users/{username}/api-tokens/{id}/.
func (h *handlers) getToken(c *gin.Context) {
	owner, ok := h.tokenOwner(c)
	if !ok {
		return
	}
	if t, ok := h.ownedToken(c, owner); ok {
		resources.OK(c, http.StatusOK, gin.H{"api_token": h.tokenJSON(t, "")})
	}
}

// createToken is POST /api/users/{username}/api-tokens/: note and policy
// (a JSON document) are required, expires (RFC 3339, "" = never) and
// extra_data (a JSON object) optional. The raw token is in this response
// and nowhere else, ever.
func (h *handlers) createToken(c *gin.Context) {
	owner, ok := h.tokenOwner(c)
	if !ok {
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	fields := map[string][]string{}
	for _, k := range []string{"note", "policy"} {
		if !f.has(k) {
			fields[k] = []string{requiredMsg}
		}
	}
	expires, msg := parseExpires(f["expires"])
	if msg != "" {
		fields["expires"] = []string{msg}
	}
	if len(fields) > 0 {
		resources.Fail(c, resources.InvalidFormData(fields))
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), principal(c).User.ID)
	t, raw, err := h.Tokens.Generate(ctx, tokens.GenerateParams{
		User: owner, Note: f["note"], Policy: json.RawMessage(f["policy"]), Expires: expires,
		ExtraData: json.RawMessage(f["extra_data"]),
	})
	if err != nil {
		h.tokenWriteError(c, err)
		return
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "api token created", slog.Int64("token_id", t.ID), slog.Int64("user_id", owner.ID), slog.Int64("actor_id", principal(c).User.ID))
	resources.OK(c, http.StatusCreated, gin.H{"api_token": h.tokenJSON(t, raw)})
}

// tokenWriteError maps a Generate or Update failure to its API error:
// 105 for bad fields (Review Board puts policy errors in fields.policy;
// authgate always uses Djblets' list form), 228 when no unique token could
// be generated.
func (h *handlers) tokenWriteError(c *gin.Context, err error) {
	var ve *policy.ValidationError
	switch {
	case errors.As(err, &ve):
		resources.Fail(c, resources.InvalidFormData(map[string][]string{"policy": {ve.Message}}))
	case errors.Is(err, tokens.ErrCannotRevalidate):
		resources.Fail(c, resources.InvalidFormData(map[string][]string{"valid": {tokens.ErrCannotRevalidate.Error()}}))
	case errors.Is(err, tokens.ErrInvalidExtraData):
		resources.Fail(c, resources.InvalidFormData(map[string][]string{"extra_data": {"extra_data must be a JSON object."}}))
	case errors.Is(err, tokens.ErrTokenGeneration):
		// Review Board returns 228 with the exception text as msg.
		resources.Fail(c, resources.TokenGenerationFailed().WithMessage(tokens.ErrTokenGeneration.Error()))
	case errors.Is(err, tokens.ErrNotFound):
		resources.Fail(c, resources.DoesNotExist())
	default:
		h.serverError(c, "write api token", err)
	}
}

// updateToken is PUT /api/users/{username}/api-tokens/{id}/: note, policy,
// expires, and valid=false with an optional invalid_reason. valid=true is
// refused with Review Board's message. The change is one transaction
// (docs/api-tokens.md, "Errors and codes" notes Review Board's
// invalidate-then-save undoes itself).
func (h *handlers) updateToken(c *gin.Context) {
	owner, ok := h.tokenOwner(c)
	if !ok {
		return
	}
	cur, ok := h.ownedToken(c, owner)
	if !ok {
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	fields := fieldErrors{}
	var expires *time.Time
	if f.has("expires") {
		var msg string
		if expires, msg = parseExpires(f["expires"]); msg != "" {
			fields["expires"] = []string{msg}
		}
	}
	invalidate := false
	if f.has("valid") {
		v, okBool := parseBool(f["valid"])
		switch {
		case !okBool:
			fields["valid"] = []string{"Must be true or false."}
		case v:
			fields["valid"] = []string{tokens.ErrCannotRevalidate.Error()}
		default:
			invalidate = true
		}
	}
	if f.has("invalid_reason") && !invalidate && !fields.has("valid") {
		fields["invalid_reason"] = []string{"invalid_reason can only be set together with valid=false."}
	}
	if len(fields) > 0 {
		resources.Fail(c, resources.InvalidFormData(fields))
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), principal(c).User.ID)
	t, err := h.Tokens.Update(ctx, cur.ID, func(t *tokens.Token) error {
		if f.has("note") {
			t.Note = f["note"]
		}
		if f.has("policy") {
			t.Policy = json.RawMessage(f["policy"])
		}
		if f.has("expires") {
			t.Expires = expires
		}
		// Invalidating an already-invalid token keeps its first date and
		// reason (docs/api-tokens.md, "Deliberate differences").
		if invalidate && t.Valid {
			t.Valid = false
			t.InvalidReason = f["invalid_reason"]
		}
		return nil
	})
	if err != nil {
		h.tokenWriteError(c, err)
		return
	}
	resources.OK(c, http.StatusOK, gin.H{"api_token": h.tokenJSON(t, "")})
}

// deleteToken is DELETE /api/users/{username}/api-tokens/{id}/ (204).
func (h *handlers) deleteToken(c *gin.Context) {
	owner, ok := h.tokenOwner(c)
	if !ok {
		return
	}
	t, ok := h.ownedToken(c, owner)
	if !ok {
		return
	}
	ctx := tokens.WithActor(c.Request.Context(), principal(c).User.ID)
	if err := h.Tokens.Delete(ctx, t.ID); err != nil {
		h.tokenWriteError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
