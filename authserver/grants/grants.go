// Package grants holds the rules of the token endpoint's grants as pure
// functions: given what the client sent and the stored code or refresh
// token, decide whether to issue, refuse, consume or revoke the family. It
// does no I/O, so every rule has a table test without a database; the token
// store (authserver/oauthstore) applies a decision inside the transaction
// that read the row. See docs/architecture.md, "Grants and the token store".
package grants

import "github.com/authgate/authgate/scopes"

// RFC 6749 §5.2 and RFC 9449 §12.2 error codes a decision refuses with.
const (
	CodeInvalidRequest   = "invalid_request"
	CodeInvalidGrant     = "invalid_grant"
	CodeInvalidScope     = "invalid_scope"
	CodeInvalidDPoPProof = "invalid_dpop_proof"
)

// Refusal is a client-facing refusal: an RFC 6749 §5.2 error code and a
// short description that never holds a secret.
type Refusal struct {
	Code        string
	Description string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Description }

func refuse(code, desc string) *Refusal { return &Refusal{Code: code, Description: desc} }

// ErrGrantInvalid is the one answer to a code or refresh token that is
// unknown, used, revoked, expired, issued to another client or whose user
// is gone: the client learns nothing about which.
var ErrGrantInvalid = refuse(CodeInvalidGrant,
	"the authorization grant or refresh token is invalid, expired or revoked, or was issued to another client")

// Action is what the store does with the row.
type Action int

// Actions of a Decision.
const (
	// Refuse answers Err and issues nothing.
	Refuse Action = iota
	// Issue issues new tokens from the row.
	Issue
	// RevokeFamily revokes every token of the row's grant and answers Err:
	// a used code or rotated-out refresh token came back (RFC 6749 §4.1.2,
	// RFC 9700 §4.14.2), and the server cannot tell the attacker from the
	// client.
	RevokeFamily
)

// Decision is the outcome of a grant's rules.
type Decision struct {
	Action Action
	// Consume marks the code or refresh token used, whatever the action.
	Consume bool
	// Err is the client-facing failure of Refuse and RevokeFamily.
	Err error
	// Scope is the access token's scope of an Issue on refresh.
	Scope scopes.Set
}

func refused(err error, consume bool) Decision {
	return Decision{Action: Refuse, Err: err, Consume: consume}
}

// Stored is the state of a stored code or refresh token as read, locked,
// in the transaction that will apply the decision.
type Stored struct {
	Found    bool
	ClientID string
	Consumed bool
	Revoked  bool
	Expired  bool
	// UserActive: the row's user exists and is active (true without a
	// user).
	UserActive bool
}
