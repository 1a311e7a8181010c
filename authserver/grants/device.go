package grants

import "time"

// RFC 8628 §3.5 error codes of the device_code grant.
const (
	CodeAuthorizationPending = "authorization_pending"
	CodeSlowDown             = "slow_down"
	CodeAccessDenied         = "access_denied"
	CodeExpiredToken         = "expired_token"
)

// SlowDownStep is what RFC 8628 §3.5 adds to the polling interval with
// every slow_down.
const SlowDownStep = 5 * time.Second

// DeviceStatus is where the user's decision on a device code stands.
type DeviceStatus string

// Device code statuses, as stored.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// StoredDevice is a stored device code as read, locked, in the transaction
// that applies the decision.
type StoredDevice struct {
	Found    bool
	ClientID string
	Status   DeviceStatus
	Redeemed bool
	Expired  bool
	// LastPoll is the previous poll's time (zero: none yet); Interval the
	// minimum time between polls the client was told.
	LastPoll time.Time
	Interval time.Duration
	// UserActive: the approving user exists and is active.
	UserActive bool
}

// DevicePoll is what a device_code token request brings.
type DevicePoll struct {
	ClientID string
	Now      time.Time
}

// DeviceDecision is the outcome of a poll.
type DeviceDecision struct {
	// Issue: issue tokens for the approved grant and mark the code
	// redeemed. Otherwise Err is the refusal.
	Issue bool
	Err   error
	// Record: store Now as the last poll and Interval as the interval.
	Record   bool
	Interval time.Duration
}

// pollSlack is how much sooner than the interval a poll may arrive without
// being told to slow down: clients time their polls from when they sent
// the previous one, the server sees when it arrived, and network jitter
// lies between (docs/device-flow.md, "Polling").
func pollSlack(interval time.Duration) time.Duration { return interval / 5 }

// PollDevice decides a device_code token request (RFC 8628 §3.4, §3.5):
//
//   - an unknown code, another client's code or one already redeemed is
//     invalid_grant: a device code is redeemed once, and the client learns
//     nothing about which;
//   - an expired code is expired_token;
//   - a denied code is access_denied;
//   - a pending code polled sooner than its interval is slow_down, and its
//     interval grows by 5 seconds; otherwise authorization_pending; both
//     record the poll;
//   - an approved code whose user is no longer active is invalid_grant;
//   - an approved code issues tokens, once.
func PollDevice(req DevicePoll, d StoredDevice) DeviceDecision {
	switch {
	case !d.Found, d.ClientID != req.ClientID, d.Redeemed:
		return DeviceDecision{Err: ErrGrantInvalid}
	case d.Expired:
		return DeviceDecision{Err: refuse(CodeExpiredToken, "the device code has expired; start again")}
	case d.Status == DeviceDenied:
		return DeviceDecision{Err: refuse(CodeAccessDenied, "the user denied the authorization request")}
	case d.Status == DevicePending:
		if !d.LastPoll.IsZero() && req.Now.Sub(d.LastPoll) < d.Interval-pollSlack(d.Interval) {
			return DeviceDecision{
				Err:    refuse(CodeSlowDown, "polling too fast: wait the interval, now 5 seconds longer"),
				Record: true, Interval: d.Interval + SlowDownStep,
			}
		}
		return DeviceDecision{
			Err:    refuse(CodeAuthorizationPending, "the user has not yet approved the request"),
			Record: true, Interval: d.Interval,
		}
	case d.Status != DeviceApproved, !d.UserActive:
		return DeviceDecision{Err: ErrGrantInvalid}
	}
	return DeviceDecision{Issue: true}
}
