// Package redirecturi is the one redirect-URI matcher of authgate: the
// authorization endpoint, the go-oauth2 manager, the token endpoint's client
// checks and the client store all call Match, so they cannot disagree. It
// does no I/O. See docs/faults-and-fuzzing.md, "Redirect URIs".
package redirecturi

import (
	"net/url"
	"strconv"
	"strings"
)

// Match reports whether requested may receive a client's
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
func Match(registered []string, requested string) bool {
	if requested == "" {
		return false
	}
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	reqKey, ok := loopbackKey(requested)
	if !ok {
		return false
	}
	for _, r := range registered {
		if regKey, ok := loopbackKey(r); ok && regKey == reqKey {
			return true
		}
	}
	return false
}

// loopbackKey returns a loopback IP redirect URI without its port, or false
// when s is not one. s must be in canonical form — exactly
// http://HOST[:PORT]PATH[?QUERY] with HOST the literal 127.0.0.1 or [::1] —
// so that nothing the parser tolerates (userinfo, fragments, percent-encoded
// hosts, odd ports) can smuggle a different meaning past the comparison.
func loopbackKey(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Opaque != "" || u.Fragment != "" ||
		strings.Contains(s, "#") || u.RawPath != "" {
		return "", false
	}
	// Exactly the two loopback literals: 127.0.0.2, ::ffff:127.0.0.1 or a
	// long form of ::1 are loopback too, but no native app registers them,
	// and one spelling each leaves nothing to canonicalise.
	host := u.Hostname()
	if host != "127.0.0.1" && host != "::1" {
		return "", false
	}
	bracketed := host
	if strings.Contains(host, ":") {
		bracketed = "[" + host + "]"
	}
	port := u.Port()
	if port != "" && !validPort(port) {
		return "", false
	}
	key := "http://" + bracketed + u.Path
	if u.RawQuery != "" || u.ForceQuery {
		key += "?" + u.RawQuery
	}
	// Rebuild the input from its parts; any difference means the string was
	// not canonical and we refuse rather than guess.
	rebuilt := "http://" + bracketed
	if port != "" {
		rebuilt += ":" + port
	}
	rebuilt += strings.TrimPrefix(key, "http://"+bracketed)
	if rebuilt != s {
		return "", false
	}
	return key, true
}

// validPort reports whether p is a TCP port number in canonical decimal:
// 1–65535, no sign, no leading zero (RFC 6335 §6; port 0 means "any" to a
// listener and is no address a browser can be sent to).
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' || strings.TrimLeft(p, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
