package compliance

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// FieldError says which field of a document is wrong, by its JSON path
// ("quiet_hours.KR.start"), so the API can answer 400 naming it.
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Detail: fmt.Sprintf(format, args...)}
}

// Bounds of what an operator may type into the settings.
const (
	MaxSenderName      = 40
	MaxSenderContact   = 100
	MaxOptOutNumber    = 20
	MaxTimeZone        = 64
	MaxQuietCountries  = 50
	MaxCap             = 100
	MaxCapWindowDays   = 365
	MaxReconfirmDays   = 3650
	MaxReleaseSpreadMn = 240
)

var (
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	hhmmPattern    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	// The free opt-out number Korean law asks for: 080, then 3 or 4
	// digits, then 4.
	krOptOutPattern    = regexp.MustCompile(`^080-[0-9]{3,4}-[0-9]{4}$`)
	otherOptOutPattern = regexp.MustCompile(`^[0-9][0-9-]*$`)
)

// AllCountries is the quiet-hours key for every country without its own.
const AllCountries = "*"

// Validate checks every field against its bounds and that the settings
// read back as they are (what is stored must read back). The error is a
// *FieldError naming the JSON field.
func (s Settings) Validate() error {
	if err := checkText("sender_name", s.SenderName, MaxSenderName); err != nil {
		return err
	}
	if err := checkText("sender_contact", s.SenderContact, MaxSenderContact); err != nil {
		return err
	}
	if err := checkOptOut(s.OptOutNumber, s.DefaultCountry); err != nil {
		return err
	}
	if s.DefaultTimeZone == "" || s.DefaultTimeZone == "Local" || len(s.DefaultTimeZone) > MaxTimeZone {
		return fieldErr("default_time_zone", "must be an IANA zone such as Asia/Seoul")
	}
	if _, err := time.LoadLocation(s.DefaultTimeZone); err != nil {
		return fieldErr("default_time_zone", "must be an IANA zone such as Asia/Seoul")
	}
	if !countryPattern.MatchString(s.DefaultCountry) {
		return fieldErr("default_country", "must be an ISO 3166-1 alpha-2 code in capitals such as KR")
	}
	if len(s.QuietHours) > MaxQuietCountries {
		return fieldErr("quiet_hours", "at most %d countries", MaxQuietCountries)
	}
	keys := make([]string, 0, len(s.QuietHours))
	for k := range s.QuietHours {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != AllCountries && !countryPattern.MatchString(k) {
			field := "quiet_hours"
			if len(k) <= 8 && utf8.ValidString(k) && !hasControl(k) {
				field += "." + k
			}
			return fieldErr(field, "countries are ISO 3166-1 alpha-2 codes in capitals (KR, US) or * for every other")
		}
		if err := validWindow("quiet_hours."+k, s.QuietHours[k]); err != nil {
			return err
		}
	}
	if err := inRange("frequency_cap.max", s.FrequencyCap.Max, 0, MaxCap); err != nil {
		return err
	}
	if err := inRange("frequency_cap.window_days", s.FrequencyCap.WindowDays, 1, MaxCapWindowDays); err != nil {
		return err
	}
	if err := inRange("reconfirm_every_days", s.ReconfirmEveryDays, 1, MaxReconfirmDays); err != nil {
		return err
	}
	if err := inRange("release_spread_minutes", s.ReleaseSpreadMinutes, 0, MaxReleaseSpreadMn); err != nil {
		return err
	}
	if err := validReportMail(s); err != nil {
		return err
	}
	return roundTrip(s)
}

func checkText(field, v string, limit int) error {
	switch {
	case !utf8.ValidString(v):
		return fieldErr(field, "is not valid UTF-8")
	case hasControl(v):
		return fieldErr(field, "contains a control character")
	case utf8.RuneCountInString(v) > limit:
		return fieldErr(field, "longer than %d characters", limit)
	case v != "" && need(field, v) != nil:
		// Decorate would refuse it at every send (a second label or
		// opt-out line in each advertisement): refuse it here, once.
		return fieldErr(field, "must not carry an advertising label, an opt-out line, or leading or trailing blanks")
	}
	return nil
}

func hasControl(v string) bool {
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// checkOptOut: a Korean installation's number (or any 080 number) must be
// the free 080 form; any other is digits and dashes.
func checkOptOut(n, country string) error {
	switch {
	case n == "":
		return nil
	case len(n) > MaxOptOutNumber:
		return fieldErr("opt_out_number", "longer than %d characters", MaxOptOutNumber)
	case country == "KR" || len(n) >= 3 && n[:3] == "080":
		if !krOptOutPattern.MatchString(n) {
			return fieldErr("opt_out_number", "must be a free Korean opt-out number 080-XXX-XXXX or 080-XXXX-XXXX")
		}
	case !otherOptOutPattern.MatchString(n):
		return fieldErr("opt_out_number", "must be digits and dashes")
	}
	return nil
}

func inRange(field string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fieldErr(field, "must be between %d and %d", lo, hi)
	}
	return nil
}

