// Package programs defines the retention programs a marketer can start:
// their parameters, defaults, validation and the calendar arithmetic that
// turns "1 month after the purchase" into an instant. It is pure code, safe
// to call from workflows.
package programs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Offset is a span of program time. Months and days are calendar units in
// the customer's time zone (a month after Jan 31 is the last day of
// February); Exact is elapsed time, which tests use to run a year in seconds.
type Offset struct {
	Months int
	Days   int
	Exact  time.Duration
}

var offsetPart = regexp.MustCompile(`^(\d+)(mo|y|w|d|h|m|s)`)

// ParseOffset reads "3d", "1mo", "1y", "2w", "12h", "30m", "45s" or a sum
// such as "1mo15d".
func ParseOffset(s string) (Offset, error) {
	var o Offset
	rest := strings.TrimSpace(s)
	if rest == "" {
		return o, fmt.Errorf("empty offset")
	}
	for rest != "" {
		m := offsetPart.FindStringSubmatch(rest)
		if m == nil {
			return Offset{}, fmt.Errorf("offset %q: want a number and a unit (y, mo, w, d, h, m, s), e.g. 3d or 1mo", s)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return Offset{}, fmt.Errorf("offset %q: number out of range", s)
		}
		switch m[2] {
		case "y":
			o.Months += 12 * n
		case "mo":
			o.Months += n
		case "w":
			o.Days += 7 * n
		case "d":
			o.Days += n
		case "h":
			o.Exact += time.Duration(n) * time.Hour
		case "m":
			o.Exact += time.Duration(n) * time.Minute
		case "s":
			o.Exact += time.Duration(n) * time.Second
		}
		rest = rest[len(m[0]):]
	}
	return o, nil
}

// MustOffset is ParseOffset for constants.
func MustOffset(s string) Offset {
	o, err := ParseOffset(s)
	if err != nil {
		panic(err)
	}
	return o
}

// String renders the offset in the form ParseOffset reads.
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
// stored parameters stay readable.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// UnmarshalJSON reads the string form.
func (o *Offset) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("offset must be a string such as \"3d\" or \"1mo\"")
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
