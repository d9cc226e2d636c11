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
	// SendSpread spreads a segment program's messages over the first part
	// of the send hour, by customer, so a sweep of 100,000 customers does
	// not release them all at 10:00:00 (issue 7). At most the hour.
	SendSpread *Offset `json:"send_spread,omitempty"`
}

// Pacing defaults and bounds.
const (
	DefaultSendHour   = 10
	DefaultMinSpacing = "4h"
	// MaxMinSpacing bounds min_spacing: more would hold a program's steps
	// back by weeks after any delay.
	MaxMinSpacing = "7d"
	// DefaultSendSpread is the part of the send hour a segment program's
	// messages are spread over.
	DefaultSendSpread = "30m"
	MaxSendSpread     = "1h"
)

func (p *Pacing) normalize(sendHour bool) error {
	if !sendHour {
		if p.SendHour != nil {
			return &FieldError{"params.send_hour", "does not apply: messages after a purchase go in the daytime"}
		}
		if p.SendSpread != nil {
			return &FieldError{"params.send_spread", "does not apply: messages after a purchase go in the daytime"}
		}
	} else {
		if p.SendHour == nil {
			h := DefaultSendHour
			p.SendHour = &h
		}
		if *p.SendHour < 0 || *p.SendHour > 23 {
			return &FieldError{"params.send_hour", "must be 0-23"}
		}
		if p.SendSpread == nil {
			o := MustOffset(DefaultSendSpread)
			p.SendSpread = &o
		}
		if p.SendSpread.Months != 0 || p.SendSpread.Days != 0 || p.SendSpread.Exact < 0 || p.SendSpread.Exact > MustOffset(MaxSendSpread).Exact {
			return &FieldError{"params.send_spread", "must be a span of at most " + MaxSendSpread}
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
