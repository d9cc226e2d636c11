package programs

import (
	"testing"
	"time"
)

func TestOffsetBeforeClampsMonthEnds(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	at := func(y int, m time.Month, d, h, min, s int) time.Time { return time.Date(y, m, d, h, min, s, 0, seoul) }
	cases := []struct {
		from   time.Time
		offset string
		want   time.Time
	}{
		{at(2027, 3, 31, 10, 0, 0), "1mo", at(2027, 2, 28, 10, 0, 0)},
		{at(2028, 3, 31, 10, 0, 0), "1mo", at(2028, 2, 29, 10, 0, 0)},
		{at(2027, 7, 31, 10, 0, 0), "3mo", at(2027, 4, 30, 10, 0, 0)},
		{at(2029, 2, 28, 10, 0, 0), "1y", at(2028, 2, 28, 10, 0, 0)},
		{at(2028, 2, 29, 10, 0, 0), "1y", at(2027, 2, 28, 10, 0, 0)},
		{at(2028, 1, 3, 23, 0, 0), "3d", at(2027, 12, 31, 23, 0, 0)},
		{at(2027, 3, 1, 10, 0, 0), "30s", at(2027, 3, 1, 9, 59, 30)},
		// A coupon valid to the end of Jan 31: the 7-day reminder goes at
		// the same second of Jan 24.
		{at(2027, 1, 31, 23, 59, 59), "7d", at(2027, 1, 24, 23, 59, 59)},
		// Months, then days, then exact time: Mar 31 - 1mo = Feb 28, - 1d =
		// Feb 27, - 1h.
		{at(2027, 3, 31, 10, 0, 0), "1mo1d1h", at(2027, 2, 27, 9, 0, 0)},
		{at(2027, 3, 31, 10, 0, 0), "0s", at(2027, 3, 31, 10, 0, 0)},
	}
	for _, c := range cases {
		got := MustOffset(c.offset).Before(c.from, seoul)
		if !got.Equal(c.want) {
			t.Errorf("%s - %s = %s, want %s", c.from, c.offset, got, c.want)
		}
	}
}

func TestOffsetBeforeUsesCustomerZone(t *testing.T) {
	// 00:30 on Mar 1 in Seoul is still Feb 28 in UTC; a month earlier in
	// Seoul's calendar is Feb 1 00:30 KST, not Jan 28.
	seoul, _ := time.LoadLocation("Asia/Seoul")
	from := time.Date(2027, 2, 28, 15, 30, 0, 0, time.UTC)
	got := MustOffset("1mo").Before(from, seoul)
	if want := time.Date(2027, 2, 1, 0, 30, 0, 0, seoul); !got.Equal(want) {
		t.Errorf("Seoul: got %s, want %s", got, want)
	}
	got = MustOffset("1mo").Before(from, time.UTC)
	if want := time.Date(2027, 1, 28, 15, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("UTC: got %s, want %s", got, want)
	}
}

func TestOffsetBeforeKeepsWallClockAcrossDST(t *testing.T) {
	// New York springs forward on Mar 14, 2027: a week before Mar 20 10:00
	// EDT is Mar 13 10:00 EST, 6 days 23 hours earlier.
	ny, _ := time.LoadLocation("America/New_York")
	from := time.Date(2027, 3, 20, 10, 0, 0, 0, ny)
	got := MustOffset("7d").Before(from, ny)
	if want := time.Date(2027, 3, 13, 10, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if d := from.Sub(got); d != 7*24*time.Hour-time.Hour {
		t.Errorf("elapsed %s, want 167h", d)
	}
}
