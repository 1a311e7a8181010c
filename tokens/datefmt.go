package tokens

import (
	"strconv"
	"time"
)

// apMonths are Django's MONTHS_AP, the Associated Press month style of the
// "N" format character.
var apMonths = [...]string{
	"Jan.", "Feb.", "March", "April", "May", "June",
	"July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.",
}

// FormatDjangoDateTime renders t in UTC the way Django's English
// DATETIME_FORMAT "N j, Y, P" does, which is how Djblets writes dates into
// its token messages (docs/api-tokens.md, "Authentication"): AP-style month, unpadded day, 4-digit
// year, then a 12-hour time with "a.m."/"p.m." whose minutes are dropped
// when zero, or "midnight"/"noon". Seconds are ignored, as in Django.
//
//	Aug. 2, 2022, 10:45 a.m.
//	Sept. 30, 2023, 5 p.m.
//	March 1, 2024, midnight
func FormatDjangoDateTime(t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, 32)
	b = append(b, apMonths[t.Month()-1]...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(t.Day()), 10) // j
	b = append(b, ", "...)
	b = appendYear(b, t.Year()) // Y
	b = append(b, ", "...)
	return string(appendDjangoP(b, t.Hour(), t.Minute()))
}

// appendYear writes Django's "Y": the year with at least 4 digits.
func appendYear(b []byte, y int) []byte {
	if y < 0 {
		b = append(b, '-')
		y = -y
	}
	for d := 1000; d > 1 && y < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(y), 10)
}

// appendDjangoP writes Django's "P" (django.utils.dateformat.TimeFormat.P):
// "midnight" for 0:00, "noon" for 12:00, else "f a" where f is the 12-hour
// hour, plus ":MM" only when the minutes are non-zero, and a is "a.m." for
// hours 0–11 and "p.m." for 12–23.
func appendDjangoP(b []byte, hour, minute int) []byte {
	switch {
	case hour == 0 && minute == 0:
		return append(b, "midnight"...)
	case hour == 12 && minute == 0:
		return append(b, "noon"...)
	}
	h12 := hour % 12
	if h12 == 0 {
		h12 = 12
	}
	b = strconv.AppendInt(b, int64(h12), 10)
	if minute != 0 {
		b = append(b, ':')
		if minute < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(minute), 10)
	}
	if hour > 11 {
		return append(b, " p.m."...)
	}
	return append(b, " a.m."...)
}
