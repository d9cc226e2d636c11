package programs

import (
	"fmt"

	"github.com/dangol/dangol/compliance"
)

// Every step of every program has a purpose (issue 7): marketing
// (advertising, which needs advertising consent, waits out quiet hours and
// counts against the frequency cap) or service (information the customer
// needs). The marketer may set it per step; a step left without one takes
// its kind's default at normalisation, so the API shows it and stored
// params written before purposes existed read back with the defaults.

// DefaultPurpose is the purpose of a kind's step when the marketer set
// none. Workflows and the send activity call it for a plan pinned before
// plans carried purposes, so it depends on nothing but its arguments: a
// happy call's touches (thank-you, check-ins, call fallbacks) and a second
// purchase's thank-you are service, as is a welcome-back's reminder of a
// coupon already given; everything that issues or advertises a coupon, a
// wake-up step and a birthday card are marketing. An unknown kind or step
// is marketing, the purpose with the stricter rules.
func DefaultPurpose(kind, step string) string {
	switch kind {
	case KindHappyCall:
		return compliance.PurposeService
	case KindWelcomeBack:
		if step == StepReminder {
			return compliance.PurposeService
		}
	case KindSecondPurchase:
		if step == StepThankYou {
			return compliance.PurposeService
		}
	}
	return compliance.PurposeMarketing
}

// ResolvePurpose is a pinned step's purpose: pinned itself, or, when a
// plan pinned before steps had purposes left it empty, DefaultPurpose.
func ResolvePurpose(kind, step, pinned string) string {
	if pinned != "" {
		return pinned
	}
	return DefaultPurpose(kind, step)
}

// checkPurpose fills a step's missing purpose with def and refuses an
// unknown one, or service on a step that issues a coupon: a coupon offer
// is advertising whatever the marketer calls it.
func checkPurpose(field string, purpose *string, def string, issuesCoupon bool) error {
	if *purpose == "" {
		*purpose = def
	}
	switch *purpose {
	case compliance.PurposeMarketing:
	case compliance.PurposeService:
		if issuesCoupon {
			return &FieldError{field, "must be marketing: this step issues a coupon, and a coupon offer is advertising"}
		}
	default:
		return &FieldError{field, "must be marketing or service"}
	}
	return nil
}

// StepMessage is the message of a step that is one message (a
// welcome-back's greeting, a birthday card), with the step's purpose.
type StepMessage struct {
	Message
	Purpose string `json:"purpose"`
}

// smsReserve is what the engine may add to a marketing SMS for a Korean
// customer at render time, in UTF-16 units: "(광고)" (4), the sender name
// (at most 40 characters), a line break and the opt-out line "무료수신거부
// 080-XXXX-XXXX" (1 + 7 + 13), and a separator after the name (1): 66,
// kept at 70. A marketing SMS template must fit MaxSMSChars without it so
// the message still fits after the additions.
const smsReserve = 70

// MaxMarketingSMSChars is the most a marketing SMS template may render to.
const MaxMarketingSMSChars = MaxSMSChars - smsReserve

// checkMarketingSMS refuses a marketing SMS template that could exceed
// MaxSMSChars once the engine's additions are in. Parse (create, update)
// checks it, Decode does not: a program stored before the reserve existed
// keeps reading back, and the send path bounds the finished message.
func checkMarketingSMS(p Params) error {
	for _, m := range smsTexts(p) {
		if m.purpose != compliance.PurposeMarketing {
			continue
		}
		if err := checkTemplateWithin(m.text, PartSMS, MaxMarketingSMSChars); err != nil {
			return &FieldError{m.field, fmt.Sprintf("%v: a marketing SMS keeps %d of the %d for what the engine adds for Korean customers ((광고), the sender name, the opt-out line)",
				err, smsReserve, MaxSMSChars)}
		}
	}
	return nil
}

type smsText struct{ field, text, purpose string }

// smsTexts lists the SMS templates of normalised params with their
// fields and purposes.
func smsTexts(p Params) []smsText {
	var out []smsText
	switch p := p.(type) {
	case *HappyCall:
		for i, t := range p.Touches {
			f := fmt.Sprintf("params.touches[%d]", i)
			out = append(out, smsText{f + ".sms", t.SMS, t.Purpose}, smsText{f + ".fallback_sms", t.FallbackSMS, t.Purpose})
		}
	case *WelcomeBack:
		if p.Channel == "sms" {
			out = append(out, smsText{"params.greeting.text", p.Greeting.Text, p.Greeting.Purpose},
				smsText{"params.reminder.text", p.Reminder.Text, p.Reminder.Purpose})
		}
	case *DormantWakeup:
		for i, s := range p.Steps {
			if s.Channel == "sms" {
				out = append(out, smsText{fmt.Sprintf("params.steps[%d].message.text", i), s.Message.Text, s.Purpose})
			}
		}
	case *Birthday:
		out = append(out, smsText{"params.greeting.text", p.Greeting.Text, p.Greeting.Purpose})
	case *SecondPurchase:
		if p.Channel == "sms" {
			out = append(out, smsText{"params.thank_you.text", p.ThankYou.Text, p.ThankYou.Purpose},
				smsText{"params.coupon_message.text", p.CouponMessage.Text, p.CouponMessage.Purpose})
		}
	}
	return out
}

// Purpose implements Params.
func (h *HappyCall) Purpose(step string) string {
	if t, ok := h.Touch(step); ok && t.Purpose != "" {
		return t.Purpose
	}
	return DefaultPurpose(KindHappyCall, step)
}

// Purpose implements Params.
func (w *WelcomeBack) Purpose(step string) string {
	return stepPurpose(KindWelcomeBack, step, map[string]string{StepGreeting: w.Greeting.Purpose, StepReminder: w.Reminder.Purpose})
}

// Purpose implements Params.
func (d *DormantWakeup) Purpose(step string) string {
	for _, s := range d.Steps {
		if s.Key == step && s.Purpose != "" {
			return s.Purpose
		}
	}
	return DefaultPurpose(KindDormantWakeup, step)
}

// Purpose implements Params.
func (b *Birthday) Purpose(step string) string {
	return stepPurpose(KindBirthday, step, map[string]string{StepCard: b.Card.Purpose, StepGreeting: b.Greeting.Purpose})
}

// Purpose implements Params.
func (s *SecondPurchase) Purpose(step string) string {
	return stepPurpose(KindSecondPurchase, step, map[string]string{StepThankYou: s.ThankYou.Purpose, StepCoupon: s.CouponMessage.Purpose})
}

func stepPurpose(kind, step string, set map[string]string) string {
	return ResolvePurpose(kind, step, set[step])
}
