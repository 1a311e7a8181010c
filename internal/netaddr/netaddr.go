// Package netaddr keys rate limits by client address. It has no I/O, so the
// public resources packages may use it as well as the authorization server.
package netaddr

import "net/netip"

// Key is the key a per-address limit counts a client IP under: the IP for
// IPv4, its /64 prefix for IPv6, since one host or customer usually holds a
// whole /64 and could otherwise spread its attempts over 2^64 addresses.
// Anything that does not parse is its own key.
func Key(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}
