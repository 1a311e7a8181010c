package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/authgate/authgate/authserver"
	"github.com/authgate/authgate/internal/audit"
	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/tokens"
)

// The audit page of the admin console: the log newest first, filtered by
// kind, subject and actor, a page of adminAuditPage events at a time with
// keyset paging on the ID (?before=<id>), read through the same reader as
// `authgate audit list` (audit.List, via the API token manager). See
// docs/web-pages.md, "Admin: audit log".
const (
	webPathAdminAudit = webPathAdmin + "audit/"
	adminAuditPage    = 50
	// auditFilterMax bounds each filter field; longer values are refused.
	auditFilterMax = 200
)

// auditKinds and auditSubjects are the filter form's suggestions: every
// kind and subject type an emitter of this server writes.
var (
	auditKinds = []string{
		string(tokens.EventCreated), string(tokens.EventUpdated), string(tokens.EventInvalidated), string(tokens.EventExpired),
		string(tokens.EventDeleted), string(tokens.EventUsed),
		authserver.AuditClientCreated, authserver.AuditClientUpdated, authserver.AuditClientSecretRotated,
		authserver.AuditClientDisabled, authserver.AuditClientEnabled, authserver.AuditClientDeleted,
		authserver.AuditCodeReplayed, authserver.AuditRefreshReused, authserver.AuditConsentRevoked, authserver.AuditCredentialReported,
		users.AuditCreated, users.AuditDeactivated, users.AuditActivated, users.AuditAdminGranted, users.AuditAdminRevoked,
		users.AuditPasswordSet,
	}
	auditSubjects = []string{tokens.AuditSubjectType, authserver.AuditSubjectClient, authserver.AuditSubjectGrant,
		authserver.AuditSubjectConsent, users.AuditSubject}
)

func (w *Pages) mountAdminAudit(g gin.IRoutes) {
	g.GET(webPathAdminAudit, w.adminAudit)
}

// auditFilterForm is the filter form as submitted.
type auditFilterForm struct {
	Kind, SubjectType, SubjectID, Actor string
	Field, Message                      string
}

// auditRow is one event as the page shows it.
type auditRow struct {
	audit.Event
	Actor string
	// Details is the event's data as compact JSON, rendered as text.
	Details string
}

func (w *Pages) adminAudit(c *gin.Context) {
	// A visitor comes back to the same filter and page after signing in.
	cur := w.signedInAdmin(c, safeReturnTo(c.Request.URL.RequestURI(), webPathAdminAudit))
	if cur == nil {
		return
	}
	data := adminData(cur, "Audit log", webPathAdminAudit)
	if w.deps.APITokens == nil {
		w.errorPage(c, http.StatusNotFound, "Audit log unavailable", "This server was started without the audit log reader.")
		return
	}
	ctx := c.Request.Context()
	form := auditFilterForm{Kind: strings.TrimSpace(c.Query("kind")), SubjectType: strings.TrimSpace(c.Query("subject_type")),
		SubjectID: strings.TrimSpace(c.Query("subject_id")), Actor: strings.TrimSpace(c.Query("actor"))}
	data["Form"], data["Kinds"], data["Subjects"] = &form, auditKinds, auditSubjects
	fail := func(field, msg string) {
		form.Field, form.Message = field, msg
		w.render(c, http.StatusBadRequest, "admin_audit.html", data)
	}
	for field, v := range map[string]string{"kind": form.Kind, "subject_type": form.SubjectType, "subject_id": form.SubjectID, "actor": form.Actor} {
		if len(v) > auditFilterMax {
			fail(field, "At most "+strconv.Itoa(auditFilterMax)+" characters.")
			return
		}
	}
	f := audit.Filter{Kind: form.Kind, SubjectType: form.SubjectType, SubjectID: form.SubjectID, NewestFirst: true, Limit: adminAuditPage + 1}
	if b := c.Query("before"); b != "" {
		id, err := strconv.ParseInt(b, 10, 64)
		if err != nil || id <= 0 {
			fail("before", "The page link is broken: before must be an event ID.")
			return
		}
		f.BeforeID = id
	}
	if form.Actor != "" {
		id, msg, err := w.actorID(c, form.Actor)
		if err != nil {
			w.internalError(c, "look up actor", err)
			return
		}
		if msg != "" {
			fail("actor", msg)
			return
		}
		f.ActorUserID = id
	}
	evs, err := w.deps.APITokens.AuditEvents(ctx, f)
	if err != nil {
		w.internalError(c, "list audit events", err)
		return
	}
	if len(evs) > adminAuditPage {
		evs = evs[:adminAuditPage]
		next := auditQuery(form)
		next.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		data["Next"] = webPathAdminAudit + "?" + next.Encode()
	}
	if f.BeforeID > 0 {
		data["Newest"] = webPathAdminAudit + "?" + auditQuery(form).Encode()
	}
	rows, err := w.auditRows(c, evs)
	if err != nil {
		w.internalError(c, "name audit actors", err)
		return
	}
	data["Events"], data["Filtered"] = rows, len(auditQuery(form)) > 0
	w.render(c, http.StatusOK, "admin_audit.html", data)
}

// auditQuery is the filter part of a page link.
func auditQuery(f auditFilterForm) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "subject_type": f.SubjectType, "subject_id": f.SubjectID, "actor": f.Actor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// actorID resolves the actor filter: a username, or "#<id>" for a user who
// may no longer exist (the log outlives its users). msg explains a value
// that names nobody.
func (w *Pages) actorID(c *gin.Context, actor string) (id int64, msg string, err error) {
	if rest, ok := strings.CutPrefix(actor, "#"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id <= 0 {
			return 0, `"#" is followed by a user ID, e.g. #12.`, nil
		}
		return id, "", nil
	}
	u, err := w.deps.Users.GetByUsername(c.Request.Context(), actor)
	if errors.Is(err, users.ErrNotFound) {
		return 0, `No user is named "` + actor + `". For a deleted user, give their ID as #<id>.`, nil
	}
	return u.ID, "", err
}

// auditRows names each event's actor (each user read once) and renders its
// data as compact JSON; html/template escapes both.
func (w *Pages) auditRows(c *gin.Context, evs []audit.Event) ([]auditRow, error) {
	names := map[int64]string{}
	rows := make([]auditRow, len(evs))
	for i, e := range evs {
		rows[i] = auditRow{Event: e, Actor: "system"}
		if e.ActorUserID != nil {
			id := *e.ActorUserID
			name, ok := names[id]
			if !ok {
				u, err := w.deps.Users.Get(c.Request.Context(), id)
				switch {
				case errors.Is(err, users.ErrNotFound):
					name = "#" + strconv.FormatInt(id, 10)
				case err != nil:
					return nil, err
				default:
					name = u.Username
				}
				names[id] = name
			}
			rows[i].Actor = name
		}
		var buf bytes.Buffer
		if json.Compact(&buf, e.Data) == nil && buf.String() != "{}" {
			rows[i].Details = buf.String()
		}
	}
	return rows, nil
}
