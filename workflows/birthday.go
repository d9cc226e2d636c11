package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// SignalBirthdayChanged carries a BirthdayChanged when a customer's
// birthday is corrected or removed: the pending card or greeting moves to
// the new date.
const SignalBirthdayChanged = "birthday-changed"

// BirthdayChanged is the payload of SignalBirthdayChanged.
type BirthdayChanged struct {
	Month   time.Month
	Day     int
	Removed bool
}

// BirthdayInput is the workflow's input (see enrol).
type BirthdayInput = enrol.BirthdayInput

// Birthday remembers a customer's birthday every year: a card by mail
// CardBefore the day, and on the day an SMS greeting with a coupon, both
// at SendHour in the customer's zone. A Feb 29 birthday is kept on Feb 28
// in other years. After the greeting the year's run continues as new with
// the next year, so the enrolment lives on with a short history. A
// corrected birthday moves what is still to come; a removed one ends the
// enrolment.
func Birthday(ctx workflow.Context, in BirthdayInput) (Journey, error) {
	var plan enrol.BirthdayPlan
	switch {
	case in.Plan != nil:
		plan = *in.Plan
	case in.LegacyParams != nil:
		plan = in.LegacyParams.Plan()
	}
	r, err := newRunner(ctx, in.Enrolment,
		fmt.Sprintf("%s:%d:e%d", programs.KindBirthday, in.ProgramID, in.EnrolmentID), false, plan.Timing, in.Progress)
	if err != nil {
		return Journey{}, err
	}
	w := &birthday{runner: r, in: in, p: plan}
	w.setup(ctx)
	return w.run(ctx)
}

// Where the year's card stands.
const (
	cardPending = enrol.CardPending
	cardSent    = enrol.CardSent
	cardSkipped = enrol.CardSkipped
)

type birthday struct {
	*runner
	// in holds the current birthday (signals correct Month and Day).
	in BirthdayInput
	p  enrol.BirthdayPlan
	// year is the birthday being worked towards, card where its card stands.
	year int
	card string
	// changed is set by a birthday-changed signal until the plan is redone.
	changed bool
	removed bool
}

func (w *birthday) setup(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalBirthdayChanged)
	if w.lean {
		// The runner's waits take corrections too (after its own signals,
		// as drain does).
		w.signals = append(w.signals, signalHandler{ch, func(ctx workflow.Context) bool {
			var c BirthdayChanged
			ok := ch.ReceiveAsync(&c)
			if ok {
				w.apply(ctx, c)
			}
			return ok
		}})
	} else {
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var c BirthdayChanged
				ch.Receive(ctx, &c)
				w.apply(ctx, c)
			}
		})
	}
	w.drainKind = w.drainChanges
	// A long pause continues as new towards the same year, the card's
	// state kept.
	w.continueAsNew = func(ctx workflow.Context, p enrol.Progress) error {
		if w.removed {
			w.end(domain.OutcomeNoBirthday)
			return nil
		}
		p.Stage = w.card
		return workflow.NewContinueAsNewError(ctx, Birthday, w.next(w.year, &p))
	}
}

// next is the input of a run towards the year's birthday, with the
// birthday as it stands now and the pinned plan.
func (w *birthday) next(year int, p *enrol.Progress) BirthdayInput {
	next := w.in
	next.Plan, next.LegacyParams, next.Year, next.Progress = &w.p, nil, year, p
	return next
}

func (w *birthday) drainChanges(ctx workflow.Context) {
	ch := workflow.GetSignalChannel(ctx, SignalBirthdayChanged)
	for {
		var c BirthdayChanged
		if !ch.ReceiveAsync(&c) {
			break
		}
		w.apply(ctx, c)
	}
}

func (w *birthday) run(ctx workflow.Context) (Journey, error) {
	if w.in.Progress == nil {
		if err := w.activate(ctx); err != nil {
			return w.state, err
		}
	}
	if !validBirthday(w.in.Month, w.in.Day) {
		w.record(ctx, "", "no_birthday", fmt.Sprintf("invalid birthday %d-%d", w.in.Month, w.in.Day))
		w.end(domain.OutcomeNoBirthday)
		return w.finish(ctx)
	}
	w.year = w.in.Year
	if w.year == 0 {
		w.year = workflow.Now(ctx).In(w.loc).Year()
	}
	if w.in.Progress != nil {
		w.card = w.in.Progress.Stage
	}
	w.plan(ctx)
	for !w.ended() {
		step, at := programs.StepCard, w.cardAt()
		if w.card != cardPending {
			step, at = programs.StepGreeting, w.birthdayAt()
		}
		ok, err := w.waitUntil(ctx, step, at, func() bool { return w.changed })
		if err != nil {
			return w.state, err
		}
		if w.changed {
			w.changed = false
			if w.removed {
				w.end(domain.OutcomeNoBirthday)
				break
			}
			w.plan(ctx)
			continue
		}
		if !ok {
			break
		}
		if step == programs.StepCard {
			w.sendCard(ctx)
			continue
		}
		if err := w.greet(ctx); err != nil {
			return w.state, err
		}
		return w.nextYear(ctx)
	}
	return w.finish(ctx)
}

