package programs

import "fmt"

// WelcomeBack invites lapsed customers back with a personal greeting and a
// unique coupon, and reminds them before it expires (seed 003: 컴백
// 프로그램).
type WelcomeBack struct {
	Sweep
	// LapsedDays is the audience's days since last purchase when the
	// audience does not say otherwise.
	LapsedDays     int    `json:"lapsed_days"`
	Channel        string `json:"channel"`
	Coupon         Coupon `json:"coupon"`
	ReminderBefore Offset `json:"reminder_before"`
	// Greeting issues the coupon (marketing); Reminder tells of the coupon
	// already given (service by default).
	Greeting StepMessage `json:"greeting"`
	Reminder StepMessage `json:"reminder"`
	Pacing
	Rules
	Measure
}

// Steps of the welcome-back program.
const (
	StepGreeting = "greeting"
	StepReminder = "reminder"
)

// Normalize implements Params.
func (w *WelcomeBack) Normalize() error {
	if w.LapsedDays == 0 {
		w.LapsedDays = 90
	}
	if err := checkLapsedDays(w.LapsedDays); err != nil {
		return err
	}
	if w.Audience.LastPurchaseOlderThanDays == nil {
		d := w.LapsedDays
		w.Audience.LastPurchaseOlderThanDays = &d
	}
	if w.Channel == "" {
		w.Channel = "sms"
	}
	if err := checkChannel("params.channel", w.Channel); err != nil {
		return err
	}
	if err := w.Sweep.normalize(w.Channel); err != nil {
		return err
	}
	if err := w.Coupon.normalize("params.coupon", "30d"); err != nil {
		return err
	}
	if err := w.Pacing.normalize(true); err != nil {
		return err
	}
	if err := w.Measure.normalize(true); err != nil {
		return err
	}
	if err := w.Rules.check(); err != nil {
		return err
	}
	if w.ReminderBefore.IsZero() {
		w.ReminderBefore = MustOffset("7d")
	}
	if err := checkOffset("params.reminder_before", w.ReminderBefore); err != nil {
		return err
	}
	if w.Greeting.Text == "" {
		w.Greeting.Message = Message{Subject: "{{.Name}}님, 다시 만나고 싶어요", Text: "{{.Name}}님, 오랜만이에요. 다시 찾아주시면 드리는 {{.CouponValue}} 할인 쿠폰: {{.Coupon}} ({{.CouponExpires}}까지)"}
	}
	if w.Reminder.Text == "" {
		w.Reminder.Message = Message{Subject: "{{.Name}}님, 쿠폰이 곧 만료돼요", Text: "{{.Name}}님, {{.CouponValue}} 할인 쿠폰 {{.Coupon}}이 {{.CouponExpires}}에 만료됩니다."}
	}
	if err := checkPurpose("params.greeting.purpose", &w.Greeting.Purpose, DefaultPurpose(KindWelcomeBack, StepGreeting), true); err != nil {
		return err
	}
	if err := checkPurpose("params.reminder.purpose", &w.Reminder.Purpose, DefaultPurpose(KindWelcomeBack, StepReminder), false); err != nil {
		return err
	}
	if err := checkMessage("params.greeting", w.Channel, &w.Greeting.Message); err != nil {
		return err
	}
	return checkMessage("params.reminder", w.Channel, &w.Reminder.Message)
}

// Template implements Params.
func (w *WelcomeBack) Template(step, _ string) (Message, bool) {
	switch step {
	case StepGreeting:
		return w.Greeting.Message, true
	case StepReminder:
		return w.Reminder.Message, true
	}
	return Message{}, false
}

// ExitsOnPurchase implements Params: coming back is the goal.
func (w *WelcomeBack) ExitsOnPurchase() bool { return true }

// DormantWakeup is a months-long cadence for long-lapsed customers, after
// which they are marked dormant (seed 003: 휴면고객 Wake-up — personal
// greeting, personal DM, collect the voice of the customer).
type DormantWakeup struct {
	Sweep
	LapsedDays int          `json:"lapsed_days"`
	Coupon     Coupon       `json:"coupon"`
	Steps      []WakeupStep `json:"steps"`
	Pacing
	Rules
	Measure
}

// WakeupStep is one contact of the wake-up cadence, Offset after entry.
type WakeupStep struct {
	Key     string  `json:"key"`
	Offset  Offset  `json:"offset"`
	Channel string  `json:"channel"`
	Message Message `json:"message"`
	// Coupon attaches a unique coupon ({{.Coupon}} in the message).
	Coupon bool `json:"coupon,omitempty"`
	// Survey attaches a link ({{.SurveyURL}}) that records why they left.
	Survey bool `json:"survey,omitempty"`
	// Purpose of the step's message: marketing by default (a wake-up
	// advertises); service only for a step without a coupon.
	Purpose string `json:"purpose"`
}

