package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// HappyCallInput starts one 3.1.3.1 follow-up for one purchase. It holds
// ids and the pinned steps only; names, numbers and message texts are read
// by activities when they are needed.
type HappyCallInput struct {
	ProgramID      int64
	ProgramVersion int
	EnrolmentID    int64
	CustomerID     int64
	PurchaseID     int64
	PurchasedAt    time.Time
	// TimeZone is the customer's IANA zone: calendar offsets count in it.
	TimeZone   string
	Steps      []programs.Step
	CallWindow programs.Offset
}

// Journey is what the journey query returns and the workflow's result.
type Journey struct {
	Paused  bool
	Ended   bool
	Outcome string
	Done    []StepDone
	Next    *NextStep
}

// StepDone is one action taken.
type StepDone struct {
	Touch  string
	Action string // sms, email, call_task, reached, complaint, no_answer, expired, fallback_sms, escalation, skipped
	At     time.Time
	Result string
}

// NextStep is what the enrolment waits for.
type NextStep struct {
	Touch string
	At    time.Time
	// Waiting is "time" (the touch's moment), "call" (staff to complete
	// the call task until At) or "resume" (the program is paused).
	Waiting string
}

// gateRecheck bounds how long a paused enrolment trusts that a resume
// signal will come; after it, the database is asked again.
const gateRecheck = 6 * time.Hour

// staleAfter skips touches that were already long overdue when the
// enrolment started (a back-filled purchase), instead of sending a year of
// follow-ups at once.
const staleAfter = 24 * time.Hour

// HappyCall follows up a purchase at each step's offset: a call task for
// store staff (with a fallback SMS when nobody completes it in time, and an
// escalation to the store manager on a complaint), an SMS, a mail.
func HappyCall(ctx workflow.Context, in HappyCallInput) (Journey, error) {
	w := &happyCall{in: in, completions: map[int64]string{}}
	if err := w.setup(ctx); err != nil {
		return w.state, err
	}
	return w.run(ctx)
}

type happyCall struct {
	in          HappyCallInput
	loc         *time.Location
	state       Journey
	completions map[int64]string // call task id -> outcome, from signals
}

func (w *happyCall) setup(ctx workflow.Context) error {
	loc, err := time.LoadLocation(w.in.TimeZone)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("unknown time zone "+w.in.TimeZone, "BadInput", err)
	}
	w.loc = loc
	if err := workflow.SetQueryHandler(ctx, QueryJourney, func() (Journey, error) { return w.state, nil }); err != nil {
		return err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalControl)
		for {
			var s ControlSignal
			ch.Receive(ctx, &s)
			switch s.Action {
			case ActionPause:
				w.state.Paused = true
			case ActionResume:
				w.state.Paused = false
			case ActionStop:
				w.end(OutcomeStopped)
			}
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalOptOut)
		for {
			ch.Receive(ctx, nil)
			w.end(OutcomeOptedOut)
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalCallTaskCompleted)
		for {
			var c CallTaskCompleted
			ch.Receive(ctx, &c)
			w.completions[c.TaskID] = c.Outcome
		}
	})
	return nil
}

func (w *happyCall) run(ctx workflow.Context) (Journey, error) {
	dbCtx := workflow.WithActivityOptions(ctx, dbActivity)
	if err := workflow.ExecuteActivity(dbCtx, a.MarkEnrolmentActive, w.in.EnrolmentID).Get(ctx, nil); err != nil {
		return w.state, err
	}
	started := workflow.Now(ctx)
	for _, step := range w.in.Steps {
		at := step.Offset.After(w.in.PurchasedAt, w.loc)
		if at.Before(started.Add(-staleAfter)) {
			w.record(ctx, step.Key, "skipped", "due before the enrolment started")
			continue
		}
		w.state.Next = &NextStep{Touch: step.Key, At: at, Waiting: "time"}
		if !w.sleepUntil(ctx, at) {
			break
		}
		ok, err := w.passGate(ctx)
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
		w.send(ctx, step.Key, store.ChannelSMS, activities.FieldSMS, "sms")
	}
	if step.Email {
		w.send(ctx, step.Key, store.ChannelEmail, activities.FieldEmail, "email")
	}
	if step.Call {
		return w.call(ctx, step, due)
	}
	return nil
}

