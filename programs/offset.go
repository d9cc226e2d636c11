// Package programs defines the retention programs a marketer can start:
// their parameters, defaults, validation and the calendar arithmetic that
// turns "1 month after the purchase" into an instant. It is pure code, safe
// to call from workflows.
package programs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Offset is a span of program time. Months and days are calendar units in
// the customer's time zone (a month after Jan 31 is the last day of
// February); Exact is elapsed time, which tests use to run a year in seconds.
//
// Every Offset ParseOffset returns is valid (see Valid): no part is
// negative, Exact is whole seconds and the whole span is at most MaxSpan,
// so String reads back to the same Offset and no arithmetic on it can
// overflow.
type Offset struct {
	Months int
	Days   int
	Exact  time.Duration
}

// Bounds of an Offset. A span is measured conservatively, counting a month
// as 31 days, so "10y" (120 months) is the longest span in months and no
// mix of units exceeds what 120 long months would.
const (
	MaxMonths = 120
	// MaxSpan is the longest span an offset may describe, about 10 years.
	MaxSpan = MaxMonths * 31 * 24 * time.Hour
	// maxOffsetLen bounds the text ParseOffset reads; the longest canonical
	// form ("9y11mo3720d89280h59m59s") is far shorter.
	maxOffsetLen = 64
	// maxOffsetDigits bounds one number, so it parses without overflow
	// and every product below stays far inside int64.
	maxOffsetDigits = 9
)

var errTooLong = fmt.Errorf("is longer than the maximum of 10 years (a month counts as 31 days)")

// ParseOffset reads "3d", "1mo", "1y", "2w", "12h", "30m", "45s" or a sum
// such as "1mo15d". The sum is checked after every part, so no input can
// overflow, and spans over MaxSpan are refused.
func ParseOffset(s string) (Offset, error) {
	if len(s) > maxOffsetLen {
		return Offset{}, fmt.Errorf("offset is longer than %d characters", maxOffsetLen)
	}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return Offset{}, errors.New("empty offset")
	}
	var months, days, secs int64
	for rest != "" {
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		unit := ""
		for _, u := range []string{"mo", "y", "w", "d", "h", "m", "s"} {
			if strings.HasPrefix(rest[digits:], u) {
				unit = u
				break
			}
		}
		if digits == 0 || unit == "" {
			return Offset{}, fmt.Errorf("offset %q: want a number and a unit (y, mo, w, d, h, m, s), e.g. 3d or 1mo", s)
		}
		if digits > maxOffsetDigits {
			return Offset{}, fmt.Errorf("offset %q %s", s, errTooLong)
		}
		n, _ := strconv.ParseInt(rest[:digits], 10, 64)
		switch unit {
		case "y":
			months += 12 * n
		case "mo":
			months += n
		case "w":
			days += 7 * n
		case "d":
			days += n
		case "h":
			secs += 3600 * n
		case "m":
			secs += 60 * n
		case "s":
			secs += n
		}
		// Each total is at most MaxSpan in its unit before this part and
		// the part at most 12e9 months or 3.6e12 s, so the sums cannot
		// overflow before this check.
		if months > MaxMonths || spanSeconds(months, days, secs) > int64(MaxSpan/time.Second) {
			return Offset{}, fmt.Errorf("offset %q %s", s, errTooLong)
		}
		rest = rest[digits+len(unit):]
	}
	return Offset{Months: int(months), Days: int(days), Exact: time.Duration(secs) * time.Second}, nil
}

// spanSeconds measures a span counting a month as 31 days.
func spanSeconds(months, days, secs int64) int64 {
	return months*31*86400 + days*86400 + secs
}

// Valid reports why the offset is not one ParseOffset could return: a
// negative part, a fraction of a second, or a span over MaxSpan.
func (o Offset) Valid() error {
	switch {
	case o.Months < 0 || o.Days < 0 || o.Exact < 0:
		return errors.New("offset must not be negative")
	case o.Exact%time.Second != 0:
		return errors.New("offset must be whole seconds")
	case o.Months > MaxMonths || o.Days > int(MaxSpan/(24*time.Hour)) || o.Exact > MaxSpan ||
		spanSeconds(int64(o.Months), int64(o.Days), int64(o.Exact/time.Second)) > int64(MaxSpan/time.Second):
		return errors.New("offset " + errTooLong.Error())
	}
	return nil
}

// Span is the offset's length counting a month as 31 days, the measure
// MaxSpan bounds; it orders offsets when calendar units make the exact
// order depend on the date.
func (o Offset) Span() time.Duration {
	return time.Duration(o.Months)*31*24*time.Hour + time.Duration(o.Days)*24*time.Hour + o.Exact
}

// MustOffset is ParseOffset for constants.
func MustOffset(s string) Offset {
	o, err := ParseOffset(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String renders the offset in the form ParseOffset reads; for a valid
// offset, ParseOffset(o.String()) == o.
func (o Offset) String() string {
	var b strings.Builder
	if o.Months%12 == 0 && o.Months != 0 {
		fmt.Fprintf(&b, "%dy", o.Months/12)
	} else if o.Months != 0 {
		fmt.Fprintf(&b, "%dmo", o.Months)
	}
	if o.Days != 0 {
		fmt.Fprintf(&b, "%dd", o.Days)
	}
	d := o.Exact
	for _, u := range []struct {
		unit string
		size time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}

// IsZero reports whether the offset is empty.
func (o Offset) IsZero() bool { return o == Offset{} }

// MarshalJSON writes the offset as its string form, so workflow inputs and
// stored parameters stay readable. An offset that would not read back the
// same (see Valid) is an error rather than a silently different value.
func (o Offset) MarshalJSON() ([]byte, error) {
	if err := o.Valid(); err != nil {
		return nil, err
	}
	return json.Marshal(o.String())
}

// UnmarshalJSON reads the string form; null and "" leave the offset unset.
func (o *Offset) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("offset must be a string such as \"3d\" or \"1mo\"")
	}
	if s == "" {
		*o = Offset{}
		return nil
	}
	p, err := ParseOffset(s)
	if err != nil {
		return err
	}
	*o = p
	return nil
}

// After returns the instant the offset lands on after t, counting calendar
// units in loc. Months clamp to the month's last day instead of overflowing
// into the next month (Go's AddDate would turn Jan 31 + 1 month into Mar 3).
func (o Offset) After(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	if o.Months != 0 {
		lt = AddMonths(lt, o.Months)
	}
	if o.Days != 0 {
		lt = lt.AddDate(0, 0, o.Days)
	}
	return lt.Add(o.Exact)
}

// AddMonths adds calendar months keeping the wall-clock time, clamping the
// day to the target month's length.
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, t.Location())
	if last := DaysIn(first.Year(), first.Month()); d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// DaysIn is the number of days in the month.
func DaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
