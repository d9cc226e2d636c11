package compliance

import (
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// noSpread is Defaults() with releases not spread, so a test can name the
// exact opening of the window.
func noSpread() Settings {
	s := Defaults()
	s.ReleaseSpreadMinutes = 0
	return s
}

func TestReleaseDefaults(t *testing.T) {
	seoul := mustZone(t, "Asia/Seoul")
	la := mustZone(t, "America/Los_Angeles")
	tokyo := mustZone(t, "Asia/Tokyo")
	withStar := noSpread()
	withStar.QuietHours["*"] = QuietHours{Start: "20:00", End: "09:00", Purposes: []string{PurposeMarketing}}
	cases := []struct {
		name     string
		s        Settings
		at       time.Time
		loc      *time.Location
		country  string
		purpose  string
		night    bool
		want     time.Time
		wantHeld bool
	}{
		{"KR marketing 22:30 waits for 08:00 next day", noSpread(),
			time.Date(2026, 5, 1, 22, 30, 0, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), true},
		{"KR marketing 03:00 waits for 08:00 same day", noSpread(),
			time.Date(2026, 5, 2, 3, 0, 0, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), true},
		{"KR marketing at 21:00 exactly is held", noSpread(),
			time.Date(2026, 5, 1, 21, 0, 0, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), true},
		{"KR marketing at 20:59:59 goes", noSpread(),
			time.Date(2026, 5, 1, 20, 59, 59, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 1, 20, 59, 59, 0, seoul), false},
		{"KR marketing at 08:00 exactly goes", noSpread(),
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), false},
		{"KR marketing 07:59:59.999 is held", noSpread(),
			time.Date(2026, 5, 2, 7, 59, 59, 999, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, seoul), true},
		{"KR service at 23:00 goes", noSpread(),
			time.Date(2026, 5, 1, 23, 0, 0, 0, seoul), seoul, "KR", PurposeService, false,
			time.Date(2026, 5, 1, 23, 0, 0, 0, seoul), false},
		{"KR night consent lifts the window", noSpread(),
			time.Date(2026, 5, 1, 23, 0, 0, 0, seoul), seoul, "KR", PurposeMarketing, true,
			time.Date(2026, 5, 1, 23, 0, 0, 0, seoul), false},
		{"US night consent does not lift TCPA hours", noSpread(),
			time.Date(2026, 5, 1, 6, 0, 0, 0, la), la, "US", PurposeMarketing, true,
			time.Date(2026, 5, 1, 8, 0, 0, 0, la), true},
		{"US 06:00 Los Angeles waits for 08:00 Los Angeles", noSpread(),
			time.Date(2026, 5, 1, 6, 0, 0, 0, la), la, "US", PurposeMarketing, false,
			time.Date(2026, 5, 1, 8, 0, 0, 0, la), true},
		{"US service is held too", noSpread(),
			time.Date(2026, 5, 1, 22, 0, 0, 0, la), la, "US", PurposeService, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, la), true},
		{"the customer's zone, not the server's: 22:30 KST is 06:30 LA", noSpread(),
			time.Date(2026, 5, 1, 22, 30, 0, 0, seoul), la, "US", PurposeMarketing, false,
			time.Date(2026, 5, 1, 8, 0, 0, 0, la), true},
		{"no window for an unknown country without *", noSpread(),
			time.Date(2026, 5, 1, 23, 0, 0, 0, tokyo), tokyo, "JP", PurposeMarketing, false,
			time.Date(2026, 5, 1, 23, 0, 0, 0, tokyo), false},
		{"unknown country uses *", withStar,
			time.Date(2026, 5, 1, 23, 0, 0, 0, tokyo), tokyo, "JP", PurposeMarketing, false,
			time.Date(2026, 5, 2, 9, 0, 0, 0, tokyo), true},
		{"a listed country does not use *", withStar,
			time.Date(2026, 5, 1, 8, 30, 0, 0, seoul), seoul, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 1, 8, 30, 0, 0, seoul), false},
		{"nil zone is UTC", noSpread(),
			time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC), nil, "KR", PurposeMarketing, false,
			time.Date(2026, 5, 2, 8, 0, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, held := Release(c.at, c.loc, c.country, c.purpose, c.night, c.s, 42)
			if !got.Equal(c.want) || held != c.wantHeld {
				t.Fatalf("Release(%s) = %s, %v; want %s, %v", c.at, got, held, c.want, c.wantHeld)
			}
		})
	}
}

