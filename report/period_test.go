package report

import (
	"testing"
	"time"
)

func TestPeriodBefore(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	ny, _ := time.LoadLocation("America/New_York")
	at := func(loc *time.Location, y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 0, 0, 0, loc)
	}
	for _, tc := range []struct {
		every    string
		loc      *time.Location
		t        time.Time
		from, to time.Time
	}{
		// The schedule's own instants: 06:00 on the first day.
		{"quarterly", seoul, at(seoul, 2027, 4, 1, 6), at(seoul, 2027, 1, 1, 0), at(seoul, 2027, 4, 1, 0)},
		{"quarterly", seoul, at(seoul, 2027, 1, 1, 6), at(seoul, 2026, 10, 1, 0), at(seoul, 2027, 1, 1, 0)},
		{"", seoul, at(seoul, 2027, 12, 31, 23), at(seoul, 2027, 7, 1, 0), at(seoul, 2027, 10, 1, 0)},
		// Midnight itself belongs to the new period: the one before ends there.
		{"quarterly", seoul, at(seoul, 2027, 7, 1, 0), at(seoul, 2027, 4, 1, 0), at(seoul, 2027, 7, 1, 0)},
		// The zone decides: 2027-03-31 20:00 UTC is already April 1st in Seoul.
		{"quarterly", seoul, time.Date(2027, 3, 31, 20, 0, 0, 0, time.UTC), at(seoul, 2027, 1, 1, 0), at(seoul, 2027, 4, 1, 0)},
		{"monthly", seoul, at(seoul, 2027, 3, 1, 6), at(seoul, 2027, 2, 1, 0), at(seoul, 2027, 3, 1, 0)},
		{"monthly", seoul, at(seoul, 2027, 1, 1, 6), at(seoul, 2026, 12, 1, 0), at(seoul, 2027, 1, 1, 0)},
		// 2027-03-08 is a Monday.
		{"weekly", seoul, at(seoul, 2027, 3, 8, 6), at(seoul, 2027, 3, 1, 0), at(seoul, 2027, 3, 8, 0)},
		{"weekly", seoul, at(seoul, 2027, 3, 14, 23), at(seoul, 2027, 3, 1, 0), at(seoul, 2027, 3, 8, 0)},
		{"weekly", seoul, at(seoul, 2027, 1, 3, 6), at(seoul, 2026, 12, 21, 0), at(seoul, 2026, 12, 28, 0)},
		// A week across the US clock change (2027-03-14) is 167 hours.
		{"weekly", ny, at(ny, 2027, 3, 15, 6), at(ny, 2027, 3, 8, 0), at(ny, 2027, 3, 15, 0)},
	} {
		from, to, err := PeriodBefore(tc.every, tc.loc, tc.t)
		if err != nil || !from.Equal(tc.from) || !to.Equal(tc.to) {
			t.Errorf("%s at %s: [%s, %s) %v, want [%s, %s)", tc.every, tc.t, from, to, err, tc.from, tc.to)
		}
	}
	if _, _, err := PeriodBefore("yearly", seoul, time.Now()); err == nil {
		t.Error("yearly accepted")
	}
}
