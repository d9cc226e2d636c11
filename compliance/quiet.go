package compliance

import (
	"slices"
	"time"
)

// MaxSpreadMinutes bounds Spread: a release is never spread over more
// than a day, whatever the settings hold.
const MaxSpreadMinutes = 24 * 60

// day is a wall-clock day. Quiet hours are read on the customer's wall
// clock, which is what the law speaks of (TCPA, 47 CFR 64.1200(c)(1):
// "before 8 a.m. or after 9 p.m. (local time at the called party's
// location)"; 정보통신망법 §50(3) and 시행령 §61: 21:00-08:00 for
// advertising, unless the recipient separately consented).
const day = 24 * time.Hour

// maxZoneSteps bounds the walk over a zone's offset changes. A real zone
// changes its offset at most a few times in the two days a walk can span;
// the bound only keeps a broken zone from looping.
const maxZoneSteps = 64

// Release returns the earliest moment at or after at when a message of
// this purpose may go to a customer in this country and zone, and whether
// quiet hours held it. A held message is released at the end of the
// window plus Spread(customerID, s.ReleaseSpreadMinutes), so a batch held
// overnight does not leave in one second; the spread never carries it
// into the next window. The window is s.QuietHours[country], else
// s.QuietHours["*"], else there is none. A nil loc is UTC.
//
// A window whose Start or End is not "HH:MM" counts as no window: the
// settings are validated before they are stored (validate.go), so such a
// window never reaches here from the database.
func Release(at time.Time, loc *time.Location, country, purpose string, nightConsent bool, s Settings, customerID int64) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	w, ok := windowFor(country, purpose, nightConsent, s)
	if !ok {
		return at, false
	}
	if !w.contains(at.In(loc)) {
		return at, false
	}
	open := w.next(at.In(loc), false)
	spread := Spread(customerID, s.ReleaseSpreadMinutes)
	if spread > 0 {
		// The open span (End to the next Start) can be shorter than the
		// spread (a window of 23h50m, a long spread); wrapping the
		// spread into it keeps the release lawful and still spread.
		if span := w.next(open, true).Sub(open); span > 0 && spread >= span {
			spread %= span
		}
	}
	return open.Add(spread), true
}

// Spread is a customer's deterministic offset in [0, minutes), in whole
// seconds, roughly uniform over customers: a batch released at the same
// moment (the end of quiet hours, a send hour) leaves over its first
// minutes instead of at once, and a customer always gets the same offset
// so a retried or replayed release computes the same time. minutes <= 0
// is no spread; more than MaxSpreadMinutes counts as MaxSpreadMinutes.
func Spread(customerID int64, minutes int) time.Duration {
	if minutes <= 0 {
		return 0
	}
	minutes = min(minutes, MaxSpreadMinutes)
	seconds := uint64(minutes) * 60
	return time.Duration(mix64(uint64(customerID))%seconds) * time.Second
}

// mix64 is SplitMix64's finaliser: consecutive ids (the usual case) land
// far apart, so the spread is uniform even over a range of new customers.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// ParseClock reads "HH:MM" (00:00-23:59, two digits each) as the offset
// from midnight.
func ParseClock(hhmm string) (time.Duration, bool) {
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	digit := func(c byte) (int, bool) { return int(c - '0'), c >= '0' && c <= '9' }
	h1, ok1 := digit(hhmm[0])
	h2, ok2 := digit(hhmm[1])
	m1, ok3 := digit(hhmm[3])
	m2, ok4 := digit(hhmm[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	h, m := h1*10+h2, m1*10+m2
	if h > 23 || m > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// quietWindow is a parsed window: start and end are offsets from wall-clock
// midnight, start != end.
type quietWindow struct {
	start, end time.Duration
}

// windowFor is the window that applies, if any.
func windowFor(country, purpose string, nightConsent bool, s Settings) (quietWindow, bool) {
	q, ok := s.QuietHours[country]
	if !ok {
		q, ok = s.QuietHours["*"]
	}
	if !ok || !slices.Contains(q.Purposes, purpose) || (q.NightConsent && nightConsent) {
		return quietWindow{}, false
	}
	start, ok1 := ParseClock(q.Start)
	end, ok2 := ParseClock(q.End)
	if !ok1 || !ok2 || start == end {
		return quietWindow{}, false
	}
	return quietWindow{start: start, end: end}, true
}

// wall is t's offset from midnight on its own wall clock.
func wall(t time.Time) time.Duration {
	h, m, s := t.Clock()
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
}

func (w quietWindow) containsWall(c time.Duration) bool {
	if w.start < w.end {
		return c >= w.start && c < w.end
	}
	return c >= w.start || c < w.end // spans midnight
}

func (w quietWindow) contains(t time.Time) bool { return w.containsWall(wall(t)) }

// next is the first instant at or after t (t in the customer's zone) at
// which the window's state becomes inside (or, for inside false, leaves
// it). It walks the zone's constant-offset spans: within one the wall
// clock runs with real time, so the boundary is a subtraction; at an
// offset change the wall clock jumps, and the change itself is the
// boundary when it jumps over one (a window ending at 02:30 on the day New
// York springs from 02:00 to 03:00 ends at 03:00 EDT), or the window is
// entered again when the clock falls back into it.
func (w quietWindow) next(t time.Time, inside bool) time.Time {
	if w.contains(t) == inside {
		return t
	}
	target := w.end
	if inside {
		target = w.start
	}
	for range maxZoneSteps {
		d := (target - wall(t)) % day
		if d <= 0 {
			d += day
		}
		at := t.Add(d)
		_, zoneEnd := t.ZoneBounds()
		if zoneEnd.IsZero() || at.Before(zoneEnd) {
			return at
		}
		t = zoneEnd
		if w.contains(t) == inside {
			return t
		}
	}
	return t
}