func windowSettings(start, end string) Settings {
	s := noSpread()
	s.QuietHours = map[string]QuietHours{"XX": {Start: start, End: end, Purposes: []string{PurposeMarketing}}}
	return s
}

func TestReleaseWindowShapes(t *testing.T) {
	utc := time.UTC
	at := func(h, m int) time.Time { return time.Date(2026, 1, 10, h, m, 0, 0, utc) }
	next := func(h, m int) time.Time { return time.Date(2026, 1, 11, h, m, 0, 0, utc) }
	cases := []struct {
		name       string
		start, end string
		at, want   time.Time
		held       bool
	}{
		{"within a day: inside", "12:00", "14:00", at(13, 0), at(14, 0), true},
		{"within a day: before", "12:00", "14:00", at(11, 59), at(11, 59), false},
		{"within a day: at the start", "12:00", "14:00", at(12, 0), at(14, 0), true},
		{"within a day: after", "12:00", "14:00", at(14, 0), at(14, 0), false},
		{"spanning midnight: evening", "22:00", "06:00", at(23, 0), next(6, 0), true},
		{"spanning midnight: morning", "22:00", "06:00", at(5, 59), at(6, 0), true},
		{"spanning midnight: day", "22:00", "06:00", at(12, 0), at(12, 0), false},
		{"start == end is no window", "08:00", "08:00", at(8, 0), at(8, 0), false},
		{"a malformed clock is no window", "8:00", "21:00", at(12, 0), at(12, 0), false},
		{"almost all day", "00:01", "00:00", at(0, 30), next(0, 0), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, held := Release(c.at, utc, "XX", PurposeMarketing, false, windowSettings(c.start, c.end), 1)
			if !got.Equal(c.want) || held != c.held {
				t.Fatalf("Release(%s) in %s-%s = %s, %v; want %s, %v", c.at, c.start, c.end, got, held, c.want, c.held)
			}
		})
	}
}

// TestReleaseDST: New York springs forward on 2026-03-08 (02:00 EST ->
// 03:00 EDT) and falls back on 2026-11-01 (02:00 EDT -> 01:00 EST).
func TestReleaseDST(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	est := time.FixedZone("EST", -5*3600)
	edt := time.FixedZone("EDT", -4*3600)
	cases := []struct {
		name       string
		start, end string
		at, want   time.Time
		held       bool
	}{
		{"spring forward: 21:00-08:00 from 22:00 the night before", "21:00", "08:00",
			time.Date(2026, 3, 7, 22, 0, 0, 0, est), time.Date(2026, 3, 8, 8, 0, 0, 0, edt), true},
		{"spring forward: 21:00-08:00 from 01:59 EST", "21:00", "08:00",
			time.Date(2026, 3, 8, 1, 59, 0, 0, est), time.Date(2026, 3, 8, 8, 0, 0, 0, edt), true},
		{"spring forward: a window ending at 02:30, which does not exist, ends at 03:00 EDT", "21:00", "02:30",
			time.Date(2026, 3, 7, 23, 0, 0, 0, est), time.Date(2026, 3, 8, 3, 0, 0, 0, edt), true},
		{"spring forward: a window ending at 02:00 ends at the jump", "21:00", "02:00",
			time.Date(2026, 3, 8, 1, 0, 0, 0, est), time.Date(2026, 3, 8, 3, 0, 0, 0, edt), true},
		{"spring forward: a window from 02:30, which does not exist, holds 03:00 EDT", "02:30", "04:00",
			time.Date(2026, 3, 8, 3, 0, 0, 0, edt), time.Date(2026, 3, 8, 4, 0, 0, 0, edt), true},
		{"fall back: 21:00-08:00 from 22:00 the night before", "21:00", "08:00",
			time.Date(2026, 10, 31, 22, 0, 0, 0, edt), time.Date(2026, 11, 1, 8, 0, 0, 0, est), true},
		{"fall back: first 01:30 (EDT) is past a window ending 01:15", "21:00", "01:15",
			time.Date(2026, 11, 1, 1, 30, 0, 0, edt), time.Date(2026, 11, 1, 1, 30, 0, 0, edt), false},
		{"fall back: the clock falls back into the window; it ends at the second 01:15 (EST)", "21:00", "01:15",
			time.Date(2026, 11, 1, 1, 5, 0, 0, est), time.Date(2026, 11, 1, 1, 15, 0, 0, est), true},
		{"fall back: a window ending at 01:30 ends at the first 01:30 (EDT)", "21:00", "01:30",
			time.Date(2026, 11, 1, 0, 30, 0, 0, edt), time.Date(2026, 11, 1, 1, 30, 0, 0, edt), true},
		{"fall back: 08:00-21:00 day window from 20:00 the day before", "08:00", "21:00",
			time.Date(2026, 10, 31, 20, 0, 0, 0, edt), time.Date(2026, 10, 31, 21, 0, 0, 0, edt), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, held := Release(c.at, ny, "XX", PurposeMarketing, false, windowSettings(c.start, c.end), 1)
			if !got.Equal(c.want) || held != c.held {
				t.Fatalf("Release(%s) in %s-%s = %s, %v; want %s, %v", c.at.In(ny), c.start, c.end, got.In(ny), held, c.want.In(ny), c.held)
			}
		})
	}
}

