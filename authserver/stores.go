package authserver

import "github.com/authgate/authgate/authserver/oauthstore"

// The authorization server's tables are owned by authserver/oauthstore;
// these names keep the server's call sites and its importers stable.
type (
	// Client is a registered OAuth2 client (oauthstore.Client).
	Client = oauthstore.Client
	// ClientSpec is what a client is created or updated from.
	ClientSpec = oauthstore.ClientSpec
	// ClientStore is the storage contract for OAuth2 clients.
	ClientStore = oauthstore.ClientStore
	// SQLClientStore implements ClientStore on internal/db.
	SQLClientStore = oauthstore.SQLClientStore
	// TokenStore stores codes and tokens (digests only).
	TokenStore = oauthstore.TokenStore
	// Consent is what a user approved for a client.
	Consent = oauthstore.Consent
	// ConsentStore remembers consents per (user, client).
	ConsentStore = oauthstore.ConsentStore
	// SQLConsentStore implements ConsentStore on internal/db.
	SQLConsentStore = oauthstore.SQLConsentStore
	// SQLReplayStore is the dpop_jtis replay store.
	SQLReplayStore = oauthstore.SQLReplayStore

	tokenRow = oauthstore.TokenRow
)

// Constructors of the stores.
var (
	NewSQLClientStore  = oauthstore.NewSQLClientStore
	NewTokenStore      = oauthstore.NewTokenStore
	NewSQLConsentStore = oauthstore.NewSQLConsentStore
	NewSQLReplayStore  = oauthstore.NewSQLReplayStore
	// ValidateRedirectURI checks a redirect URI for registration.
	ValidateRedirectURI = oauthstore.ValidateRedirectURI
)

// Client and consent errors, compared with errors.Is.
var (
	ErrClientNotFound        = oauthstore.ErrClientNotFound
	ErrInvalidClientMetadata = oauthstore.ErrInvalidClientMetadata
	ErrConsentNotFound       = oauthstore.ErrConsentNotFound
)

// Grant types a client may be allowed.
const (
	GrantAuthorizationCode = oauthstore.GrantAuthorizationCode
	GrantRefreshToken      = oauthstore.GrantRefreshToken
	GrantClientCredentials = oauthstore.GrantClientCredentials
)

// SupportedGrantTypes lists every grant the token endpoint serves.
var SupportedGrantTypes = oauthstore.SupportedGrantTypes

// Audit-log kinds and subject types the authorization server records; the
// stores append them in the transaction of the change
// (authserver/oauthstore/auditlog.go).
const (
	AuditClientCreated       = oauthstore.AuditClientCreated
	AuditClientUpdated       = oauthstore.AuditClientUpdated
	AuditClientSecretRotated = oauthstore.AuditClientSecretRotated
	AuditClientDisabled      = oauthstore.AuditClientDisabled
	AuditClientEnabled       = oauthstore.AuditClientEnabled
	AuditClientDeleted       = oauthstore.AuditClientDeleted
	AuditCodeReplayed        = oauthstore.AuditCodeReplayed
	AuditRefreshReused       = oauthstore.AuditRefreshReused
	AuditConsentRevoked      = oauthstore.AuditConsentRevoked
	AuditCredentialReported  = oauthstore.AuditCredentialReported
	AuditSubjectClient       = oauthstore.AuditSubjectClient
	AuditSubjectGrant        = oauthstore.AuditSubjectGrant
	AuditSubjectConsent      = oauthstore.AuditSubjectConsent
)

// Kinds of oauth_tokens rows and the extension keys of a grant.
const (
	kindCode          = oauthstore.KindCode
	kindAccess        = oauthstore.KindAccess
	kindRefresh       = oauthstore.KindRefresh
	extGrantID        = oauthstore.ExtGrantID
	extGrantCreatedAt = oauthstore.ExtGrantCreatedAt
)
