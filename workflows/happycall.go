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

// HappyCallInput is the workflow's input (see enrol).
type HappyCallInput = enrol.HappyCallInput

// staleAfter skips touches that were already long overdue when the
// enrolment started (a back-filled purchase), instead of sending a year of
// follow-ups at once.
const staleAfter = 24 * time.Hour

// HappyCall follows up a purchase at each step's offset: a call task for
// store staff (with a fallback SMS when nobody completes it in time, and an
// escalation to the store manager on a complaint), an SMS, a mail.
func HappyCall(ctx workflow.Context, in HappyCallInput) (Journey, error) {
	timing := enrol.LegacyHappyCallTiming(in.Steps, in.CallWindow)
	if in.Timing != nil {
		timing = *in.Timing
	}
	r, err := newRunner(ctx, in.Enrolment, fmt.Sprintf("happycall:%d:%d", in.ProgramID, in.PurchaseID), false, timing, in.Progress)
	if err != nil {
		return Journey{}, err
	}
	w := &happyCall{runner: r, in: in}
	w.continueAsNew = func(ctx workflow.Context, p enrol.Progress) error {
		next := w.in
		next.Timing, next.Progress = &w.timing, &p
		return workflow.NewContinueAsNewError(ctx, HappyCall, next)
	}
	return w.run(ctx)
}

type happyCall struct {
	*runner
	in HappyCallInput
}

func (w *happyCall) run(ctx workflow.Context) (Journey, error) {
	resumed := w.in.Progress
	if resumed == nil {
		if err := w.activate(ctx); err != nil {
			return w.state, err
		}
	}
	started := w.progress.Started
	if started.IsZero() {
		started = workflow.Now(ctx)
		w.progress.Started = started
	}
	for i := w.progress.Next; i < len(w.in.Steps); i++ {
		step := w.in.Steps[i]
		w.progress.Next = i
		if resumed != nil && i == resumed.Next && resumed.Stage == enrol.StageFallback {
			if err := w.fallback(ctx, step, resumed.StageAt); err != nil {
				return w.state, err
			}
			if w.ended() {
				break
			}
			continue
		}
		w.progress.Stage = ""
		at := step.Offset.After(w.in.PurchasedAt, w.loc)
		if at.Before(started.Add(-staleAfter)) {
			w.record(ctx, step.Key, "skipped", "due before the enrolment started")
			continue
		}
		ok, err := w.waitFor(ctx, step.Key, at)
		if err != nil {
			return w.state, err
		}
		if !ok {
			break
		}
		if err := w.touch(ctx, step, workflow.Now(ctx)); err != nil {
			return w.state, err
		}
		if w.ended() {
			break
		}
	}
	return w.finish(ctx)
}

// touch performs one step's actions, due at the given moment.
func (w *happyCall) touch(ctx workflow.Context, step programs.Step, due time.Time) error {
	if step.SMS {
		w.sendField(ctx, step, domain.ChannelSMS, activities.FieldSMS, "sms")
	}
	if step.Email {
		w.sendField(ctx, step, domain.ChannelEmail, activities.FieldEmail, "email")
	}
	if step.Call {
		return w.call(ctx, step, due)
	}
	return nil
}

func (w *happyCall) sendField(ctx workflow.Context, step programs.Step, channel, field, action string) {
	w.send(ctx, action, activities.SendRequest{Channel: channel, PurchaseID: w.in.PurchaseID,
		Template: activities.TemplateRef{Step: step.Key, Field: field}, Purpose: enrol.HappyCallPurpose(step)})
}

// call creates the call task and waits for staff until the window closes.
func (w *happyCall) call(ctx workflow.Context, step programs.Step, due time.Time) error {
	expires := w.in.CallWindow.After(due, w.loc)
	var taskID int64
	err := w.db(ctx, a.CreateCallTask, activities.CallTaskRequest{
		Key: w.key(step.Key, "call"), Kind: domain.TaskHappyCall, EnrolmentID: w.EnrolmentID,
		CustomerID: w.CustomerID, PurchaseID: w.in.PurchaseID, ProgramID: w.ProgramID,
		ProgramVersion: w.ProgramVersion, TouchKey: step.Key, DueAt: due, ExpiresAt: &expires,
	}).Get(ctx, &taskID)
	if err != nil {
		return err
	}
	if taskID == 0 {
		// No call consent (or no number): nobody is asked to call, and the
		// customer gets the step's fallback SMS instead, if it has one. Old
		// histories never had a task id 0, so this needs no version.
		w.record(ctx, step.Key, "call_skipped", "no call consent")
		if !step.Fallback {
			return nil
		}
		return w.fallback(ctx, step, due)
	}
	w.record(ctx, step.Key, "call_task", fmt.Sprint(taskID))
	w.state.Next = &NextStep{Touch: step.Key, At: expires, Waiting: "call"}
	if d := expires.Sub(workflow.Now(ctx)); d > 0 {
		if _, err := w.await(ctx, d, func() bool { _, done := w.completions[taskID]; return done || w.ended() }); err != nil {
			w.end(domain.OutcomeStopped)
		}
	}
	if w.ended() {
		return nil
	}
	outcome, done := w.completions[taskID]
	if !done {
		// The window closed without a signal: the database decides, so a
		// completion whose signal was lost is still honoured.
		var st activities.CallTaskState
		if err := w.db(ctx, a.CloseCallTask, taskID).Get(ctx, &st); err != nil {
			return err
		}
		if st.Status == domain.TaskCompleted {
			outcome = st.Outcome
		} else {
			outcome = "expired"
		}
	}
	w.record(ctx, step.Key, outcome, fmt.Sprint(taskID))
	switch outcome {
	case domain.OutcomeReached:
		return w.db(ctx, a.RecordCallVoice, taskID).Get(ctx, nil)
	case domain.OutcomeComplaint:
		var escalation int64
		err := w.db(ctx, a.CreateCallTask, activities.CallTaskRequest{
			Key: w.key(step.Key, "escalation"), Kind: domain.TaskEscalation, EnrolmentID: w.EnrolmentID,
			CustomerID: w.CustomerID, PurchaseID: w.in.PurchaseID, ProgramID: w.ProgramID,
			ProgramVersion: w.ProgramVersion, TouchKey: step.Key, DueAt: workflow.Now(ctx), EscalatedFrom: taskID,
		}).Get(ctx, &escalation)
		if err != nil {
			return err
		}
		if escalation == 0 {
			w.record(ctx, step.Key, "escalation_skipped", "no call consent")
			return nil
		}
		w.record(ctx, step.Key, "escalation", fmt.Sprint(escalation))
	default: // no answer, or nobody called in time
		if !step.Fallback {
			return nil
		}
		if w.takes(ctx, changeDaytimeSends) {
			return w.fallback(ctx, step, expires)
		}
		w.sendField(ctx, step, domain.ChannelSMS, activities.FieldFallbackSMS, "fallback_sms")
	}
	return nil
}

// fallback sends the SMS of a call nobody answered, due when its window
// closed: in the plan's hours, spaced, and through the gate (a customer
// who opted out during the window gets nothing).
func (w *happyCall) fallback(ctx workflow.Context, step programs.Step, due time.Time) error {
	w.progress.Stage, w.progress.StageAt = enrol.StageFallback, due
	ok, err := w.waitFor(ctx, step.Key, due)
	if err != nil || !ok {
		return err
	}
	w.sendField(ctx, step, domain.ChannelSMS, activities.FieldFallbackSMS, "fallback_sms")
	w.progress.Stage, w.progress.StageAt = "", time.Time{}
	return nil
}
