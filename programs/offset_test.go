package programs

import (
	"testing"
	"time"
)

func TestParseOffset(t *testing.T) {
	cases := map[string]Offset{
		"3d":     {Days: 3},
		"1mo":    {Months: 1},
		"1y":     {Months: 12},
		"2w":     {Days: 14},
		"45s":    {Exact: 45 * time.Second},
		"1mo15d": {Months: 1, Days: 15},
		"1h30m":  {Exact: 90 * time.Minute},
	}
	for in, want := range cases {
		got, err := ParseOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if back, _ := ParseOffset(got.String()); back != want {
			t.Errorf("round trip of %q via %q = %+v", in, got.String(), back)
		}
	}
	for _, bad := range []string{"", "3", "d3", "1 month", "3x", "-1d"} {
		if _, err := ParseOffset(bad); err == nil {
			t.Errorf("ParseOffset(%q) accepted", bad)
		}
	}
}

func TestOffsetAfterClampsMonthEnds(t *testing.T) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, seoul) }
	cases := []struct {
		from   time.Time
		offset string
		want   time.Time
	}{
		{at(2027, 1, 31, 10), "1mo", at(2027, 2, 28, 10)},
		{at(2028, 1, 31, 10), "1mo", at(2028, 2, 29, 10)},
		{at(2027, 1, 31, 10), "3mo", at(2027, 4, 30, 10)},
		{at(2028, 2, 29, 10), "1y", at(2029, 2, 28, 10)},
		{at(2027, 12, 31, 23), "3d", at(2028, 1, 3, 23)},
		{at(2027, 3, 1, 10), "30s", at(2027, 3, 1, 10).Add(30 * time.Second)},
	}
	for _, c := range cases {
		got := MustOffset(c.offset).After(c.from, seoul)
		if !got.Equal(c.want) {
			t.Errorf("%s + %s = %s, want %s", c.from, c.offset, got, c.want)
		}
	}
}

func TestOffsetAfterUsesCustomerZone(t *testing.T) {
	// 23:30 on Jan 31 in Seoul is still Jan 31 in UTC (14:30), but a month
	// later must follow Seoul's calendar: Feb 28 23:30 KST.
	seoul, _ := time.LoadLocation("Asia/Seoul")
	ny, _ := time.LoadLocation("America/New_York")
	purchased := time.Date(2027, 1, 31, 14, 30, 0, 0, time.UTC)
	if got, want := MustOffset("1mo").After(purchased, seoul), time.Date(2027, 2, 28, 23, 30, 0, 0, seoul); !got.Equal(want) {
		t.Errorf("Seoul: %s, want %s", got, want)
	}
	// Across the US spring-forward, a day keeps the wall clock.
	before := time.Date(2027, 3, 13, 9, 0, 0, 0, ny)
	if got, want := MustOffset("1d").After(before, ny), time.Date(2027, 3, 14, 9, 0, 0, 0, ny); !got.Equal(want) || got.Sub(before) != 23*time.Hour {
		t.Errorf("New York DST: %s (%s later), want %s", got, got.Sub(before), want)
	}
}
