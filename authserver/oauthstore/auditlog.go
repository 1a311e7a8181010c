package oauthstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/authgate/authgate/internal/audit"
)

// Audit-log kinds the authorization server records (docs/architecture.md, "Operations": an
// append-only audit log of token and client events). Each is appended in
// the transaction that makes the change it records, with the actor of
// audit.WithActor (the admin on /api/oauth-apps/, the user on the account
// page; none from the CLI or for a detected attack). Data never holds a
// secret, a secret's digest or a token.
const (
	// AuditClientCreated: a client was registered. Data: name, public,
	// owner_id, redirect_uris, grant_types, scopes.
	AuditClientCreated = "client.created"
	// AuditClientUpdated: name, redirect URIs, grant types or scopes were
	// written. Data: name, changed (field names), from and to (the changed
	// fields' old and new values).
	AuditClientUpdated = "client.updated"
	// AuditClientSecretRotated: a confidential client got a new secret.
	// Data: name, changed ["secret"].
	AuditClientSecretRotated = "client.secret_rotated"
	// AuditClientDisabled and AuditClientEnabled: the client's state
	// changed (disabling a disabled client records nothing). Data: name,
	// changed ["disabled"].
	AuditClientDisabled = "client.disabled"
	AuditClientEnabled  = "client.enabled"
	// AuditClientDeleted: the client was deleted. Data: name.
	AuditClientDeleted = "client.deleted"
	// AuditCodeReplayed: a redeemed authorization code was presented again
	// and its grant revoked (RFC 6749 §4.1.2). Data: client_id,
	// presented_by, grant_id, user_id, tokens_revoked.
	AuditCodeReplayed = "oauth.code_replayed"
	// AuditRefreshReused: a rotated-out refresh token was presented and its
	// family revoked (RFC 9700 §4.14.2). Data: client_id, grant_id,
	// user_id, tokens_revoked.
	AuditRefreshReused = "oauth.refresh_reused"
	// AuditConsentRevoked: a user withdrew an application's access; its
	// tokens for the user were revoked. Data: user_id, client_id,
	// tokens_revoked.
	AuditConsentRevoked = "consent.revoked"
	// AuditCredentialReported: an OAuth access or refresh token was reported
	// as leaked (POST /api/credentials/revoke) and its whole grant revoked.
	// Data: client_id, grant_id, user_id, tokens_revoked. The actor is none:
	// the reporter is anonymous.
	AuditCredentialReported = "oauth.credential_reported"
)

// Audit-log subject types of the events above. A client's subject ID is its
// client_id, a grant's its grant ID, a consent's "<user_id>:<client_id>".
const (
	AuditSubjectClient  = "oauth_client"
	AuditSubjectGrant   = "oauth_grant"
	AuditSubjectConsent = "oauth_consent"
)

// clientAuditData is the data of a client.* event; the secret and its
// digest have no field here on purpose.
type clientAuditData struct {
	Name   string `json:"name"`
	Public *bool  `json:"public,omitempty"`
	// ResourceServer is recorded at creation when set.
	ResourceServer bool           `json:"resource_server,omitempty"`
	OwnerID        int64          `json:"owner_id,omitempty"`
	RedirectURIs   []string       `json:"redirect_uris,omitempty"`
	GrantTypes     []string       `json:"grant_types,omitempty"`
	Scopes         []string       `json:"scopes,omitempty"`
	Changed        []string       `json:"changed,omitempty"`
	From           map[string]any `json:"from,omitempty"`
	To             map[string]any `json:"to,omitempty"`
}

// appendClientEvent records kind for clientID inside tx.
func appendClientEvent(ctx context.Context, tx sqlx.ExtContext, kind, clientID string, d clientAuditData) error {
	return audit.Append(ctx, tx, &audit.Event{
		Kind: kind, ActorUserID: audit.ActorFrom(ctx), SubjectType: AuditSubjectClient, SubjectID: clientID,
		Data: audit.Data(d),
	})
}

// createdAuditData describes a new client.
func createdAuditData(sp ClientSpec) clientAuditData {
	public := sp.Public
	return clientAuditData{
		Name: sp.Name, Public: &public, ResourceServer: sp.ResourceServer, OwnerID: sp.OwnerID,
		RedirectURIs: nonNil(sp.RedirectURIs), GrantTypes: nonNil(sp.GrantTypes), Scopes: nonNil(sp.Scopes),
	}
}

// updatedAuditData lists what an update changed from old to sp.
func updatedAuditData(old *Client, sp ClientSpec) clientAuditData {
	d := clientAuditData{Name: sp.Name, From: map[string]any{}, To: map[string]any{}}
	diff := func(field string, from, to any, same bool) {
		if !same {
			d.Changed = append(d.Changed, field)
			d.From[field], d.To[field] = from, to
		}
	}
	diff("name", old.Name, sp.Name, old.Name == sp.Name)
	diff("resource_server", old.ResourceServer, sp.ResourceServer, old.ResourceServer == sp.ResourceServer)
	diff("redirect_uris", nonNil(old.RedirectURIs), nonNil(sp.RedirectURIs), slices.Equal(old.RedirectURIs, sp.RedirectURIs))
	diff("grant_types", nonNil(old.GrantTypes), nonNil(sp.GrantTypes), slices.Equal(old.GrantTypes, sp.GrantTypes))
	diff("scopes", nonNil(old.Scopes), nonNil(sp.Scopes), slices.Equal(old.Scopes, sp.Scopes))
	if len(d.Changed) == 0 {
		d.From, d.To = nil, nil
	}
	return d
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// grantAuditData is the data of an oauth.* security event.
type grantAuditData struct {
	ClientID      string `json:"client_id"`
	PresentedBy   string `json:"presented_by,omitempty"`
	GrantID       string `json:"grant_id"`
	UserID        *int64 `json:"user_id,omitempty"`
	TokensRevoked int    `json:"tokens_revoked"`
}

// appendGrantEvent records a replay or reuse that revoked row's grant.
func appendGrantEvent(ctx context.Context, tx sqlx.ExtContext, kind string, row *TokenRow, presentedBy string, revoked int) error {
	d := grantAuditData{ClientID: row.ClientID, GrantID: row.GrantID, TokensRevoked: revoked}
	if presentedBy != row.ClientID {
		d.PresentedBy = presentedBy
	}
	if row.UserID.Valid {
		id := row.UserID.Int64
		d.UserID = &id
	}
	return audit.Append(ctx, tx, &audit.Event{
		Kind: kind, SubjectType: AuditSubjectGrant, SubjectID: row.GrantID, Data: audit.Data(d),
	})
}

// appendConsentRevoked records that userID withdrew clientID's access.
func appendConsentRevoked(ctx context.Context, tx sqlx.ExtContext, userID int64, clientID string, revoked int) error {
	return audit.Append(ctx, tx, &audit.Event{
		Kind: AuditConsentRevoked, ActorUserID: audit.ActorFrom(ctx), SubjectType: AuditSubjectConsent,
		SubjectID: strconv.FormatInt(userID, 10) + ":" + clientID,
		Data:      audit.Data(map[string]any{"user_id": userID, "client_id": clientID, "tokens_revoked": revoked}),
	})
}
