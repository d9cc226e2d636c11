package programs

// Measure is how a program is measured (issue 9, every kind): the share
// of its eligible customers held out as a control group, and how long
// after enrolment a purchase counts as the program's conversion. Agreed
// before the program starts, as the seeds ask, and pinned with its version.
type Measure struct {
	// HoldoutPercent of the eligible customers are enrolled in control:
	// recorded, sent nothing, and compared with the treated ones.
	HoldoutPercent *int `json:"holdout_percent,omitempty"`
	// AttributionWindow is how long after enrolment a purchase counts as
	// a conversion of the program.
	AttributionWindow *Offset `json:"attribution_window,omitempty"`
}

// Measurement defaults and bounds. Segment programs hold out 10 % by
// default; programs that follow a purchase (a happy call is service the
// customer expects) hold out none unless the marketer says so.
const (
	DefaultSegmentHoldoutPercent = 10
	MaxHoldoutPercent            = 50
	DefaultAttributionWindow     = "30d"
	MaxAttributionWindow         = "365d"
)

// Measurement implements Params.
func (m Measure) Measurement() Measure { return m }

// Holdout is the control share in percent (0 when unset).
func (m Measure) Holdout() int {
	if m.HoldoutPercent == nil {
		return 0
	}
	return *m.HoldoutPercent
}

// Window is the attribution window (the default when unset).
func (m Measure) Window() Offset {
	if m.AttributionWindow == nil {
		return MustOffset(DefaultAttributionWindow)
	}
	return *m.AttributionWindow
}

func (m *Measure) normalize(segment bool) error {
	if m.HoldoutPercent == nil {
		h := 0
		if segment {
			h = DefaultSegmentHoldoutPercent
		}
		m.HoldoutPercent = &h
	}
	if h := *m.HoldoutPercent; h < 0 || h > MaxHoldoutPercent {
		return &FieldError{"params.holdout_percent", "must be 0-50"}
	}
	if m.AttributionWindow == nil {
		o := MustOffset(DefaultAttributionWindow)
		m.AttributionWindow = &o
	}
	if w := m.AttributionWindow.Span(); w <= 0 || w > MustOffset(MaxAttributionWindow).Span() {
		return &FieldError{"params.attribution_window", "must be a span of at most " + MaxAttributionWindow}
	}
	return nil
}