func TestReleaseSpread(t *testing.T) {
	seoul := mustZone(t, "Asia/Seoul")
	s := Defaults() // 30 minutes of spread
	at := time.Date(2026, 5, 1, 22, 30, 0, 0, seoul)
	open := time.Date(2026, 5, 2, 8, 0, 0, 0, seoul)
	seen := map[time.Duration]bool{}
	for id := int64(1); id <= 1000; id++ {
		got, held := Release(at, seoul, "KR", PurposeMarketing, false, s, id)
		if !held {
			t.Fatalf("customer %d not held", id)
		}
		d := got.Sub(open)
		if d != Spread(id, 30) || d < 0 || d >= 30*time.Minute {
			t.Fatalf("customer %d released %s after the opening; spread %s", id, d, Spread(id, 30))
		}
		seen[d] = true
	}
	if len(seen) < 500 {
		t.Fatalf("1000 customers released at only %d distinct moments", len(seen))
	}
	// A message not held is not delayed by the spread.
	if got, held := Release(open, seoul, "KR", PurposeMarketing, false, s, 7); held || !got.Equal(open) {
		t.Fatalf("not held: got %s, %v", got, held)
	}
}

// TestReleaseSpreadNeverInNextWindow: the open span 08:00-08:10 is shorter
// than a 60-minute spread; every release must fall inside it.
func TestReleaseSpreadNeverInNextWindow(t *testing.T) {
	s := windowSettings("08:10", "08:00")
	s.ReleaseSpreadMinutes = 60
	at := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	open := time.Date(2026, 1, 11, 8, 0, 0, 0, time.UTC)
	spread := false
	for id := int64(1); id <= 200; id++ {
		got, held := Release(at, time.UTC, "XX", PurposeMarketing, false, s, id)
		if !held || got.Before(open) || !got.Before(open.Add(10*time.Minute)) {
			t.Fatalf("customer %d released at %s, %v; want in [08:00, 08:10)", id, got, held)
		}
		if !got.Equal(open) {
			spread = true
		}
	}
	if !spread {
		t.Fatal("every release at the opening: the spread was dropped rather than wrapped")
	}
}

