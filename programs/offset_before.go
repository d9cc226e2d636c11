package programs

import "time"

// Before returns the instant the offset lands on before t, counting
// calendar units in loc: months first, clamped to the month's last day
// (a month before Mar 31 is the last day of February), then days, then
// Exact. It mirrors After, so "remind 7 days before the coupon expires"
// lands on the same local wall-clock time a week earlier, across a change
// of daylight saving time.
func (o Offset) Before(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	if o.Months != 0 {
		lt = AddMonths(lt, -o.Months)
	}
	if o.Days != 0 {
		lt = lt.AddDate(0, 0, -o.Days)
	}
	return lt.Add(-o.Exact)
}
