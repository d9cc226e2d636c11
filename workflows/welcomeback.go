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

// WelcomeBackInput is the workflow's input (see enrol).
type WelcomeBackInput = enrol.WelcomeBackInput

// WelcomeBack invites a lapsed customer back: a personal greeting with a
// unique coupon at once (at the program's send hour), a reminder some days
// before the coupon expires if it is still unused, and the end when it is
// used or expires. Any purchase or redemption on the way ends it as
// converted.
func WelcomeBack(ctx workflow.Context, in WelcomeBackInput) (Journey, error) {
	var plan enrol.WelcomeBackPlan
	switch {
	case in.Plan != nil:
		plan = *in.Plan
	case in.LegacyParams != nil:
		plan = in.LegacyParams.Plan()
	}
	r, err := newRunner(ctx, in.Enrolment,
		fmt.Sprintf("%s:%d:e%d", programs.KindWelcomeBack, in.ProgramID, in.EnrolmentID), true, plan.Timing, in.Progress)
	if err != nil {
		return Journey{}, err
	}
	w := &welcomeBack{runner: r, p: plan}
	w.continueAsNew = func(ctx workflow.Context, p enrol.Progress) error {
		next := in
		next.Plan, next.LegacyParams, next.Progress = &plan, nil, &p
		return workflow.NewContinueAsNewError(ctx, WelcomeBack, next)
	}
	return w.run(ctx, in.Progress)
}

type welcomeBack struct {
	*runner
	p enrol.WelcomeBackPlan
}

// Steps of a welcome-back, as Progress.Next counts them.
const (
	welcomeBackGreeting = iota
	welcomeBackReminder
)

func (w *welcomeBack) run(ctx workflow.Context, resumed *enrol.Progress) (Journey, error) {
	var coupon activities.IssuedCoupon
	var greeted time.Time
	if resumed != nil && resumed.Next > welcomeBackGreeting {
		coupon = activities.IssuedCoupon{ID: resumed.CouponID, ExpiresAt: resumed.CouponExpires}
	} else {
		if resumed == nil {
			if err := w.activate(ctx); err != nil {
				return w.state, err
			}
		}
		ok, err := w.waitFor(ctx, programs.StepGreeting, workflow.Now(ctx))
		if err != nil {
			return w.state, err
		}
		if !ok {
			return w.finish(ctx)
		}
		if coupon, err = w.issueCoupon(ctx, programs.StepGreeting, w.p.Coupon); err != nil {
			return w.state, err
		}
		greeted = workflow.Now(ctx)
		w.progress.Next, w.progress.CouponID, w.progress.CouponExpires = welcomeBackReminder, coupon.ID, coupon.ExpiresAt
		w.sendStep(ctx, programs.StepGreeting, coupon.ID)
	}

	if err := w.remind(ctx, coupon, greeted); err != nil {
		return w.state, err
	}

	w.state.Next = &NextStep{Touch: "expiry", At: coupon.ExpiresAt, Waiting: "time"}
	if w.sleepUntil(ctx, coupon.ExpiresAt, nil) {
		if err := w.endOnRedemption(ctx, coupon.ID); err != nil {
			return w.state, err
		}
		w.end(domain.OutcomeExpired)
	}
	return w.finish(ctx)
}

// remind sends the reminder ReminderBefore the coupon expires, unless that
// moment has passed already, the coupon was used meanwhile, or a paused
// program held the reminder until the coupon expired.
func (w *welcomeBack) remind(ctx workflow.Context, coupon activities.IssuedCoupon, greeted time.Time) error {
	// A coupon expires at the end of a day; a reminder counted in days
	// goes on its day at the send hour (enrol.WelcomeBackPlan.ReminderAt,
	// which the forecast shares; before the daytime-sends change: at the
	// hour the greeting went out), not just before midnight.
	at := w.p.ReminderAt(coupon.ExpiresAt, w.loc)
	if w.p.ReminderBefore.Exact == 0 && !w.takes(ctx, changeDaytimeSends) {
		y, m, d := at.In(w.loc).Date()
		g := greeted.In(w.loc)
		at = time.Date(y, m, d, g.Hour(), g.Minute(), g.Second(), 0, w.loc)
	}
	if w.ended() {
		return nil
	}
	if !at.After(workflow.Now(ctx)) {
		// Its moment passed before it could wait for it: the greeting
		// was held (quiet hours, the cap) or came later than the coupon
		// allows, or (a run continued as new while paused) the pause
		// outlasted it. Said in the journey (state only, no command).
		why := "before the greeting went out"
		if greeted.IsZero() {
			why = "while the program was paused"
		}
		w.record(ctx, programs.StepReminder, "skipped", "its moment "+at.UTC().Format(time.RFC3339)+" passed "+why)
		return nil
	}
	ok, err := w.waitFor(ctx, programs.StepReminder, at)
	if err != nil || !ok {
		return err
	}
	if err := w.endOnRedemption(ctx, coupon.ID); err != nil || w.ended() {
		return err
	}
	if !workflow.Now(ctx).Before(coupon.ExpiresAt) {
		w.record(ctx, programs.StepReminder, "skipped", "held past the coupon's expiry")
		return nil
	}
	w.sendStep(ctx, programs.StepReminder, coupon.ID)
	return nil
}

// endOnRedemption ends the enrolment as converted if the coupon was used
// (a lost redemption signal is found in the database).
func (w *welcomeBack) endOnRedemption(ctx workflow.Context, couponID int64) error {
	used, err := w.couponRedeemed(ctx, couponID)
	if err != nil {
		return err
	}
	if used {
		w.end(domain.OutcomeConverted)
	}
	return nil
}

func (w *welcomeBack) sendStep(ctx workflow.Context, step string, couponID int64) {
	w.send(ctx, w.p.Channel, activities.SendRequest{Channel: w.p.Channel, CouponID: couponID,
		Template: activities.TemplateRef{Step: step}, Purpose: w.p.Purpose(step)})
}
