package programs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dangol/dangol/audience"
)

// More kinds of program (seed 003, DBM: 컴백, 휴면고객 Wake-up, 기념일,
// 신규고객 재구입 촉진).
const (
	KindWelcomeBack    = "welcome_back"
	KindDormantWakeup  = "dormant_wakeup"
	KindBirthday       = "birthday"
	KindSecondPurchase = "second_purchase"
)

// Params is what every kind's parameters offer the rest of dangol.
type Params interface {
	// Normalize fills defaults and validates; errors are *FieldError.
	Normalize() error
	// Template returns the message a step sends; field selects among a
	// step's messages (happy call: sms, fallback_sms, email, call_script;
	// other kinds: "" for the step's one message).
	Template(step, field string) (Message, bool)
	// ExitsOnPurchase tells whether any purchase by an enrolled customer
	// ends the enrolment as converted.
	ExitsOnPurchase() bool
}

// Segment is implemented by kinds that enrol an audience on a schedule.
type Segment interface {
	Params
	SweepSettings() Sweep
}

// Message is a template with an optional subject (mail).
type Message struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text"`
}

// New returns empty params of a kind, or false for an unknown kind.
func New(kind string) (Params, bool) {
	switch kind {
	case KindHappyCall:
		return &HappyCall{}, true
	case KindWelcomeBack:
		return &WelcomeBack{}, true
	case KindDormantWakeup:
		return &DormantWakeup{}, true
	case KindBirthday:
		return &Birthday{}, true
	case KindSecondPurchase:
		return &SecondPurchase{}, true
	}
	return nil, false
}

// Kinds lists the program kinds the API accepts.
var Kinds = []string{KindHappyCall, KindWelcomeBack, KindDormantWakeup, KindBirthday, KindSecondPurchase}

// Parse reads params as a marketer sends them: unknown fields are refused,
// missing ones take the kind's defaults.
func Parse(kind string, raw json.RawMessage) (Params, error) {
	if kind == KindHappyCall {
		hc, err := ParseHappyCall(raw)
		if err != nil {
			return nil, err
		}
		return &hc, nil
	}
	p, ok := New(kind)
	if !ok {
		return nil, &FieldError{"kind", "unknown program kind; one of " + strings.Join(Kinds, ", ")}
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, jsonFieldError("params", err)
		}
	}
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	return p, nil
}

// Decode reads params stored by dangol (already normalised).
func Decode(kind string, raw json.RawMessage) (Params, error) {
	p, ok := New(kind)
	if !ok {
		return nil, fmt.Errorf("unknown program kind %q", kind)
	}
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, fmt.Errorf("%s params: %w", kind, err)
	}
	return p, nil
}

// Sweep is how a segment program finds its audience: every day at Hour
// in TimeZone (or at a fixed interval, Every, for tests and demos).
type Sweep struct {
	Audience audience.Filter `json:"audience"`
	Hour     int             `json:"hour"`
	TimeZone string          `json:"time_zone"`
	// Every, when set, replaces the daily calendar ("30s").
	Every string `json:"every,omitempty"`
	// Cooldown is how long after leaving the program a customer must wait
	// before entering it again.
	Cooldown Offset `json:"cooldown"`
}

// SweepSettings implements Segment.
func (s Sweep) SweepSettings() Sweep { return s }

// EveryDuration is the parsed Every, zero when daily.
func (s Sweep) EveryDuration() time.Duration {
	d, _ := time.ParseDuration(s.Every)
	return d
}

func (s *Sweep) normalize(channel string) error {
	if s.TimeZone == "" {
		s.TimeZone = "Asia/Seoul"
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
		return &FieldError{"params.time_zone", "must be an IANA zone such as Asia/Seoul"}
	}
	if s.Hour < 0 || s.Hour > 23 {
		return &FieldError{"params.hour", "must be 0-23"}
	}
	if s.Every != "" {
		d, err := time.ParseDuration(s.Every)
		if err != nil || d < time.Second {
			return &FieldError{"params.every", "must be a duration of at least 1s, such as 30s or 1h"}
		}
	}
	if s.Cooldown.IsZero() {
		s.Cooldown = MustOffset("180d")
	}
	if s.Audience.Consent == "" {
		s.Audience.Consent = channel
	}
	return nil
}

// Coupon says what coupon a program issues.
type Coupon struct {
	Kind     string `json:"kind"` // amount or percent
	Value    string `json:"value"`
	Currency string `json:"currency,omitempty"`
	ValidFor Offset `json:"valid_for"`
}

var decimalPattern = regexp.MustCompile(`^\d{1,12}(\.\d{1,2})?$`)

func (c *Coupon) normalize(field string, defaultValid string) error {
	if c.Kind == "" {
		c.Kind = "amount"
	}
	if c.Value == "" {
		if c.Kind == "percent" {
			c.Value = "10"
		} else {
			c.Value = "10000"
		}
	}
	if c.Currency == "" {
		c.Currency = "KRW"
	}
	if c.ValidFor.IsZero() {
		c.ValidFor = MustOffset(defaultValid)
	}
	switch {
	case c.Kind != "amount" && c.Kind != "percent":
		return &FieldError{field + ".kind", "must be amount or percent"}
	case !decimalPattern.MatchString(c.Value) || strings.Trim(c.Value, "0.") == "":
		return &FieldError{field + ".value", "must be a positive number with at most 2 decimals"}
	case c.Kind == "percent" && len(c.Value) > 3 && c.Value != "100":
		return &FieldError{field + ".value", "a percentage is at most 100"}
	}
	return nil
}

func checkChannel(field, channel string) error {
	if channel != "sms" && channel != "email" {
		return &FieldError{field, "must be sms or email"}
	}
	return nil
}

func checkMessage(field, channel string, m *Message) error {
	if strings.TrimSpace(m.Text) == "" {
		return &FieldError{field + ".text", "is required"}
	}
	if channel == "email" && m.Subject == "" {
		return &FieldError{field + ".subject", "is required for mail"}
	}
	if err := CheckTemplate(m.Text); err != nil {
		return &FieldError{field + ".text", err.Error()}
	}
	if err := CheckTemplate(m.Subject); err != nil {
		return &FieldError{field + ".subject", err.Error()}
	}
	return nil
}

// Template implements Params for the happy call.
func (h *HappyCall) Template(step, field string) (Message, bool) {
	t, ok := h.Touch(step)
	if !ok {
		return Message{}, false
	}
	switch field {
	case "sms":
		return Message{Text: t.SMS}, t.SMS != ""
	case "fallback_sms":
		return Message{Text: t.FallbackSMS}, t.FallbackSMS != ""
	case "email":
		return Message{Subject: t.EmailSubject, Text: t.Email}, t.Email != ""
	case "call_script":
		return Message{Text: t.CallScript}, true
	}
	return Message{}, false
}

// ExitsOnPurchase implements Params: after-sales follow-up continues
// whatever the customer buys next.
func (h *HappyCall) ExitsOnPurchase() bool { return false }
