package oauthstore

import "github.com/authgate/authgate/authserver/redirecturi"

// MatchRedirectURI reports whether requested may receive a client's
// authorization response, given its registered redirect URIs: exact string
// equality, or the RFC 8252 §7.3 loopback-port exception. It is
// redirecturi.Match, the one matcher.
func MatchRedirectURI(registered []string, requested string) bool {
	return redirecturi.Match(registered, requested)
}
