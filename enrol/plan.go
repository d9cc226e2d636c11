package enrol

import (
	"time"

	"github.com/dangol/dangol/programs"
)

// Timing is when an enrolment's messages may go, pinned with its plan.
type Timing struct {
	// Exact sends each message at its step's moment, at any hour: a plan
	// counted in seconds and minutes only (tests and demos, see ExactPlan).
	Exact bool `json:",omitempty"`
	// From and To are the customer's local hours, [From, To), messages go
	// in: a segment program's send hour (To = From+1), or the daytime
	// (DaytimeFrom-DaytimeTo) for programs that follow a purchase. A
	// message due outside them waits for the next From:00.
	From, To int
	// MinSpacing is the least time between two messages of the
	// enrolment. It never holds a step back further than the plan itself
	// spaced it from the one before, so it only matters when steps come
	// due together (after a pause or an outage).
	MinSpacing programs.Offset
	// SpreadSeconds spreads messages that waited for the send hour over
	// its first seconds, by customer (compliance.Spread). Plans pinned
	// before it have none and release at the hour, as they did.
	SpreadSeconds int `json:",omitempty"`
}

// Messages that follow a purchase (happy call, second purchase) go between
// 10:00 and 20:00 in the customer's zone.
const (
	DaytimeFrom = 10
	DaytimeTo   = 20
)

// exactBelow is the longest offset of a plan that still runs on exact
// time: plans in seconds and minutes are tests and demos; a plan with an
// hour, a day or more is a marketer's and keeps to the send hours.
const exactBelow = time.Hour

// ExactPlan reports whether a plan with these offsets (those that time
// its messages: steps, reminders, call windows, not a coupon's validity
// unless a message counts back from it) runs on exact time: at least one
// is set and every one is under an hour with no calendar unit. "72h" or
// "1d" keep to the send hours.
func ExactPlan(offsets ...programs.Offset) bool {
	set := false
	for _, o := range offsets {
		if o.IsZero() {
			continue
		}
		if o.Months != 0 || o.Days != 0 || o.Exact >= exactBelow {
			return false
		}
		set = true
	}
	return set
}

func sendHourTiming(p programs.Pacing, offsets ...programs.Offset) Timing {
	h := programs.DefaultSendHour
	if p.SendHour != nil {
		h = *p.SendHour
	}
	t := Timing{Exact: ExactPlan(offsets...), From: h, To: h + 1, MinSpacing: minSpacing(p)}
	if p.SendSpread != nil {
		t.SpreadSeconds = int(p.SendSpread.Exact / time.Second)
	}
	return t
}

// daytimeTiming is the timing of messages that follow a purchase. Those
// that came due at night wait for DaytimeFrom and are spread over its
// first part by customer, as a segment program's are over its send hour
// (the default send_spread): a night of purchases is not one spike at
// 10:00:00. Their programs take no send_spread of their own.
func daytimeTiming(p programs.Pacing, offsets ...programs.Offset) Timing {
	t := legacyDaytimeTiming(p, offsets...)
	t.SpreadSeconds = int(programs.MustOffset(programs.DefaultSendSpread).Exact / time.Second)
	return t
}

// legacyDaytimeTiming is daytimeTiming as plans pinned before the spread
// (and inputs that carry no plan) have it: released at DaytimeFrom sharp.
func legacyDaytimeTiming(p programs.Pacing, offsets ...programs.Offset) Timing {
	return Timing{Exact: ExactPlan(offsets...), From: DaytimeFrom, To: DaytimeTo, MinSpacing: minSpacing(p)}
}

func minSpacing(p programs.Pacing) programs.Offset {
	if p.MinSpacing != nil {
		return *p.MinSpacing
	}
	return programs.MustOffset(programs.DefaultMinSpacing)
}

// HappyCallTiming is the timing a happy call is pinned to: daytime with
// its spread, default spacing. (The happy call's parameters have no pacing
// of their own.)
func HappyCallTiming(steps []programs.Step, callWindow programs.Offset) Timing {
	return daytimeTiming(programs.Pacing{}, happyCallOffsets(steps, callWindow)...)
}

// LegacyHappyCallTiming is the timing of a happy call whose input carries
// none (written before timings were pinned): without the spread, as such
// runs were recorded.
func LegacyHappyCallTiming(steps []programs.Step, callWindow programs.Offset) Timing {
	return legacyDaytimeTiming(programs.Pacing{}, happyCallOffsets(steps, callWindow)...)
}

