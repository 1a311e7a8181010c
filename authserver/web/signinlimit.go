package web

import (
	"strings"
	"time"

	"github.com/authgate/authgate/internal/netaddr"
)

// TakeSignInAttempt reserves a sign-in attempt for a client address and
// username from the login form's limits (per address and username, and
// per address whatever the username), for other password checks that must
// not be a side door around them: HTTP Basic on the API. ip is a client
// IP or an IPv6 /64 prefix. When ok, refund gives the attempts back and is
// to be called unless the password was wrong; otherwise wait says when to
// retry.
func (w *Pages) TakeSignInAttempt(ip, username string) (ok bool, wait time.Duration, refund func()) {
	ip = netaddr.Key(ip)
	ok, wait, refundUser := w.limiter.Take(ip + "\x00" + strings.ToLower(username))
	if !ok {
		return false, wait, nil
	}
	ok, wait, refundIP := w.ipLimiter.Take(ip)
	if !ok {
		refundUser()
		return false, wait, nil
	}
	return true, 0, func() { refundUser(); refundIP() }
}