// DefaultWakeupSteps: day 0 SMS, +30 days mail, +90 days SMS with a coupon,
// +180 days mail asking why they left.
func DefaultWakeupSteps() []WakeupStep {
	return []WakeupStep{
		{Key: "d0", Offset: MustOffset("0d"), Channel: "sms", Message: Message{Text: "{{.Name}}님, 잘 지내시죠? 요즘 뵙지 못해 안부 여쭙니다."}},
		{Key: "d30", Offset: MustOffset("30d"), Channel: "email", Message: Message{Subject: "{{.Name}}님께 드리는 이번 시즌 소식", Text: "{{.Name}}님, 새로 들어온 상품을 소개해 드려요."}},
		{Key: "d90", Offset: MustOffset("90d"), Channel: "sms", Coupon: true, Message: Message{Text: "{{.Name}}님, 다시 오시면 {{.CouponValue}} 할인: {{.Coupon}} ({{.CouponExpires}}까지)"}},
		{Key: "d180", Offset: MustOffset("180d"), Channel: "email", Survey: true, Message: Message{Subject: "{{.Name}}님, 한 가지만 여쭤봐도 될까요?", Text: "저희가 무엇을 놓쳤는지 알려주세요: {{.SurveyURL}}"}},
	}
}

// Normalize implements Params.
func (d *DormantWakeup) Normalize() error {
	if d.LapsedDays == 0 {
		d.LapsedDays = 180
	}
	if err := checkLapsedDays(d.LapsedDays); err != nil {
		return err
	}
	if d.Audience.LastPurchaseOlderThanDays == nil {
		n := d.LapsedDays
		d.Audience.LastPurchaseOlderThanDays = &n
	}
	if d.Audience.Lifecycle == "" {
		d.Audience.Lifecycle = "active"
	}
	if d.Steps == nil {
		d.Steps = DefaultWakeupSteps()
	}
	if len(d.Steps) == 0 || len(d.Steps) > MaxSteps {
		return &FieldError{"params.steps", fmt.Sprintf("must have between 1 and %d steps", MaxSteps)}
	}
	// The audience needs a channel consent; the first step's channel is
	// the one the program opens with.
	if err := checkChannel("params.steps[0].channel", d.Steps[0].Channel); err != nil {
		return err
	}
	if err := d.Sweep.normalize(d.Steps[0].Channel); err != nil {
		return err
	}
	if err := d.Coupon.normalize("params.coupon", "30d"); err != nil {
		return err
	}
	if err := d.Pacing.normalize(true); err != nil {
		return err
	}
	if err := d.Measure.normalize(true); err != nil {
		return err
	}
	if err := d.Rules.check(); err != nil {
		return err
	}
	seen := map[string]bool{}
	var last Offset
	for i := range d.Steps {
		s := &d.Steps[i]
		f := fmt.Sprintf("params.steps[%d]", i)
		if s.Key == "" {
			s.Key = fmt.Sprintf("s%d", i+1)
		}
		if err := checkKey(f+".key", s.Key); err != nil {
			return err
		}
		if seen[s.Key] {
			return &FieldError{f + ".key", fmt.Sprintf("duplicate key %q", s.Key)}
		}
		seen[s.Key] = true
		if err := checkOffset(f+".offset", s.Offset); err != nil {
			return err
		}
		if i > 0 && s.Offset.Span() < last.Span() {
			return &FieldError{f + ".offset", "must not be earlier than the step before"}
		}
		last = s.Offset
		if err := checkChannel(f+".channel", s.Channel); err != nil {
			return err
		}
		if err := checkPurpose(f+".purpose", &s.Purpose, DefaultPurpose(KindDormantWakeup, s.Key), s.Coupon); err != nil {
			return err
		}
		if err := checkMessage(f+".message", s.Channel, &s.Message); err != nil {
			return err
		}
	}
	return nil
}

// Template implements Params.
func (d *DormantWakeup) Template(step, _ string) (Message, bool) {
	for _, s := range d.Steps {
		if s.Key == step {
			return s.Message, true
		}
	}
	return Message{}, false
}

// ExitsOnPurchase implements Params.
func (d *DormantWakeup) ExitsOnPurchase() bool { return true }

// Birthday sends a card by mail some days before and an SMS greeting with a
// coupon on the day, every year (seed 003: 기념일 기억하기).
type Birthday struct {
	Sweep
	CardBefore Offset `json:"card_before"`
	// Card (it advertises) and Greeting (it issues the coupon) are
	// marketing by default.
	Card     StepMessage `json:"card"`
	Greeting StepMessage `json:"greeting"`
	Coupon   Coupon      `json:"coupon"`
	// Pacing's SendHour is the local hour of the customer's day the card
	// and the greeting go.
	Pacing
	Rules
	Measure
}

// Steps of the birthday program.
const (
	StepCard = "card"
)