func happyCallOffsets(steps []programs.Step, callWindow programs.Offset) []programs.Offset {
	var offsets []programs.Offset
	for _, s := range steps {
		offsets = append(offsets, s.Offset)
		if s.Call {
			offsets = append(offsets, callWindow)
		}
	}
	return offsets
}

// Each planned step carries its purpose (compliance.PurposeMarketing or
// PurposeService), pinned like the rest of the plan. Plans pinned before
// steps had purposes leave them empty; their Purpose methods then give the
// kind's default for the step (programs.ResolvePurpose), which is what
// such a program's steps were.

// WelcomeBackPlan is what a welcome-back enrolment is pinned to.
type WelcomeBackPlan struct {
	Channel         string
	Coupon          programs.Coupon
	ReminderBefore  programs.Offset
	Timing          Timing
	GreetingPurpose string `json:",omitempty"`
	ReminderPurpose string `json:",omitempty"`
}

// Purpose is the pinned purpose of the step (programs.StepGreeting or
// StepReminder).
func (p WelcomeBackPlan) Purpose(step string) string {
	pinned := p.GreetingPurpose
	if step == programs.StepReminder {
		pinned = p.ReminderPurpose
	}
	return programs.ResolvePurpose(programs.KindWelcomeBack, step, pinned)
}

// DormantWakeupPlan is what a wake-up enrolment is pinned to.
type DormantWakeupPlan struct {
	Steps  []WakeupStep
	Coupon programs.Coupon
	Timing Timing
}

// WakeupStep is one contact of the wake-up cadence, without its message.
type WakeupStep struct {
	Key     string
	Offset  programs.Offset
	Channel string
	Coupon  bool   `json:",omitempty"`
	Survey  bool   `json:",omitempty"`
	Purpose string `json:",omitempty"`
}

// PurposeOf is the step's pinned purpose.
func (s WakeupStep) PurposeOf() string {
	return programs.ResolvePurpose(programs.KindDormantWakeup, s.Key, s.Purpose)
}

// BirthdayPlan is what a birthday enrolment is pinned to; Timing.From is
// the send hour.
type BirthdayPlan struct {
	CardBefore      programs.Offset
	Coupon          programs.Coupon
	Timing          Timing
	CardPurpose     string `json:",omitempty"`
	GreetingPurpose string `json:",omitempty"`
}

// Purpose is the pinned purpose of the step (programs.StepCard or
// StepGreeting).
func (p BirthdayPlan) Purpose(step string) string {
	pinned := p.GreetingPurpose
	if step == programs.StepCard {
		pinned = p.CardPurpose
	}
	return programs.ResolvePurpose(programs.KindBirthday, step, pinned)
}

// SecondPurchasePlan is what a second-purchase enrolment is pinned to.
type SecondPurchasePlan struct {
	Channel         string
	CouponAfter     programs.Offset
	Coupon          programs.Coupon
	Timing          Timing
	ThankYouPurpose string `json:",omitempty"`
	CouponPurpose   string `json:",omitempty"`
}

// Purpose is the pinned purpose of the step (programs.StepThankYou or
// StepCoupon).
func (p SecondPurchasePlan) Purpose(step string) string {
	pinned := p.CouponPurpose
	if step == programs.StepThankYou {
		pinned = p.ThankYouPurpose
	}
	return programs.ResolvePurpose(programs.KindSecondPurchase, step, pinned)
}

// HappyCallPurpose is a happy call step's pinned purpose.
func HappyCallPurpose(s programs.Step) string {
	return programs.ResolvePurpose(programs.KindHappyCall, s.Key, s.Purpose)
}

// PlanWelcomeBack pins a welcome-back program's parameters.
func PlanWelcomeBack(p programs.WelcomeBack) WelcomeBackPlan {
	return WelcomeBackPlan{Channel: p.Channel, Coupon: p.Coupon, ReminderBefore: p.ReminderBefore,
		Timing:          sendHourTiming(p.Pacing, p.ReminderBefore, p.Coupon.ValidFor),
		GreetingPurpose: p.Purpose(programs.StepGreeting), ReminderPurpose: p.Purpose(programs.StepReminder)}
}

