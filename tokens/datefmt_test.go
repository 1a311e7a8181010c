package tokens

import (
	"testing"
	"time"
)

func TestFormatDjangoDateTime(t *testing.T) {
	d := func(y int, mo time.Month, day, h, mi, s int) time.Time {
		return time.Date(y, mo, day, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		// docs/api-tokens.md, "Authentication" examples.
		{"spec example", d(2022, 8, 2, 10, 45, 0), "Aug. 2, 2022, 10:45 a.m."},
		// AP months.
		{"Jan.", d(2023, 1, 5, 9, 5, 0), "Jan. 5, 2023, 9:05 a.m."},
		{"Feb.", d(2023, 2, 28, 13, 0, 0), "Feb. 28, 2023, 1 p.m."},
		{"March", d(2024, 3, 1, 0, 0, 0), "March 1, 2024, midnight"},
		{"April", d(2024, 4, 10, 12, 0, 0), "April 10, 2024, noon"},
		{"May", d(2024, 5, 31, 12, 30, 0), "May 31, 2024, 12:30 p.m."},
		{"June", d(2024, 6, 9, 0, 30, 0), "June 9, 2024, 12:30 a.m."},
		{"July", d(2024, 7, 4, 23, 59, 59), "July 4, 2024, 11:59 p.m."},
		{"Sept.", d(2023, 9, 30, 17, 0, 0), "Sept. 30, 2023, 5 p.m."},
		{"Oct.", d(2023, 10, 1, 1, 0, 0), "Oct. 1, 2023, 1 a.m."},
		{"Nov.", d(2023, 11, 11, 11, 11, 0), "Nov. 11, 2023, 11:11 a.m."},
		{"Dec.", d(2023, 12, 25, 11, 0, 0), "Dec. 25, 2023, 11 a.m."},
		// Seconds are ignored, including for midnight and noon.
		{"midnight with seconds", d(2024, 3, 1, 0, 0, 42), "March 1, 2024, midnight"},
		{"noon with seconds", d(2024, 3, 1, 12, 0, 1), "March 1, 2024, noon"},
		{"one minute past noon", d(2024, 3, 1, 12, 1, 0), "March 1, 2024, 12:01 p.m."},
		// Y pads to 4 digits.
		{"year 999", d(999, 1, 1, 0, 0, 0), "Jan. 1, 0999, midnight"},
		// Rendered in UTC, whatever the input zone.
		{"converted to UTC", time.Date(2022, 8, 2, 12, 45, 0, 0, time.FixedZone("CEST", 2*3600)), "Aug. 2, 2022, 10:45 a.m."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatDjangoDateTime(tc.in); got != tc.want {
				t.Errorf("FormatDjangoDateTime(%v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestDjbletsMessagesDoublePeriod pins the full client messages of
// docs/api-tokens.md, "Authentication",
// including the double period that the format's "a.m." plus the sentence's
// period produce.
func TestDjbletsMessagesDoublePeriod(t *testing.T) {
	at := time.Date(2022, 8, 2, 10, 45, 0, 0, time.UTC)
	tests := []struct {
		name, got, want string
	}{
		{"invalid", invalidMessage(at, ""), "This API token became invalid on Aug. 2, 2022, 10:45 a.m.."},
		{"invalid with reason", invalidMessage(at, "Revoked."), "This API token became invalid on Aug. 2, 2022, 10:45 a.m.: Revoked."},
		{"expired", expiredMessage(at), "This API token expired on Aug. 2, 2022, 10:45 a.m.."},
		{"expired at noon", expiredMessage(at.Add(75 * time.Minute)), "This API token expired on Aug. 2, 2022, noon."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}
