package grants

import (
	"errors"
	"testing"
	"time"
)

func TestPollDevice(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	live := StoredDevice{Found: true, ClientID: "c1", Status: DevicePending, Interval: 5 * time.Second, UserActive: true}
	with := func(f func(*StoredDevice)) StoredDevice { d := live; f(&d); return d }
	req := DevicePoll{ClientID: "c1", Now: now}
	for _, tc := range []struct {
		name     string
		req      DevicePoll
		dev      StoredDevice
		issue    bool
		code     string
		record   bool
		interval time.Duration
	}{
		{"unknown", req, StoredDevice{}, false, CodeInvalidGrant, false, 0},
		{"other client", DevicePoll{ClientID: "c2", Now: now}, live, false, CodeInvalidGrant, false, 0},
		{"first poll pending", req, live, false, CodeAuthorizationPending, true, 5 * time.Second},
		{"pending at the interval", req, with(func(d *StoredDevice) { d.LastPoll = now.Add(-5 * time.Second) }),
			false, CodeAuthorizationPending, true, 5 * time.Second},
		{"pending within the slack", req, with(func(d *StoredDevice) { d.LastPoll = now.Add(-4100 * time.Millisecond) }),
			false, CodeAuthorizationPending, true, 5 * time.Second},
		{"polled too fast", req, with(func(d *StoredDevice) { d.LastPoll = now.Add(-time.Second) }),
			false, CodeSlowDown, true, 10 * time.Second},
		{"too fast after a slow_down", req, with(func(d *StoredDevice) { d.LastPoll, d.Interval = now.Add(-6*time.Second), 10*time.Second }),
			false, CodeSlowDown, true, 15 * time.Second},
		{"denied", req, with(func(d *StoredDevice) { d.Status = DeviceDenied }), false, CodeAccessDenied, false, 0},
		{"denied, polled too fast", req, with(func(d *StoredDevice) { d.Status, d.LastPoll = DeviceDenied, now }), false, CodeAccessDenied, false, 0},
		{"expired", req, with(func(d *StoredDevice) { d.Expired = true }), false, CodeExpiredToken, false, 0},
		{"expired after approval", req, with(func(d *StoredDevice) { d.Expired, d.Status = true, DeviceApproved }), false, CodeExpiredToken, false, 0},
		{"approved", req, with(func(d *StoredDevice) { d.Status = DeviceApproved }), true, "", false, 0},
		{"approved, polled too fast", req, with(func(d *StoredDevice) { d.Status, d.LastPoll = DeviceApproved, now }), true, "", false, 0},
		{"approved, user gone", req, with(func(d *StoredDevice) { d.Status, d.UserActive = DeviceApproved, false }), false, CodeInvalidGrant, false, 0},
		{"redeemed", req, with(func(d *StoredDevice) { d.Status, d.Redeemed = DeviceApproved, true }), false, CodeInvalidGrant, false, 0},
		{"redeemed and expired", req, with(func(d *StoredDevice) { d.Status, d.Redeemed, d.Expired = DeviceApproved, true, true }), false, CodeInvalidGrant, false, 0},
		{"unknown status", req, with(func(d *StoredDevice) { d.Status = "weird" }), false, CodeInvalidGrant, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := PollDevice(tc.req, tc.dev)
			if d.Issue != tc.issue {
				t.Fatalf("Issue = %v, want %v (err %v)", d.Issue, tc.issue, d.Err)
			}
			code := ""
			var r *Refusal
			if errors.As(d.Err, &r) {
				code = r.Code
			}
			if code != tc.code {
				t.Fatalf("refusal = %v, want %q", d.Err, tc.code)
			}
			if d.Record != tc.record || (tc.record && d.Interval != tc.interval) {
				t.Fatalf("record = %v interval %v, want %v %v", d.Record, d.Interval, tc.record, tc.interval)
			}
		})
	}
}
