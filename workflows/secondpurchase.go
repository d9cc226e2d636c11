package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// SecondPurchaseInput is the workflow's input (see enrol).
type SecondPurchaseInput = enrol.SecondPurchaseInput

// SecondPurchase turns a first-time buyer into a customer: a thank-you at
// once, a coupon CouponAfter later (both in the daytime), and the end when
// the coupon expires. The second purchase (or the coupon's redemption)
// arrives as a converted signal, or is found at a gate, and ends it.
func SecondPurchase(ctx workflow.Context, in SecondPurchaseInput) (Journey, error) {
	var plan enrol.SecondPurchasePlan
	switch {
	case in.Plan != nil:
		plan = *in.Plan
	case in.LegacyParams != nil:
		plan = in.LegacyParams.Plan()
	}
	r, err := newRunner(ctx, in.Enrolment,
		fmt.Sprintf("%s:%d:e%d", programs.KindSecondPurchase, in.ProgramID, in.EnrolmentID), true, plan.Timing, in.Progress)
	if err != nil {
		return Journey{}, err
	}
	w := &secondPurchase{runner: r, in: in, p: plan}
	w.continueAsNew = func(ctx workflow.Context, p enrol.Progress) error {
		next := in
		next.Plan, next.LegacyParams, next.Progress = &plan, nil, &p
		return workflow.NewContinueAsNewError(ctx, SecondPurchase, next)
	}
	return w.run(ctx)
}

type secondPurchase struct {
	*runner
	in SecondPurchaseInput
	p  enrol.SecondPurchasePlan
}

// Steps of a second purchase, as Progress.Next counts them.
const (
	secondPurchaseThankYou = iota
	secondPurchaseCoupon
)

func (w *secondPurchase) run(ctx workflow.Context) (Journey, error) {
	if w.in.Progress == nil {
		if err := w.activate(ctx); err != nil {
			return w.state, err
		}
	}
	started := w.progress.Started
	if started.IsZero() {
		started = workflow.Now(ctx)
		w.progress.Started = started
	}
	if w.progress.Next == secondPurchaseThankYou {
		ok, err := w.waitFor(ctx, programs.StepThankYou, started)
		if err != nil {
			return w.state, err
		}
		if !ok {
			return w.finish(ctx)
		}
		w.progress.Next = secondPurchaseCoupon
		w.sendStep(ctx, programs.StepThankYou, 0)
	}

	ok, err := w.waitFor(ctx, programs.StepCoupon, w.p.CouponAfter.After(started, w.loc))
	if err != nil {
		return w.state, err
	}
	if !ok {
		return w.finish(ctx)
	}
	coupon, err := w.issueCoupon(ctx, programs.StepCoupon, w.p.Coupon)
	if err != nil {
		return w.state, err
	}
	w.sendStep(ctx, programs.StepCoupon, coupon.ID)

	w.state.Next = &NextStep{Touch: "expiry", At: coupon.ExpiresAt, Waiting: "time"}
	if w.sleepUntil(ctx, coupon.ExpiresAt, nil) {
		used, err := w.couponRedeemed(ctx, coupon.ID)
		if err != nil {
			return w.state, err
		}
		if used {
			w.end(domain.OutcomeConverted)
		}
		w.end(domain.OutcomeExpired)
	}
	return w.finish(ctx)
}

// sendStep sends a step's message; the purchase fills {{.Store}} and the
// other purchase fields.
func (w *secondPurchase) sendStep(ctx workflow.Context, step string, couponID int64) {
	ch := w.p.Channel
	w.send(ctx, ch, activities.SendRequest{Channel: ch, PurchaseID: w.in.PurchaseID, CouponID: couponID,
		Template: activities.TemplateRef{Step: step}, Purpose: w.p.Purpose(step)})
}
