package programs

// Pacing is when a program's messages may go (issue 6: no midnight sends,
// no bursts after an outage). Both fields are pointers so that an explicit
// 0 (midnight, no spacing) differs from "not given" (the default).
type Pacing struct {
	// SendHour is the customer's local hour (0-23) a segment program's
	// messages go in: the sweep may enrol at any hour, the messages wait.
	SendHour *int `json:"send_hour,omitempty"`
	// MinSpacing is the least time between two messages of one
	// enrolment, however late the steps came due.
	MinSpacing *Offset `json:"min_spacing,omitempty"`
}

// Pacing defaults and bounds.
const (
	DefaultSendHour   = 10
	DefaultMinSpacing = "4h"
	// MaxMinSpacing bounds min_spacing: more would hold a program's steps
	// back by weeks after any delay.
	MaxMinSpacing = "7d"
)

func (p *Pacing) normalize(sendHour bool) error {
	if !sendHour {
		if p.SendHour != nil {
			return &FieldError{"params.send_hour", "does not apply: messages after a purchase go in the daytime"}
		}
	} else {
		if p.SendHour == nil {
			h := DefaultSendHour
			p.SendHour = &h
		}
		if *p.SendHour < 0 || *p.SendHour > 23 {
			return &FieldError{"params.send_hour", "must be 0-23"}
		}
	}
	if p.MinSpacing == nil {
		o := MustOffset(DefaultMinSpacing)
		p.MinSpacing = &o
	}
	if p.MinSpacing.Span() > MustOffset(MaxMinSpacing).Span() {
		return &FieldError{"params.min_spacing", "must be at most " + MaxMinSpacing}
	}
	return nil
}
