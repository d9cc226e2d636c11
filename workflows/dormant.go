package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// DormantWakeupInput is the workflow's input (see enrol).
type DormantWakeupInput = enrol.DormantWakeupInput

// DormantWakeup contacts a long-lapsed customer at each step's offset from
// entry (by default: a greeting at once, news after a month, a coupon
// after three, a survey asking why they left after six), each at the
// program's send hour. A customer who buys or redeems on the way has come
// back and the cadence ends at once; one who never answers is marked
// dormant after the last step.
func DormantWakeup(ctx workflow.Context, in DormantWakeupInput) (Journey, error) {
	var plan enrol.DormantWakeupPlan
	switch {
	case in.Plan != nil:
		plan = *in.Plan
	case in.LegacyParams != nil:
		plan = in.LegacyParams.Plan()
	}
	r, err := newRunner(ctx, in.Enrolment,
		fmt.Sprintf("%s:%d:e%d", programs.KindDormantWakeup, in.ProgramID, in.EnrolmentID), true, plan.Timing, in.Progress)
	if err != nil {
		return Journey{}, err
	}
	w := &dormantWakeup{runner: r, p: plan}
	w.continueAsNew = func(ctx workflow.Context, p enrol.Progress) error {
		next := in
		next.Plan, next.LegacyParams, next.Progress = &plan, nil, &p
		return workflow.NewContinueAsNewError(ctx, DormantWakeup, next)
	}
	return w.run(ctx, in.Progress == nil)
}

type dormantWakeup struct {
	*runner
	p enrol.DormantWakeupPlan
}

func (w *dormantWakeup) run(ctx workflow.Context, first bool) (Journey, error) {
	if first {
		if err := w.activate(ctx); err != nil {
			return w.state, err
		}
	}
	entered := w.startedAt(ctx)
	for i := w.progress.Next; i < len(w.p.Steps); i++ {
		step := w.p.Steps[i]
		w.progress.Next = i
		ok, err := w.waitFor(ctx, step.Key, step.Offset.After(entered, w.loc))
		if err != nil {
			return w.state, err
		}
		if !ok {
			return w.finish(ctx)
		}
		if err := w.contact(ctx, step); err != nil {
			return w.state, err
		}
		if w.ended() {
			return w.finish(ctx)
		}
	}
	w.progress.Next = len(w.p.Steps)
	if err := w.db(ctx, a.MarkDormant, w.CustomerID).Get(ctx, nil); err != nil {
		return w.state, err
	}
	w.record(ctx, "", "marked_dormant", "")
	w.end(domain.OutcomeDormant)
	return w.finish(ctx)
}

// contact sends one step's message, with its coupon and survey link.
func (w *dormantWakeup) contact(ctx workflow.Context, step enrol.WakeupStep) error {
	var couponID int64
	if step.Coupon {
		c, err := w.issueCoupon(ctx, step.Key, w.p.Coupon)
		if err != nil {
			return err
		}
		couponID = c.ID
	}
	w.send(ctx, step.Channel, activities.SendRequest{Channel: step.Channel, CouponID: couponID, Survey: step.Survey,
		Template: activities.TemplateRef{Step: step.Key}, Purpose: step.PurposeOf()})
	return nil
}