// call creates the call task and waits for staff until the window closes.
func (w *happyCall) call(ctx workflow.Context, step programs.Step, due time.Time) error {
	dbCtx := workflow.WithActivityOptions(ctx, dbActivity)
	expires := w.in.CallWindow.After(due, w.loc)
	var taskID int64
	err := workflow.ExecuteActivity(dbCtx, a.CreateCallTask, activities.CallTaskRequest{
		Key: w.key(step.Key, "call"), Kind: store.TaskHappyCall, EnrolmentID: w.in.EnrolmentID,
		CustomerID: w.in.CustomerID, PurchaseID: w.in.PurchaseID, ProgramID: w.in.ProgramID,
		ProgramVersion: w.in.ProgramVersion, TouchKey: step.Key, DueAt: due, ExpiresAt: &expires,
	}).Get(ctx, &taskID)
	if err != nil {
		return err
	}
	w.record(ctx, step.Key, "call_task", fmt.Sprint(taskID))
	w.state.Next = &NextStep{Touch: step.Key, At: expires, Waiting: "call"}
	if d := expires.Sub(workflow.Now(ctx)); d > 0 {
		if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { _, done := w.completions[taskID]; return done || w.ended() }); err != nil {
			w.end(OutcomeStopped)
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
		if err := workflow.ExecuteActivity(dbCtx, a.CloseCallTask, taskID).Get(ctx, &st); err != nil {
			return err
		}
		if st.Status == store.TaskCompleted {
			outcome = st.Outcome
		} else {
			outcome = "expired"
		}
	}
	w.record(ctx, step.Key, outcome, fmt.Sprint(taskID))
	switch outcome {
	case store.OutcomeReached:
		return workflow.ExecuteActivity(dbCtx, a.RecordCallVoice, taskID).Get(ctx, nil)
	case store.OutcomeComplaint:
		var escalation int64
		err := workflow.ExecuteActivity(dbCtx, a.CreateCallTask, activities.CallTaskRequest{
			Key: w.key(step.Key, "escalation"), Kind: store.TaskEscalation, EnrolmentID: w.in.EnrolmentID,
			CustomerID: w.in.CustomerID, PurchaseID: w.in.PurchaseID, ProgramID: w.in.ProgramID,
			ProgramVersion: w.in.ProgramVersion, TouchKey: step.Key, DueAt: workflow.Now(ctx), EscalatedFrom: taskID,
		}).Get(ctx, &escalation)
		if err != nil {
			return err
		}
		w.record(ctx, step.Key, "escalation", fmt.Sprint(escalation))
	default: // no answer, or nobody called in time
		if step.Fallback {
			w.send(ctx, step.Key, store.ChannelSMS, activities.FieldFallbackSMS, "fallback_sms")
		}
	}
	return nil
}

// send delivers one message. A message that cannot be sent (no consent,
// invalid number, provider down for a day) is recorded by the activity and
// the program goes on: one failed SMS must not end a year of follow-ups.
func (w *happyCall) send(ctx workflow.Context, touch, channel, field, action string) {
	req := activities.SendRequest{
		Key: w.key(touch, action), Channel: channel, EnrolmentID: w.in.EnrolmentID,
		CustomerID: w.in.CustomerID, PurchaseID: w.in.PurchaseID,
		Template: activities.TemplateRef{ProgramID: w.in.ProgramID, Version: w.in.ProgramVersion, Touch: touch, Field: field},
	}
	var res activities.SendResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sendActivity), a.SendMessage, req).Get(ctx, &res)
	if err != nil {
		var appErr *temporal.ApplicationError
		reason := err.Error()
		if errors.As(err, &appErr) {
			reason = appErr.Type() + ": " + appErr.Message()
		}
		workflow.GetLogger(ctx).Warn("message not sent", "key", req.Key, "error", err)
		w.record(ctx, touch, action, "failed: "+reason)
		return
	}
	w.record(ctx, touch, action, res.Status)
}

// sleepUntil waits for the moment or for the enrolment to end early; it
// reports whether to go on.
func (w *happyCall) sleepUntil(ctx workflow.Context, at time.Time) bool {
	if d := at.Sub(workflow.Now(ctx)); d > 0 {
		if _, err := workflow.AwaitWithTimeout(ctx, d, w.ended); err != nil {
			w.end(OutcomeStopped)
		}
	}
	return !w.ended()
}

// passGate checks the program and consent in the database and holds while
// the program is paused; it reports whether the touch may go ahead.
func (w *happyCall) passGate(ctx workflow.Context) (bool, error) {
	dbCtx := workflow.WithActivityOptions(ctx, dbActivity)
	for {
		var g activities.Gate
		if err := workflow.ExecuteActivity(dbCtx, a.CheckGate, w.in.ProgramID, w.in.CustomerID).Get(ctx, &g); err != nil {
			return false, err
		}
		switch {
		case g.ProgramStatus == store.ProgramStopped:
			w.end(OutcomeStopped)
		case g.OptedOut:
			w.end(OutcomeOptedOut)
		default:
			w.state.Paused = g.ProgramStatus == store.ProgramPaused
		}
		if w.ended() {
			return false, nil
		}
		if !w.state.Paused {
			return true, nil
		}
		if w.state.Next != nil {
			w.state.Next.Waiting = "resume"
		}
		if _, err := workflow.AwaitWithTimeout(ctx, gateRecheck, func() bool { return !w.state.Paused || w.ended() }); err != nil {
			w.end(OutcomeStopped)
		}
	}
}

// finish cancels what is left open and records the outcome. It runs on a
// disconnected context so a cancelled workflow still cleans up.
func (w *happyCall) finish(ctx workflow.Context) (Journey, error) {
	if w.state.Outcome == "" {
		w.state.Outcome = OutcomeCompleted
	}
	w.state.Ended = true
	w.state.Next = nil
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, dbActivity)
	if err := workflow.ExecuteActivity(dctx, a.CancelOpenTasks, w.in.EnrolmentID).Get(dctx, nil); err != nil {
		return w.state, err
	}
	if err := workflow.ExecuteActivity(dctx, a.EndEnrolment, w.in.EnrolmentID, w.state.Outcome).Get(dctx, nil); err != nil {
		return w.state, err
	}
	return w.state, nil
}

func (w *happyCall) end(outcome string) {
	if w.state.Outcome == "" {
		w.state.Outcome = outcome
	}
}

func (w *happyCall) ended() bool { return w.state.Outcome != "" }

func (w *happyCall) record(ctx workflow.Context, touch, action, result string) {
	w.state.Done = append(w.state.Done, StepDone{Touch: touch, Action: action, At: workflow.Now(ctx), Result: result})
}

// key is the business idempotency key of an action: the same program,
// purchase, touch and action never produce two messages or tasks, whatever
// the run id.
func (w *happyCall) key(touch, action string) string {
	return fmt.Sprintf("happycall:%d:%d:%s:%s", w.in.ProgramID, w.in.PurchaseID, touch, action)
}
