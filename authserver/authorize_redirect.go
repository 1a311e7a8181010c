package authserver

import "github.com/authgate/authgate/authserver/redirecturi"

// MatchRedirectURI reports whether requested may receive a client's
// authorization response, given its registered redirect URIs. It is the one
// matcher of the authorization endpoint, the go-oauth2 manager and the
// token endpoint's client checks, so they cannot disagree.
//
// RFC 9700 §2.1 / §4.1.3: redirect URIs are compared by exact string
// equality — no prefix, suffix, host or case-insensitive matching, no
// normalisation. The single exception is RFC 8252 §7.3: for a registered
// loopback IP literal redirect URI (http://127.0.0.1/... or http://[::1]/...)
// any port 1–65535 is accepted, because native apps listen on an ephemeral
// port. "localhost" is not an IP literal and gets no exception (RFC 8252
// §8.3 recommends against it). See docs/faults-and-fuzzing.md, "Redirect
// URIs".
func MatchRedirectURI(registered []string, requested string) bool {
	return redirecturi.Match(registered, requested)
}
