package mgmtapi

// The typed bodies of GET /api/session/ and of a user. encoding/json
// writes a struct's fields in declaration order from a cached encoder; a
// map costs a sort of its keys and an allocation per entry on every
// response (docs/performance.md, "What bounds the read paths"). The fields
// are declared in alphabetical order of their JSON names, so the bytes are
// those the map form wrote; a pointer field is present (possibly null) when
// set and absent when nil.

import (
	"encoding/json"
	"time"

	"github.com/authgate/authgate/internal/users"
	"github.com/authgate/authgate/resources"
)

// sessionBody is the envelope of an authenticated caller's session
// ({"session": …, "stat": "ok"}, as resources.OK writes it).
type sessionBody struct {
	Session session `json:"session"`
	Stat    string  `json:"stat"`
}

// anonymousSessionBody is the envelope for a caller with no credentials.
type anonymousSessionBody struct {
	Session anonymousSession `json:"session"`
	Stat    string           `json:"stat"`
}

type anonymousSession struct {
	Authenticated bool         `json:"authenticated"`
	Links         sessionLinks `json:"links"`
}

// session is who an authenticated caller is and how they authenticated.
type session struct {
	AuthMethod    string           `json:"auth_method"`
	Authenticated bool             `json:"authenticated"`
	ClientID      *string          `json:"client_id,omitempty"`
	CSRFHeader    *string          `json:"csrf_header,omitempty"`
	CSRFToken     *string          `json:"csrf_token,omitempty"`
	Expires       *string          `json:"expires,omitempty"`
	Links         sessionLinks     `json:"links"`
	Policy        *json.RawMessage `json:"policy,omitempty"`
	Scopes        *[]string        `json:"scopes,omitempty"`
	Token         *sessionToken    `json:"token,omitempty"`
	TokenID       *string          `json:"token_id,omitempty"`
	User          *userView        `json:"user"`
}

type sessionLinks struct {
	Self linkView  `json:"self"`
	User *linkView `json:"user,omitempty"`
}

// sessionToken describes the API token a caller used.
type sessionToken struct {
	Deprecated  bool    `json:"deprecated"`
	Expires     *string `json:"expires"`
	ID          int64   `json:"id"`
	Note        string  `json:"note"`
	TokenPrefix string  `json:"token_prefix"`
}

// userView is a user as the API shows it; Email, EmailVerified and
// Fullname only to the user themself or an admin.
type userView struct {
	CreatedAt     *string   `json:"created_at"`
	Email         *string   `json:"email,omitempty"`
	EmailVerified *bool     `json:"email_verified,omitempty"`
	Fullname      *string   `json:"fullname,omitempty"`
	ID            int64     `json:"id"`
	IsActive      bool      `json:"is_active"`
	IsAdmin       bool      `json:"is_admin"`
	Links         userLinks `json:"links"`
	Username      string    `json:"username"`
}

type userLinks struct {
	APITokens linkView `json:"api_tokens"`
	Self      linkView `json:"self"`
}

// sessionOf describes the authenticated caller p, acting for u (nil: for
// no one, e.g. a client_credentials token); csrf is a session's CSRF
// token ("" for other methods).
func sessionOf(p *resources.Principal, u *users.User, csrf string) session {
	s := session{
		AuthMethod:    string(p.Method),
		Authenticated: true,
		Links:         sessionLinks{Self: link(PathSession)},
	}
	if u != nil {
		v := userJSON(*u, true)
		s.User = &v
		l := link(userPath(p.User.Username))
		s.Links.User = &l
	}
	switch p.Method {
	case resources.MethodSession:
		if csrf != "" {
			header := resources.CSRFHeader
			s.CSRFToken, s.CSRFHeader = &csrf, &header
		}
	case resources.MethodAPIToken:
		s.TokenID = &p.TokenID
		s.Policy = &p.APIToken.Policy
		s.Token = &sessionToken{
			ID: p.APIToken.ID, TokenPrefix: p.APIToken.Prefix, Note: p.APIToken.Note,
			Expires: timePtr(p.APIToken.Expires), Deprecated: p.APIToken.Deprecated,
		}
	case resources.MethodOAuth2:
		s.TokenID, s.ClientID = &p.TokenID, &p.ClientID
		items := p.Scopes.Items()
		s.Scopes = &items
		if p.Bearer != nil && !p.Bearer.ExpiresAt.IsZero() {
			exp := p.Bearer.ExpiresAt.UTC().Format(time.RFC3339)
			s.Expires = &exp
		}
	}
	return s
}
