package programs

import (
	"fmt"
	"regexp"

	"github.com/dangol/dangol/compliance"
)

// Rules carries a program's own compliance rules (params.compliance,
// every kind): quiet hours, a frequency cap and what to do with a capped
// message, each stricter than the settings. Normalisation checks their
// shape only; whether they are stricter than the settings in force is
// checked where the settings are known (the API, on create and update).
type Rules struct {
	Compliance *compliance.Overrides `json:"compliance,omitempty"`
}

// Overrides implements Params: the program's overrides, empty when it has
// none.
func (r Rules) Overrides() compliance.Overrides {
	if r.Compliance == nil {
		return compliance.Overrides{}
	}
	return *r.Compliance
}

// Bounds of a program's frequency cap, as of the settings' own.
const (
	MaxCapMessages   = 100
	MaxCapWindowDays = 365
)

var hhmmPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// check validates the overrides' shape; errors name the field
// ("params.compliance.quiet_hours.start").
func (r Rules) check() error {
	o := r.Compliance
	if o == nil {
		return nil
	}
	const f = "params.compliance"
	if q := o.QuietHours; q != nil {
		for _, t := range []struct{ name, v string }{{"start", q.Start}, {"end", q.End}} {
			if !hhmmPattern.MatchString(t.v) {
				return &FieldError{f + ".quiet_hours." + t.name, "must be a time of day HH:MM, 00:00-23:59"}
			}
		}
		if len(q.Purposes) == 0 {
			return &FieldError{f + ".quiet_hours.purposes", "must name at least one of marketing, service"}
		}
		seen := map[string]bool{}
		for i, p := range q.Purposes {
			field := fmt.Sprintf("%s.quiet_hours.purposes[%d]", f, i)
			if p != compliance.PurposeMarketing && p != compliance.PurposeService {
				return &FieldError{field, "must be marketing or service"}
			}
			if seen[p] {
				return &FieldError{field, fmt.Sprintf("duplicate purpose %q", p)}
			}
			seen[p] = true
		}
	}
	if c := o.FrequencyCap; c != nil {
		if c.Max < 0 || c.Max > MaxCapMessages {
			return &FieldError{f + ".frequency_cap.max", fmt.Sprintf("must be 0-%d", MaxCapMessages)}
		}
		if c.WindowDays < 1 || c.WindowDays > MaxCapWindowDays {
			return &FieldError{f + ".frequency_cap.window_days", fmt.Sprintf("must be 1-%d", MaxCapWindowDays)}
		}
	}
	switch o.WhenCapped {
	case "", compliance.WhenCappedWait, compliance.WhenCappedSkip:
	default:
		return &FieldError{f + ".when_capped", "must be wait or skip"}
	}
	return nil
}
