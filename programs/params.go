package programs

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/compliance"
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
	// Purpose is a step's purpose (compliance.PurposeMarketing or
	// PurposeService): the one set, or the kind's default.
	Purpose(step string) string
	// Overrides are the program's own compliance rules
	// (params.compliance), empty when it has none.
	Overrides() compliance.Overrides
	// Measurement is how the program is measured (holdout, attribution).
	Measurement() Measure
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
	if !validZoneName(s.TimeZone) {
		return &FieldError{"params.time_zone", "must be an IANA zone such as Asia/Seoul"}
	}
	if s.Hour < 0 || s.Hour > 23 {
		return &FieldError{"params.hour", "must be 0-23"}
	}
	if err := checkEvery(s.Every); err != nil {
		return err
	}
	if s.Cooldown.IsZero() {
		s.Cooldown = MustOffset("180d")
	}
	if err := checkOffset("params.cooldown", s.Cooldown); err != nil {
		return err
	}
	if s.Audience.Consent == "" {
		s.Audience.Consent = channel
	}
	// Checked as the sweep will compile it, so a stored program never
	// fails its sweep.
	var fe *audience.FieldError
	if err := s.Audience.Validate(); errors.As(err, &fe) {
		return &FieldError{"params." + fe.Field, fe.Message}
	} else if err != nil {
		return &FieldError{"params.audience", err.Error()}
	}
	return nil
}

// validZoneName accepts the IANA names time.LoadLocation finds, and no
// path tricks or "Local" (the server's zone, which would move with it).
func validZoneName(name string) bool {
	if len(name) > maxTimeZoneLen || name == "Local" || !zonePattern.MatchString(name) {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

var zonePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*)*$`)

// Coupon says what coupon a program issues.
type Coupon struct {
	Kind     string `json:"kind"` // amount or percent
	Value    string `json:"value"`
	Currency string `json:"currency,omitempty"`
	ValidFor Offset `json:"valid_for"`
}

var (
	decimalPattern  = regexp.MustCompile(`^\d{1,12}(\.\d{1,2})?$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

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
	c.Currency = strings.ToUpper(c.Currency)
	if c.ValidFor.IsZero() {
		c.ValidFor = MustOffset(defaultValid)
	}
	switch {
	case c.Kind != "amount" && c.Kind != "percent":
		return &FieldError{field + ".kind", "must be amount or percent"}
	case !decimalPattern.MatchString(c.Value) || strings.Trim(c.Value, "0.") == "":
		return &FieldError{field + ".value", "must be a positive number with at most 12 digits and 2 decimals"}
	case c.Kind == "percent" && new(big.Rat).Cmp(percentValue(c.Value)) > 0:
		return &FieldError{field + ".value", "a percentage is at most 100"}
	case !currencyPattern.MatchString(c.Currency):
		return &FieldError{field + ".currency", "must be an ISO 4217 code such as KRW"}
	}
	return checkOffset(field+".valid_for", c.ValidFor)
}

// percentValue is 100 - v for a valid decimal v, so a negative result
// means over 100.
func percentValue(v string) *big.Rat {
	r, _ := new(big.Rat).SetString(v)
	return new(big.Rat).Sub(big.NewRat(100, 1), r)
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
	if err := checkTemplate(field+".text", m.Text, BodyPart(channel)); err != nil {
		return err
	}
	return checkTemplate(field+".subject", m.Subject, PartMailSubject)
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