// Normalize implements Params.
func (b *Birthday) Normalize() error {
	if b.Audience.HasBirthday == nil {
		t := true
		b.Audience.HasBirthday = &t
	}
	// The card goes by mail, the greeting by SMS: either consent will do,
	// each send checks its own.
	if err := b.Sweep.normalize(""); err != nil {
		return err
	}
	if b.CardBefore.IsZero() {
		b.CardBefore = MustOffset("7d")
	}
	if err := checkOffset("params.card_before", b.CardBefore); err != nil {
		return err
	}
	if err := b.Pacing.normalize(true); err != nil {
		return err
	}
	if err := b.Coupon.normalize("params.coupon", "14d"); err != nil {
		return err
	}
	if err := b.Measure.normalize(true); err != nil {
		return err
	}
	if err := b.Rules.check(); err != nil {
		return err
	}
	if b.Card.Text == "" {
		b.Card.Message = Message{Subject: "{{.Name}}님, 생일을 미리 축하드려요", Text: "{{.Name}}님, 다가오는 생일을 진심으로 축하드립니다."}
	}
	if b.Greeting.Text == "" {
		b.Greeting.Message = Message{Text: "{{.Name}}님, 생일 축하드려요! 선물로 {{.CouponValue}} 할인 쿠폰을 드려요: {{.Coupon}} ({{.CouponExpires}}까지)"}
	}
	if err := checkPurpose("params.card.purpose", &b.Card.Purpose, DefaultPurpose(KindBirthday, StepCard), false); err != nil {
		return err
	}
	if err := checkPurpose("params.greeting.purpose", &b.Greeting.Purpose, DefaultPurpose(KindBirthday, StepGreeting), true); err != nil {
		return err
	}
	if err := checkMessage("params.card", "email", &b.Card.Message); err != nil {
		return err
	}
	return checkMessage("params.greeting", "sms", &b.Greeting.Message)
}

// Template implements Params.
func (b *Birthday) Template(step, _ string) (Message, bool) {
	switch step {
	case StepCard:
		return b.Card.Message, true
	case StepGreeting:
		return b.Greeting.Message, true
	}
	return Message{}, false
}

// ExitsOnPurchase implements Params: a birthday is not a campaign to win.
func (b *Birthday) ExitsOnPurchase() bool { return false }

// SecondPurchase turns a first-time buyer into a customer: a thank-you
// message, then a coupon valid for some days (seed 003: 신규고객 재구입 촉진).
type SecondPurchase struct {
	Channel string `json:"channel"`
	// CouponAfter is when, after the first purchase, the coupon is sent.
	CouponAfter Offset `json:"coupon_after"`
	Coupon      Coupon `json:"coupon"`
	// ThankYou is service by default; CouponMessage issues the coupon
	// (marketing).
	ThankYou      StepMessage `json:"thank_you"`
	CouponMessage StepMessage `json:"coupon_message"`
	// Pacing's SendHour does not apply: messages that follow a purchase go
	// in the daytime (see enrol).
	Pacing
	Rules
	Measure
}

// Steps of the second-purchase program.
const (
	StepThankYou = "thank_you"
	StepCoupon   = "coupon"
)

// Normalize implements Params.
func (s *SecondPurchase) Normalize() error {
	if s.Channel == "" {
		s.Channel = "sms"
	}
	if err := checkChannel("params.channel", s.Channel); err != nil {
		return err
	}
	if s.CouponAfter.IsZero() {
		s.CouponAfter = MustOffset("1d")
	}
	if err := checkOffset("params.coupon_after", s.CouponAfter); err != nil {
		return err
	}
	if err := s.Coupon.normalize("params.coupon", "14d"); err != nil {
		return err
	}
	if err := s.Pacing.normalize(false); err != nil {
		return err
	}
	if err := s.Measure.normalize(false); err != nil {
		return err
	}
	if err := s.Rules.check(); err != nil {
		return err
	}
	if s.ThankYou.Text == "" {
		s.ThankYou.Message = Message{Subject: "{{.Name}}님, 첫 구매 감사합니다", Text: "[{{.Store}}] {{.Name}}님, 처음 찾아주셔서 감사합니다."}
	}
	if s.CouponMessage.Text == "" {
		s.CouponMessage.Message = Message{Subject: "{{.Name}}님께 드리는 쿠폰", Text: "{{.Name}}님, 다음 방문 때 쓰실 {{.CouponValue}} 할인 쿠폰: {{.Coupon}} ({{.CouponExpires}}까지)"}
	}
	if err := checkPurpose("params.thank_you.purpose", &s.ThankYou.Purpose, DefaultPurpose(KindSecondPurchase, StepThankYou), false); err != nil {
		return err
	}
	if err := checkPurpose("params.coupon_message.purpose", &s.CouponMessage.Purpose, DefaultPurpose(KindSecondPurchase, StepCoupon), true); err != nil {
		return err
	}
	if err := checkMessage("params.thank_you", s.Channel, &s.ThankYou.Message); err != nil {
		return err
	}
	return checkMessage("params.coupon_message", s.Channel, &s.CouponMessage.Message)
}

// Template implements Params.
func (s *SecondPurchase) Template(step, _ string) (Message, bool) {
	switch step {
	case StepThankYou:
		return s.ThankYou.Message, true
	case StepCoupon:
		return s.CouponMessage.Message, true
	}
	return Message{}, false
}

// ExitsOnPurchase implements Params: the second purchase is the goal.
func (s *SecondPurchase) ExitsOnPurchase() bool { return true }
