package enrol

import (
	"time"

	"github.com/dangol/dangol/compliance"
)

// InHours is the first moment at or after t within the timing's hours in
// loc (t itself for an exact plan). The hours are counted from the
// window's start; a start hour that a switch to daylight saving time skips
// opens the window when the clock jumps past it. Pure: the workflows wait
// for it and the program preview (api) shows it. A moment that waits for
// the window is released at the customer's place in the spread
// (SpreadSeconds), so a sweep's messages do not all leave at once.
func (tm Timing) InHours(t time.Time, loc *time.Location, customerID int64) time.Time {
	if tm.Exact || tm.To <= tm.From {
		return t
	}
	y, m, d := t.In(loc).Date()
	for day := d; day <= d+2; day++ {
		start := LocalHour(loc, y, m, day, tm.From)
		if t.Before(start) {
			return start.Add(compliance.Spread(customerID, tm.SpreadSeconds/60))
		}
		if t.Before(start.Add(time.Duration(tm.To-tm.From) * time.Hour)) {
			return t
		}
	}
	return t // not reached: the next day's window starts after t
}

// LocalHour is the first instant of the hour on the day in loc. time.Date
// may put an hour that does not exist (skipped by a switch to daylight
// saving time) before the gap; then it is the end of the gap.
func LocalHour(loc *time.Location, y int, m time.Month, d, hour int) time.Time {
	t := time.Date(y, m, d, hour, 0, 0, 0, loc)
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	for range 3 {
		ly, lm, ld := t.In(loc).Date()
		if civil := time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC); civil.After(day) || (civil.Equal(day) && t.In(loc).Hour() >= hour) {
			break
		}
		t = t.Add(time.Hour)
	}
	return t
}