func TestSpread(t *testing.T) {
	cases := []struct {
		id      int64
		minutes int
		max     time.Duration
	}{
		{1, 0, 0}, {1, -5, 0}, {1, 1, time.Minute}, {-9, 30, 30 * time.Minute},
		{1 << 62, 30, 30 * time.Minute}, {5, 1 << 40, MaxSpreadMinutes * time.Minute},
	}
	for _, c := range cases {
		got := Spread(c.id, c.minutes)
		if got < 0 || (c.max == 0 && got != 0) || (c.max > 0 && got >= c.max) || got%time.Second != 0 {
			t.Errorf("Spread(%d, %d) = %s, want whole seconds in [0, %s)", c.id, c.minutes, got, c.max)
		}
		if again := Spread(c.id, c.minutes); again != got {
			t.Errorf("Spread(%d, %d) not deterministic: %s then %s", c.id, c.minutes, got, again)
		}
	}
	// Uniform-ish: consecutive ids spread over all six 5-minute buckets of 30
	// minutes, none holding more than twice its share.
	var buckets [6]int
	for id := int64(1); id <= 6000; id++ {
		buckets[Spread(id, 30)/(5*time.Minute)]++
	}
	for i, n := range buckets {
		if n < 500 || n > 2000 {
			t.Fatalf("bucket %d holds %d of 6000: %v", i, n, buckets)
		}
	}
}

func TestParseClock(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00", 0, true}, {"08:00", 8 * time.Hour, true}, {"23:59", 23*time.Hour + 59*time.Minute, true},
		{"24:00", 0, false}, {"12:60", 0, false}, {"8:00", 0, false}, {"08-00", 0, false},
		{"", 0, false}, {"0a:00", 0, false}, {"08:00 ", 0, false}, {"+8:00", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseClock(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseClock(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// FuzzRelease: for any moment, window and zone (with DST of an hour or
// half an hour), a release is never before the moment, never inside the
// window, and, without spread, is the first moment outside it.
func FuzzRelease(f *testing.F) {
	f.Add(int64(1772953200), uint8(0), uint16(21*60), uint16(8*60), int64(1), uint8(0))   // 2026-03-08 NY
	f.Add(int64(1793512800), uint8(0), uint16(21*60), uint16(90), int64(1), uint8(30))    // 2026-11-01 NY
	f.Add(int64(1775318400), uint8(2), uint16(60), uint16(150), int64(7), uint8(0))       // Lord Howe
	f.Add(int64(1775318400), uint8(1), uint16(21*60), uint16(8*60), int64(-3), uint8(45)) // Seoul
	zones := []string{"America/New_York", "Asia/Seoul", "Australia/Lord_Howe", "Pacific/Chatham", "Europe/Berlin", "Pacific/Apia"}
	locs := make([]*time.Location, len(zones))
	for i, z := range zones {
		locs[i] = mustZone(f, z)
	}
	f.Fuzz(func(t *testing.T, unix int64, zone uint8, start, end uint16, id int64, spread uint8) {
		at := time.Unix(unix%(200*365*86400), 0) // 1770-2170
		loc := locs[int(zone)%len(locs)]
		clock := func(m uint16) string {
			m %= 24 * 60
			return time.Date(2000, 1, 1, int(m/60), int(m%60), 0, 0, time.UTC).Format("15:04")
		}
		s := windowSettings(clock(start), clock(end))
		s.ReleaseSpreadMinutes = int(spread)
		w, ok := windowFor("XX", PurposeMarketing, false, s)
		got, held := Release(at, loc, "XX", PurposeMarketing, false, s, id)
		if !ok || !w.contains(at.In(loc)) {
			if held || !got.Equal(at) {
				t.Fatalf("outside the window: %s, %v", got, held)
			}
			return
		}
		if !held || got.Before(at) || w.contains(got.In(loc)) {
			t.Fatalf("Release(%s) in %s-%s = %s, %v", at.In(loc), clock(start), clock(end), got.In(loc), held)
		}
		if spread == 0 && !w.contains(got.Add(-time.Second).In(loc)) && got.Add(-time.Second).After(at) {
			t.Fatalf("Release(%s) in %s-%s = %s, but a second earlier was already outside", at.In(loc), clock(start), clock(end), got.In(loc))
		}
	})
}
