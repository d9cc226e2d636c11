package programs

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
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

func TestParseOffsetRefusesOverflowAndSpansOverTenYears(t *testing.T) {
	for _, bad := range []string{
		"100000y100000y",              // each part was under the old cap; stored as 200000y
		strings.Repeat("100000h", 26), // overflowed time.Duration to 0s
		strings.Repeat("1y", 11),      // many small parts add up
		"11y", "121mo", "3721d", "532w", "89281h", "5356801m", "321408001s",
		"10y1s", "9y12mo1d", "9999999999999999999999d", "1000000000h",
		"1y" + strings.Repeat("0", 80) + "1d", // too long to read
	} {
		o, err := ParseOffset(bad)
		if err == nil {
			t.Errorf("ParseOffset(%q) = %+v (%s), want an error", bad, o, o)
		}
	}
	for _, good := range []string{"10y", "120mo", "3720d", "531w3d", "89280h", "9y11mo31d", "0s", "000000001d"} {
		o, err := ParseOffset(good)
		if err != nil {
			t.Errorf("ParseOffset(%q): %v", good, err)
			continue
		}
		if back, err := ParseOffset(o.String()); err != nil || back != o {
			t.Errorf("%q: %s reads back as %+v, %v", good, o, back, err)
		}
	}
	_, err := ParseOffset("11y")
	if err == nil || !strings.Contains(err.Error(), "10 years") {
		t.Errorf("error %v should name the 10-year maximum", err)
	}
}

func TestOffsetJSONRoundTrip(t *testing.T) {
	// Offsets in committed workflow histories must keep decoding the same.
	for in, want := range map[string]Offset{
		`"3d"`: {Days: 3}, `"1mo"`: {Months: 1}, `"1y"`: {Months: 12}, `"30s"`: {Exact: 30 * time.Second},
		`"0s"`: {}, `"180d"`: {Days: 180}, `"1h"`: {Exact: time.Hour}, `"1m"`: {Exact: time.Minute}, `"25s"`: {Exact: 25 * time.Second},
	} {
		var o Offset
		if err := json.Unmarshal([]byte(in), &o); err != nil || o != want {
			t.Errorf("%s decodes as %+v, %v; want %+v", in, o, err, want)
		}
		enc, err := json.Marshal(o)
		if err != nil || string(enc) != in {
			t.Errorf("%+v encodes as %s, %v; want %s", o, enc, err, in)
		}
	}
	// What cannot read back is not written.
	for _, bad := range []Offset{{Months: 121}, {Days: -1}, {Exact: 1500 * time.Millisecond}, {Exact: -time.Second},
		{Months: 120, Days: 1}, {Days: 1 << 40}, {Exact: 1 << 62}} {
		if b, err := json.Marshal(bad); err == nil {
			t.Errorf("%+v encoded as %s", bad, b)
		}
	}
	var o Offset
	if err := json.Unmarshal([]byte(`"200000y"`), &o); err == nil {
		t.Errorf("200000y decoded as %+v", o)
	}
}

func TestOffsetStringReadsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		o := Offset{Months: r.IntN(MaxMonths + 1), Days: r.IntN(3721), Exact: time.Duration(r.Int64N(int64(MaxSpan/time.Second)+1)) * time.Second}
		if r.IntN(3) == 0 {
			o.Months = 0
		}
		if r.IntN(3) == 0 {
			o.Days = 0
		}
		if r.IntN(2) == 0 {
			o.Exact = time.Duration(r.IntN(200000)) * time.Second
		}
		back, err := ParseOffset(o.String())
		if o.Valid() != nil {
			if err == nil {
				t.Fatalf("invalid %+v printed as %s which reads as %+v", o, o, back)
			}
			continue
		}
		if err != nil || back != o {
			t.Fatalf("%+v printed as %s reads back as %+v, %v", o, o, back, err)
		}
	}
}
