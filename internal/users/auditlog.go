package users

import (
	"context"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
)

// Audit event kinds of users (subject type AuditSubject, subject ID the
// user's numeric ID). Each is appended in the transaction that makes the
// change, with the actor of audit.WithActor (none for the CLI). Data holds
// the username and admin flag on user.created, nothing else: never a password or its
// hash. See docs/web-pages.md, "Admin: users".
const (
	AuditSubject      = "user"
	AuditCreated      = "user.created"
	AuditDeactivated  = "user.deactivated"
	AuditActivated    = "user.activated"
	AuditAdminGranted = "user.admin_granted"
	AuditAdminRevoked = "user.admin_revoked"
	AuditPasswordSet  = "user.password_set"
)

// appendAudit records kind about user id with tx.
func appendAudit(ctx context.Context, tx *sqlx.Tx, kind string, id int64, data any) error {
	e := &audit.Event{Kind: kind, ActorUserID: audit.ActorFrom(ctx), SubjectType: AuditSubject,
		SubjectID: strconv.FormatInt(id, 10)}
	if data != nil {
		e.Data = audit.Data(data)
	}
	return audit.Append(ctx, tx, e)
}

// flagEvent is the audit kind of setting the active or admin flag to on.
func flagEvent(set string, on bool) string {
	switch {
	case set == "is_active" && on:
		return AuditActivated
	case set == "is_active":
		return AuditDeactivated
	case on:
		return AuditAdminGranted
	default:
		return AuditAdminRevoked
	}
}