// plan finds the birthday to work towards from now: a birthday already
// gone by this year moves to the next, and a card whose moment has passed
// is skipped for the year (a card already sent is never sent again).
func (w *birthday) plan(ctx workflow.Context) {
	var skipped bool
	w.year, w.card, skipped = w.p.BirthdayYear(workflow.Now(ctx), w.in.Month, w.in.Day, w.year, w.card, w.loc)
	if skipped {
		w.record(ctx, programs.StepCard, "skipped", fmt.Sprintf("%d: the card's moment had passed", w.year))
	}
}

// sendCard sends the year's card, unless a paused program held it until
// the birthday itself.
func (w *birthday) sendCard(ctx workflow.Context) {
	if !workflow.Now(ctx).Before(w.birthdayAt()) {
		w.card = cardSkipped
		w.record(ctx, programs.StepCard, "skipped", fmt.Sprintf("%d: held past the birthday", w.year))
		return
	}
	w.send(ctx, fmt.Sprintf("%s-%d", domain.ChannelEmail, w.year), activities.SendRequest{Channel: domain.ChannelEmail,
		Template: activities.TemplateRef{Step: programs.StepCard}, Purpose: w.p.Purpose(programs.StepCard)})
	w.card = cardSent
}

// greet issues the year's coupon and sends the greeting.
func (w *birthday) greet(ctx workflow.Context) error {
	coupon, err := w.issueCoupon(ctx, fmt.Sprintf("%s-%d", programs.StepGreeting, w.year), w.p.Coupon)
	if err != nil {
		return err
	}
	w.send(ctx, fmt.Sprintf("%s-%d", domain.ChannelSMS, w.year), activities.SendRequest{Channel: domain.ChannelSMS, CouponID: coupon.ID,
		Template: activities.TemplateRef{Step: programs.StepGreeting}, Purpose: w.p.Purpose(programs.StepGreeting)})
	return nil
}

// nextYear continues as new towards next year's birthday, with the
// birthday as it stands now. Signals still pending are taken first: a stop,
// an opt-out or a removal that came meanwhile ends the enrolment instead
// (before the birthday-drain-signals change, only corrections were).
func (w *birthday) nextYear(ctx workflow.Context) (Journey, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.state, err
	}
	if w.takes(ctx, changeBirthdayDrain) {
		w.drain(ctx)
	} else {
		w.drainChanges(ctx)
	}
	if w.removed {
		w.end(domain.OutcomeNoBirthday)
	}
	if w.ended() {
		return w.finish(ctx)
	}
	return w.state, workflow.NewContinueAsNewError(ctx, Birthday, w.next(w.year+1, nil))
}

// apply takes a corrected or removed birthday; an invalid date is ignored.
func (w *birthday) apply(ctx workflow.Context, c BirthdayChanged) {
	switch {
	case c.Removed:
		w.removed = true
	case validBirthday(c.Month, c.Day):
		w.in.Month, w.in.Day = c.Month, c.Day
	default:
		// The date itself is personal data: it stays out of the log.
		workflow.GetLogger(ctx).Warn("invalid birthday ignored", "program_id", w.in.ProgramID, "enrolment_id", w.in.EnrolmentID)
		return
	}
	w.record(ctx, "", "birthday_changed", birthdayString(c))
	w.changed = true
}

// birthdayAt is the year's birthday at SendHour in the customer's zone
// (enrol.BirthdayPlan.BirthdayAt, which the forecast shares).
func (w *birthday) birthdayAt() time.Time {
	return w.p.BirthdayAt(w.year, w.in.Month, w.in.Day, w.loc)
}

// cardAt is when the year's card goes.
func (w *birthday) cardAt() time.Time {
	return w.p.CardAt(w.year, w.in.Month, w.in.Day, w.loc)
}

// validBirthday accepts any day some year has (Feb 29 included).
func validBirthday(m time.Month, d int) bool {
	return m >= time.January && m <= time.December && d >= 1 && d <= programs.DaysIn(2000, m)
}

func birthdayString(c BirthdayChanged) string {
	if c.Removed {
		return "removed"
	}
	return fmt.Sprintf("%02d-%02d", int(c.Month), c.Day)
}
