// Package sessions keeps server-side browser sessions for logged-in users in
// the database, behind the authgate_session cookie, with idle and absolute
// timeouts and a per-session CSRF token.
//
// Only the SHA-256 digest of each 256-bit random session ID is stored; a
// Manager satisfies resources.SessionValidator so the resource middleware can
// authenticate first-party browser requests.
package sessions
