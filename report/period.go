package report

import (
	"fmt"
	"time"

	"github.com/dangol/dangol/compliance"
)

// PeriodBefore is the last whole period of the given kind
// (compliance.ReportQuarterly, ReportMonthly, ReportWeekly) that ended at
// or before t, in loc: [from, to), from midnight on the first day of a
// calendar quarter, month or week (Monday) to the same in the next. A
// day that a clock change makes 23 or 25 hours long stays one day.
func PeriodBefore(every string, loc *time.Location, t time.Time) (from, to time.Time, err error) {
	t = t.In(loc)
	y, m, d := t.Date()
	switch every {
	case compliance.ReportQuarterly, "":
		q := time.Month((int(m)-1)/3*3 + 1)
		return time.Date(y, q-3, 1, 0, 0, 0, 0, loc), time.Date(y, q, 1, 0, 0, 0, 0, loc), nil
	case compliance.ReportMonthly:
		return time.Date(y, m-1, 1, 0, 0, 0, 0, loc), time.Date(y, m, 1, 0, 0, 0, 0, loc), nil
	case compliance.ReportWeekly:
		monday := d - (int(t.Weekday())+6)%7
		return time.Date(y, m, monday-7, 0, 0, 0, 0, loc), time.Date(y, m, monday, 0, 0, 0, 0, loc), nil
	}
	return from, to, fmt.Errorf("report period %q: want quarterly, monthly or weekly", every)
}