// PlanDormantWakeup pins a wake-up program's parameters.
func PlanDormantWakeup(p programs.DormantWakeup) DormantWakeupPlan {
	plan := DormantWakeupPlan{Coupon: p.Coupon}
	var offsets []programs.Offset
	for _, s := range p.Steps {
		plan.Steps = append(plan.Steps, WakeupStep{Key: s.Key, Offset: s.Offset, Channel: s.Channel, Coupon: s.Coupon, Survey: s.Survey,
			Purpose: programs.ResolvePurpose(programs.KindDormantWakeup, s.Key, s.Purpose)})
		offsets = append(offsets, s.Offset)
	}
	plan.Timing = sendHourTiming(p.Pacing, offsets...)
	return plan
}

// PlanBirthday pins a birthday program's parameters.
func PlanBirthday(p programs.Birthday) BirthdayPlan {
	return BirthdayPlan{CardBefore: p.CardBefore, Coupon: p.Coupon, Timing: sendHourTiming(p.Pacing, p.CardBefore),
		CardPurpose: p.Purpose(programs.StepCard), GreetingPurpose: p.Purpose(programs.StepGreeting)}
}

// PlanSecondPurchase pins a second-purchase program's parameters.
func PlanSecondPurchase(p programs.SecondPurchase) SecondPurchasePlan {
	return SecondPurchasePlan{Channel: p.Channel, CouponAfter: p.CouponAfter, Coupon: p.Coupon,
		Timing:          daytimeTiming(p.Pacing, p.CouponAfter),
		ThankYouPurpose: p.Purpose(programs.StepThankYou), CouponPurpose: p.Purpose(programs.StepCoupon)}
}

// The Legacy types read the parameters that inputs written before plans
// were pinned carried; JSON decoding drops their texts and audience.

// LegacyWelcomeBack is the deprecated WelcomeBackInput.Params.
type LegacyWelcomeBack struct {
	Channel        string          `json:"channel"`
	Coupon         programs.Coupon `json:"coupon"`
	ReminderBefore programs.Offset `json:"reminder_before"`
	programs.Pacing
}

// Plan is the plan the parameters stand for.
func (l LegacyWelcomeBack) Plan() WelcomeBackPlan {
	return PlanWelcomeBack(programs.WelcomeBack{Channel: l.Channel, Coupon: l.Coupon, ReminderBefore: l.ReminderBefore, Pacing: l.Pacing})
}

// LegacyDormantWakeup is the deprecated DormantWakeupInput.Params.
type LegacyDormantWakeup struct {
	Coupon programs.Coupon `json:"coupon"`
	Steps  []struct {
		Key     string          `json:"key"`
		Offset  programs.Offset `json:"offset"`
		Channel string          `json:"channel"`
		Coupon  bool            `json:"coupon,omitempty"`
		Survey  bool            `json:"survey,omitempty"`
	} `json:"steps"`
	programs.Pacing
}

// Plan is the plan the parameters stand for.
func (l LegacyDormantWakeup) Plan() DormantWakeupPlan {
	p := programs.DormantWakeup{Coupon: l.Coupon, Pacing: l.Pacing}
	for _, s := range l.Steps {
		p.Steps = append(p.Steps, programs.WakeupStep{Key: s.Key, Offset: s.Offset, Channel: s.Channel, Coupon: s.Coupon, Survey: s.Survey})
	}
	return PlanDormantWakeup(p)
}

// LegacyBirthday is the deprecated BirthdayInput.Params.
type LegacyBirthday struct {
	CardBefore programs.Offset `json:"card_before"`
	Coupon     programs.Coupon `json:"coupon"`
	programs.Pacing
}

// Plan is the plan the parameters stand for.
func (l LegacyBirthday) Plan() BirthdayPlan {
	return PlanBirthday(programs.Birthday{CardBefore: l.CardBefore, Coupon: l.Coupon, Pacing: l.Pacing})
}

// LegacySecondPurchase is the deprecated SecondPurchaseInput.Params.
type LegacySecondPurchase struct {
	Channel     string          `json:"channel"`
	CouponAfter programs.Offset `json:"coupon_after"`
	Coupon      programs.Coupon `json:"coupon"`
	programs.Pacing
}

// Plan is the plan the parameters stand for.
func (l LegacySecondPurchase) Plan() SecondPurchasePlan {
	plan := PlanSecondPurchase(programs.SecondPurchase{Channel: l.Channel, CouponAfter: l.CouponAfter, Coupon: l.Coupon, Pacing: l.Pacing})
	// Such inputs predate the daytime spread: they run as they were recorded.
	plan.Timing = legacyDaytimeTiming(l.Pacing, l.CouponAfter)
	return plan
}
