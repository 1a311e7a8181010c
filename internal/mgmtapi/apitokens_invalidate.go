package mgmtapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/resources"
	"github.com/authgate/authgate/tokens"
)

// PathAPITokensInvalidate is the admins' bulk invalidation endpoint.
const PathAPITokensInvalidate = "/api/api-tokens/invalidate/"

// invalidateTokens is POST /api/api-tokens/invalidate/ (admins, by
// password or session only: the api_token resource takes no tokens):
// Djblets' invalidate_tokens(users, extra_query) with authgate's filters,
// the same as `authgate token invalidate --all`. Fields: users (comma
// separated usernames; absent = all users), note_contains, generator,
// created_before, created_after (RFC 3339, exclusive), only_unexpired,
// reason (required unless dry_run) and dry_run, which answers what would
// be invalidated and changes nothing. The answer lists the tokens.
func (h *handlers) invalidateTokens(c *gin.Context) {
	p := principal(c)
	if !p.User.IsAdmin {
		resources.Fail(c, resources.PermissionDenied())
		return
	}
	f, e := readForm(c)
	if e != nil {
		resources.Fail(c, e)
		return
	}
	fields := fieldErrors{}
	scope := tokens.InvalidateScope{NoteContains: f["note_contains"], GeneratorID: f["generator"]}
	boolField := func(k string) bool {
		if !f.has(k) {
			return false
		}
		v, ok := parseBool(f[k])
		if !ok {
			fields[k] = []string{"Must be true or false."}
		}
		return v
	}
	scope.OnlyUnexpired = boolField("only_unexpired")
	dryRun := boolField("dry_run")
	timeField := func(k string) *time.Time {
		if f[k] == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, f[k])
		if err != nil {
			fields[k] = []string{"Enter a valid date/time in RFC 3339 format, such as 2030-01-02T15:04:05Z."}
			return nil
		}
		t = t.UTC()
		return &t
	}
	scope.CreatedBefore, scope.CreatedAfter = timeField("created_before"), timeField("created_after")
	if scope.GeneratorID != "" && h.Tokens.Registry().Get(scope.GeneratorID) == nil {
		fields["generator"] = []string{"Unknown token generator. Use one of: " + strings.Join(h.Tokens.Registry().IDs(), ", ") + "."}
	}
	reason := strings.TrimSpace(f["reason"])
	if reason == "" && !dryRun {
		fields["reason"] = []string{requiredMsg}
	}
	ctx := tokens.WithActor(c.Request.Context(), p.User.ID)
	if f.has("users") {
		for _, name := range strings.Split(f["users"], ",") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			u, err := h.Users.GetByUsername(ctx, name)
			if err != nil {
				fields["users"] = append(fields["users"], "No user named "+name+".")
				continue
			}
			scope.UserIDs = append(scope.UserIDs, u.ID)
		}
		if len(scope.UserIDs) == 0 && !fields.has("users") {
			// An empty list is never "everyone" (Djblets' users=[] is).
			fields["users"] = []string{"List at least one username, or leave the field out for all users."}
		}
	}
	if len(fields) > 0 {
		resources.Fail(c, resources.InvalidFormData(fields))
		return
	}
	scope.All = !f.has("users")
	var toks []*tokens.Token
	var err error
	if dryRun {
		toks, err = h.Tokens.PreviewInvalidate(ctx, scope)
	} else {
		toks, err = h.Tokens.InvalidateMatching(ctx, scope, reason)
	}
	if err != nil {
		h.serverError(c, "invalidate api tokens", err)
		return
	}
	out := make([]gin.H, 0, len(toks))
	for _, t := range toks {
		out = append(out, h.tokenJSON(t, ""))
	}
	resources.OK(c, http.StatusOK, gin.H{"dry_run": dryRun, "total_results": len(out), "api_tokens": out})
}
