package remote

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkEndpoint refuses an endpoint URL a validator must not call: one
// that is not an absolute http(s) URL, or plain http to a host other than
// a loopback one (localhost, 127.0.0.0/8, ::1) unless allowInsecureHTTP.
// The introspector sends every token it is asked about and its client
// secret to its URL, and keys fetched over plain http can be replaced on
// the way; docs/resource-servers.md, "Plain HTTP".
func checkEndpoint(what, raw string, allowInsecureHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s URL %q is not an absolute http(s) URL", what, raw)
	}
	if u.Scheme == "http" && !allowInsecureHTTP && !loopback(u.Hostname()) {
		return fmt.Errorf("%s URL %q is plain http to a host that is not loopback: use https, or set AllowInsecureHTTP on a network you trust", what, raw)
	}
	return nil
}

// loopback reports whether host names this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