func validWindow(field string, q QuietHours) error {
	if !hhmmPattern.MatchString(q.Start) {
		return fieldErr(field+".start", "must be a time HH:MM between 00:00 and 23:59")
	}
	if !hhmmPattern.MatchString(q.End) {
		return fieldErr(field+".end", "must be a time HH:MM between 00:00 and 23:59")
	}
	if len(q.Purposes) == 0 {
		return fieldErr(field+".purposes", "must name at least one of marketing, service")
	}
	for i, p := range q.Purposes {
		if p != PurposeMarketing && p != PurposeService {
			return fieldErr(field+".purposes["+strconv.Itoa(i)+"]", "must be marketing or service")
		}
		if slices.Contains(q.Purposes[:i], p) {
			return fieldErr(field+".purposes["+strconv.Itoa(i)+"]", "%s is named twice", p)
		}
	}
	return nil
}

// Normalized returns s with nil collections made empty, the form JSON
// reads back from "{}" and "[]", and an unset report period (settings
// stored before it existed) the default.
func (s Settings) Normalized() Settings {
	qh := make(map[string]QuietHours, len(s.QuietHours))
	for k, q := range s.QuietHours {
		if q.Purposes == nil {
			q.Purposes = []string{}
		} else {
			q.Purposes = slices.Clone(q.Purposes)
		}
		qh[k] = q
	}
	s.QuietHours = qh
	s.ReportRecipients = slices.Clone(s.ReportRecipients)
	if s.ReportRecipients == nil {
		s.ReportRecipients = []string{}
	}
	if s.ReportEvery == "" {
		s.ReportEvery = ReportQuarterly
	}
	return s
}

func roundTrip(s Settings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fieldErr("body", "cannot be encoded: %v", err)
	}
	var back Settings
	if err := json.Unmarshal(b, &back); err != nil {
		return fieldErr("body", "does not read back: %v", err)
	}
	if !reflect.DeepEqual(back.Normalized(), s.Normalized()) {
		return fieldErr("body", "does not read back as written")
	}
	return nil
}

// minutesPerDay is the resolution of quiet windows: HH:MM.
const minutesPerDay = 24 * 60

// ParseHHMM reads "HH:MM" as minutes after midnight.
func ParseHHMM(v string) (int, bool) {
	if !hhmmPattern.MatchString(v) {
		return 0, false
	}
	h, _ := strconv.Atoi(v[:2])
	m, _ := strconv.Atoi(v[3:])
	return h*60 + m, true
}

// window is a quiet window in minutes; start == end is no window.
type window struct{ start, end int }

func (w window) contains(m int) bool {
	switch {
	case w.start == w.end:
		return false
	case w.start < w.end:
		return m >= w.start && m < w.end
	}
	return m >= w.start || m < w.end
}

// Effective is the settings a program runs under: its overrides where
// they tighten the settings. An override that would loosen them (a quiet
// window that does not cover a country's window for the purposes that
// window holds, a higher cap or a shorter cap window) is a *FieldError
// naming "params.compliance.<field>": a program may tighten the rules,
// never loosen them. The program's window replaces every country's,
// "*" included, so countries without a window of their own get it too;
// a customer's night-time consent lifts it only where the settings let it.
func Effective(s Settings, o Overrides) (Settings, error) {
	const prefix = "params.compliance."
	out := s.Normalized()
	if o.QuietHours != nil {
		q := *o.QuietHours
		if err := validWindow(prefix+"quiet_hours", q); err != nil {
			return s, err
		}
		start, _ := ParseHHMM(q.Start)
		end, _ := ParseHHMM(q.End)
		ow := window{start, end}
		keys := make([]string, 0, len(s.QuietHours))
		for k := range s.QuietHours {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			w := s.QuietHours[k]
			for _, p := range w.Purposes {
				if !slices.Contains(q.Purposes, p) {
					return s, fieldErr(prefix+"quiet_hours.purposes", "must include %s: the %s quiet hours hold it", p, k)
				}
			}
			ws, ok1 := ParseHHMM(w.Start)
			we, ok2 := ParseHHMM(w.End)
			if !ok1 || !ok2 {
				continue // Validate refuses such settings; nothing to contain
			}
			sw := window{ws, we}
			for m := range minutesPerDay {
				if sw.contains(m) && !ow.contains(m) {
					field := prefix + "quiet_hours.end"
					if !ow.contains(ws) {
						field = prefix + "quiet_hours.start"
					}
					return s, fieldErr(field, "the window %s-%s must contain the %s quiet hours %s-%s", q.Start, q.End, k, w.Start, w.End)
				}
			}
		}
		night := map[string]bool{}
		for _, k := range keys {
			night[k] = s.QuietHours[k].NightConsent
		}
		if _, ok := night[AllCountries]; !ok {
			night[AllCountries] = true // no window at all: any window is tighter
		}
		for k, n := range night {
			out.QuietHours[k] = QuietHours{Start: q.Start, End: q.End, Purposes: slices.Clone(q.Purposes), NightConsent: q.NightConsent && n}
		}
	}
	if c := o.FrequencyCap; c != nil {
		if c.Max < 0 || c.Max > s.FrequencyCap.Max {
			return s, fieldErr(prefix+"frequency_cap.max", "must be between 0 and the settings' %d", s.FrequencyCap.Max)
		}
		if c.WindowDays < s.FrequencyCap.WindowDays || c.WindowDays > MaxCapWindowDays {
			return s, fieldErr(prefix+"frequency_cap.window_days", "must be between the settings' %d and %d", s.FrequencyCap.WindowDays, MaxCapWindowDays)
		}
		out.FrequencyCap = *c
	}
	return out, nil
}
