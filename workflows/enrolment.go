package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Enrolment identifies one customer's run through a program (see enrol).
type Enrolment = enrol.Enrolment

// Journey is what the journey query returns and every enrolment's result.
type Journey struct {
	Paused  bool       `json:"paused"`
	Ended   bool       `json:"ended"`
	Outcome string     `json:"outcome"`
	Done    []StepDone `json:"done"`
	Next    *NextStep  `json:"next"`
}

// StepDone is one action taken.
type StepDone struct {
	Touch  string    `json:"step"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
	Result string    `json:"result"`
}

// NextStep is what the enrolment waits for.
type NextStep struct {
	Touch string    `json:"step"`
	At    time.Time `json:"at"`
	// Waiting is "time" (the step's moment), "call" (staff to complete
	// the call task until At) or "resume" (the program is paused).
	Waiting string `json:"waiting"`
}

// gateRecheck bounds how long a paused enrolment trusts that a resume
// signal will come; after it, the database is asked again.
const gateRecheck = 6 * time.Hour

// runner is what every program's workflow shares: the signals that pause,
// stop, opt out and convert; the database gate before each step; the
// hours and spacing of messages; the one way to send; continuing a long
// pause as new; the clean ending. Each program's workflow keeps only its
// own process.
type runner struct {
	Enrolment
	loc   *time.Location
	state Journey
	// keyPrefix starts every idempotency key of this enrolment.
	keyPrefix string
	// exitsOnConversion ends the enrolment when the customer buys or
	// redeems (not for birthdays and happy calls).
	exitsOnConversion bool
	completions       map[int64]string // call task id -> outcome, from signals
	redeemed          map[int64]bool   // coupon ids redeemed, from signals
	// conversions are the conversions recorded (reason, ref, coupon): a
	// purchase repeated by its client signals again (api), and records
	// one line. State only, no command, so old histories replay alike.
	conversions map[string]bool

	timing enrol.Timing
	// progress is where the enrolment stands: the kind keeps Next, Stage
	// and the coupon up to date, send keeps LastSent.
	progress enrol.Progress
	// planned is the moment the step being waited for was planned for.
	planned time.Time
	// continueAsNew starts the kind's next run from progress.
	continueAsNew func(ctx workflow.Context, p enrol.Progress) error
	// drainKind takes the kind's own pending signals (see drain).
	drainKind func(ctx workflow.Context)
	// lean: this run takes the lean-enrolment change (versions.go).
	lean bool
	// signals are the channels a lean run takes signals from in its waits
	// (the runner's, then the kind's), in the order drain takes them.
	signals []signalHandler
}

// signalHandler takes one pending signal from its channel, if there is
// one, and applies it; it reports whether it took one.
type signalHandler struct {
	ch   workflow.ReceiveChannel
	take func(ctx workflow.Context) bool
}

func newRunner(ctx workflow.Context, e Enrolment, keyPrefix string, exitsOnConversion bool, timing enrol.Timing, progress *enrol.Progress) (*runner, error) {
	r := &runner{Enrolment: e, keyPrefix: keyPrefix, exitsOnConversion: exitsOnConversion, timing: timing,
		completions: map[int64]string{}, redeemed: map[int64]bool{}, conversions: map[string]bool{}}
	// First, before any command: a run takes the lean change whole.
	r.lean = changed(ctx, changeLean)
	if progress != nil {
		r.progress = *progress
	}
	loc, err := time.LoadLocation(e.TimeZone)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("unknown time zone "+e.TimeZone, "BadInput", err)
	}
	r.loc = loc
	if err := workflow.SetQueryHandler(ctx, QueryJourney, func() (Journey, error) { return r.state, nil }); err != nil {
		return nil, err
	}
	if r.lean {
		r.listen(ctx)
		return r, nil
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalControl)
		for {
			var s ControlSignal
			ch.Receive(ctx, &s)
			r.onControl(s)
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalOptOut)
		for {
			ch.Receive(ctx, nil)
			r.end(domain.OutcomeOptedOut)
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalCallTaskCompleted)
		for {
			var c CallTaskCompleted
			ch.Receive(ctx, &c)
			r.completions[c.TaskID] = c.Outcome
		}
	})
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, SignalConverted)
		for {
			var c Converted
			ch.Receive(ctx, &c)
			r.onConverted(ctx, c)
		}
	})
	return r, nil
}

// listen makes the runner's signal channels ones a lean run's waits take
// from (no goroutine each: a sleeping enrolment holds one coroutine).
func (r *runner) listen(ctx workflow.Context) {
	control := workflow.GetSignalChannel(ctx, SignalControl)
	optOut := workflow.GetSignalChannel(ctx, SignalOptOut)
	completed := workflow.GetSignalChannel(ctx, SignalCallTaskCompleted)
	converted := workflow.GetSignalChannel(ctx, SignalConverted)
	r.signals = []signalHandler{
		{control, func(workflow.Context) bool {
			var s ControlSignal
			ok := control.ReceiveAsync(&s)
			if ok {
				r.onControl(s)
			}
			return ok
		}},
		{optOut, func(workflow.Context) bool {
			ok := optOut.ReceiveAsync(nil)
			if ok {
				r.end(domain.OutcomeOptedOut)
			}
			return ok
		}},
		{completed, func(workflow.Context) bool {
			var c CallTaskCompleted
			ok := completed.ReceiveAsync(&c)
			if ok {
				r.completions[c.TaskID] = c.Outcome
			}
			return ok
		}},
		{converted, func(ctx workflow.Context) bool {
			var c Converted
			ok := converted.ReceiveAsync(&c)
			if ok {
				r.onConverted(ctx, c)
			}
			return ok
		}},
	}
}

// takeSignals applies every signal pending on a lean run's channels, in
// drain's order.
func (r *runner) takeSignals(ctx workflow.Context) {
	for _, h := range r.signals {
		for h.take(ctx) {
		}
	}
}

// await is workflow.AwaitWithTimeout for the runner: until cond holds or
// d has passed; it reports false when the time ran out. A lean run takes
// its signals here: those pending first (a condition that then holds
// starts no timer), then one at a time as they come, with the timer in
// the same selector; a timer cut short is cancelled.
func (r *runner) await(ctx workflow.Context, d time.Duration, cond func() bool) (bool, error) {
	if !r.lean {
		return workflow.AwaitWithTimeout(ctx, d, cond)
	}
	r.takeSignals(ctx)
	if cond() {
		return true, nil
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	fired := false
	var timerErr error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, d), func(f workflow.Future) {
		fired, timerErr = true, f.Get(ctx, nil)
	})
	for _, h := range r.signals {
		sel.AddReceive(h.ch, func(workflow.ReceiveChannel, bool) { h.take(ctx) })
	}
	for {
		sel.Select(ctx)
		if cond() {
			if !fired {
				cancel()
			}
			return true, nil
		}
		if fired {
			cancel()
			return false, timerErr
		}
	}
}

func (r *runner) onControl(s ControlSignal) {
	switch s.Action {
	case ActionPause:
		r.state.Paused = true
	case ActionResume:
		r.state.Paused = false
	case ActionStop:
		r.end(domain.OutcomeStopped)
	case ActionErase:
		// No command: the outcome is what finish records.
		r.end(domain.OutcomeErased)
	}
}

func (r *runner) onConverted(ctx workflow.Context, c Converted) {
	if c.CouponID != 0 {
		r.redeemed[c.CouponID] = true
	}
	if seen := fmt.Sprintf("%s %s %d", c.Reason, c.Ref, c.CouponID); !r.conversions[seen] {
		r.conversions[seen] = true
		r.record(ctx, "", "converted", c.Reason+" "+c.Ref)
	}
	if r.exitsOnConversion {
		r.end(domain.OutcomeConverted)
	}
}

// drain takes every signal still pending on the channels the runner (and
// the kind) listens to, so a run that continues as new carries nothing
// away unheard: a stop or an opt-out among them ends the enrolment.
//
// A signal delivered while a goroutine waits in Receive is handed to that
// goroutine, not buffered in the channel, and the goroutine only runs
// after this one yields: so first yield once (no command is recorded)
// and let the goroutines take theirs, then empty the channels.
func (r *runner) drain(ctx workflow.Context) {
	yielded := false
	_ = workflow.Await(ctx, func() bool {
		done := yielded
		yielded = true
		return done
	})
	for ch := workflow.GetSignalChannel(ctx, SignalControl); ; {
		var s ControlSignal
		if !ch.ReceiveAsync(&s) {
			break
		}
		r.onControl(s)
	}
	for ch := workflow.GetSignalChannel(ctx, SignalOptOut); ch.ReceiveAsync(nil); {
		r.end(domain.OutcomeOptedOut)
	}
	for ch := workflow.GetSignalChannel(ctx, SignalCallTaskCompleted); ; {
		var c CallTaskCompleted
		if !ch.ReceiveAsync(&c) {
			break
		}
		r.completions[c.TaskID] = c.Outcome
	}
	for ch := workflow.GetSignalChannel(ctx, SignalConverted); ; {
		var c Converted
		if !ch.ReceiveAsync(&c) {
			break
		}
		r.onConverted(ctx, c)
	}
	if r.drainKind != nil {
		r.drainKind(ctx)
	}
}

// activate records that the enrolment runs. A lean run whose starter
// marks it (with its batch) does nothing, so its first sleep needs no
// activity before it; one started by an older starter marks it itself.
func (r *runner) activate(ctx workflow.Context) error {
	if r.lean && r.StarterMarksActive {
		return nil
	}
	return r.db(ctx, a.MarkEnrolmentActive, r.EnrolmentID).Get(ctx, nil)
}

// db runs a database-only activity: a local one in a lean run.
func (r *runner) db(ctx workflow.Context, activity any, args ...any) workflow.Future {
	if r.lean {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, dbLocalActivity), activity, args...)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activity, args...)
}

// takes reports whether this run takes the change; a lean run takes every
// change made before it without asking (and recording) its version.
func (r *runner) takes(ctx workflow.Context, change string) bool {
	return r.lean || changed(ctx, change)
}

// sleepUntil waits for the moment or for the enrolment to end early (or
// cut, when given, to turn true); it reports whether to go on.
func (r *runner) sleepUntil(ctx workflow.Context, at time.Time, cut func() bool) bool {
	stop := r.ended
	if cut != nil {
		stop = func() bool { return r.ended() || cut() }
	}
	if d := at.Sub(workflow.Now(ctx)); d > 0 {
		if _, err := r.await(ctx, d, stop); err != nil {
			r.end(domain.OutcomeStopped)
		}
	} else if r.lean {
		// Signals that came meanwhile may end the enrolment.
		r.takeSignals(ctx)
	}
	return !stop()
}

// passGate checks the program, consent and conversion in the database and
// holds while the program is paused; it reports whether the step may go
// ahead. A pause long enough for the server to suggest it continues as
// new (the error is the continue-as-new).
func (r *runner) passGate(ctx workflow.Context) (bool, error) {
	for {
		var g activities.Gate
		if err := r.db(ctx, a.CheckGate, r.ProgramID, r.CustomerID, r.EnrolmentID).Get(ctx, &g); err != nil {
			return false, err
		}
		switch {
		case g.ProgramStatus == store.ProgramStopped:
			r.end(domain.OutcomeStopped)
		case g.Erased:
			// The erase signal was lost or is on its way. Only a gate of
			// an erased customer says so, and none was recorded before
			// erasure existed, so replays take the same path.
			r.end(domain.OutcomeErased)
		case g.OptedOut:
			r.end(domain.OutcomeOptedOut)
		case r.exitsOnConversion && g.Converted() && r.takes(ctx, changeGateConversion):
			// The signal was lost (or is still on its way): the database
			// says the customer is back, so nothing more goes out.
			r.record(ctx, "", "converted", gateConversion(g))
			r.end(domain.OutcomeConverted)
		default:
			r.state.Paused = g.ProgramStatus == store.ProgramPaused
		}
		if r.ended() {
			return false, nil
		}
		if !r.state.Paused {
			return true, nil
		}
		if r.state.Next != nil {
			r.state.Next.Waiting = "resume"
		}
		if _, err := r.await(ctx, gateRecheck, func() bool { return !r.state.Paused || r.ended() }); err != nil {
			r.end(domain.OutcomeStopped)
		}
		if r.state.Paused && !r.ended() && r.continueAsNew != nil &&
			workflow.GetInfo(ctx).GetContinueAsNewSuggested() && r.takes(ctx, changePauseContinueAsNew) {
			r.drain(ctx)
			if r.ended() {
				return false, nil
			}
			if r.state.Paused {
				return false, r.continueAsNew(ctx, r.progress)
			}
		}
	}
}

func gateConversion(g activities.Gate) string {
	if g.Redeemed {
		return "database: coupon redeemed"
	}
	return "database: purchase"
}

// waitFor is the wait before a step planned at the moment: until then,
// then through the gate. It reports whether the step may go ahead.
func (r *runner) waitFor(ctx workflow.Context, step string, at time.Time) (bool, error) {
	return r.waitUntil(ctx, step, at, nil)
}

// waitUntil is waitFor that cut, when it turns true, ends early (it
// reports false). With the daytime-sends change the step waits for the
// plan's hours, also after a pause let it through outside them; with the
// min-spacing change it waits for the spacing after the last message.
func (r *runner) waitUntil(ctx workflow.Context, step string, at time.Time, cut func() bool) (bool, error) {
	daytime := r.takes(ctx, changeDaytimeSends)
	spacing := r.takes(ctx, changeMinSpacing)
	if daytime {
		at = r.inHours(at)
	}
	r.planned = at
	for {
		due := at
		if spacing {
			due = r.spaced(at)
		}
		if daytime {
			due = r.inHours(due)
		}
		r.state.Next = &NextStep{Touch: step, At: due, Waiting: "time"}
		if !r.sleepUntil(ctx, due, cut) {
			return false, nil
		}
		ok, err := r.passGate(ctx)
		if err != nil || !ok {
			return false, err
		}
		if cut != nil && cut() {
			return false, nil
		}
		now := workflow.Now(ctx)
		if !daytime || r.inHours(now).Equal(now) {
			return true, nil
		}
		// A pause held the step past its hours: the next ones, and the
		// gate again then.
		at = now
	}
}

// inHours is the first moment at or after t within the plan's hours in
// the customer's zone (enrol.Timing.InHours, which the preview shares).
func (r *runner) inHours(t time.Time) time.Time {
	return r.timing.InHours(t, r.loc, r.CustomerID)
}

// spaced is the earliest moment a step planned at the moment may go
// (enrol.Timing.Spaced, which the forecast shares).
func (r *runner) spaced(at time.Time) time.Time {
	return r.timing.Spaced(at, r.progress.LastSent, r.progress.LastPlanned, r.loc)
}

// startedAt is when the enrolment began (offsets count from it, and each
// step's moment then waits for the plan's hours), kept across runs that
// continue as new.
func (r *runner) startedAt(ctx workflow.Context) time.Time {
	if r.progress.Started.IsZero() {
		r.progress.Started = workflow.Now(ctx)
	}
	return r.progress.Started
}

// send delivers one message. A message that cannot be sent (no consent,
// invalid number, provider down for a day) is recorded by the activity
// and the program goes on: one failed SMS must not end a year of contact.
func (r *runner) send(ctx workflow.Context, action string, req activities.SendRequest) {
	req.Key = r.key(req.Template.Step, action)
	req.EnrolmentID, req.CustomerID = r.EnrolmentID, r.CustomerID
	req.Template.ProgramID, req.Template.Version = r.ProgramID, r.ProgramVersion
	var res activities.SendResult
	for holds := 0; ; holds++ {
		req.LastTry = holds == maxHolds
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sendOptions(req.Channel)), a.SendMessage, req).Get(ctx, &res)
		if err != nil {
			var appErr *temporal.ApplicationError
			reason := err.Error()
			if errors.As(err, &appErr) {
				reason = appErr.Type() + ": " + appErr.Message()
			}
			workflow.GetLogger(ctx).Warn("message not sent", "program_id", r.ProgramID, "enrolment_id", r.EnrolmentID, "key", req.Key, "error", err)
			r.record(ctx, req.Template.Step, action, "failed: "+reason)
			return
		}
		if res.Status != domain.MessageHeld || res.NotBefore.IsZero() || !r.takes(ctx, changeSendHolds) {
			break
		}
		// Held by a rule (quiet hours, the cap): wait on a timer, so a
		// restart changes nothing, then through the gate and the send path
		// again (consent or the program may have changed meanwhile).
		r.record(ctx, req.Template.Step, action, "held: "+res.Reason+" until "+res.NotBefore.UTC().Format(time.RFC3339))
		if r.state.Next == nil {
			r.state.Next = &NextStep{Touch: req.Template.Step}
		}
		r.state.Next.At, r.state.Next.Waiting = res.NotBefore, res.Reason
		if !r.sleepUntil(ctx, res.NotBefore, nil) {
			return
		}
		if ok, err := r.passGate(ctx); err != nil || !ok {
			return
		}
	}
	r.progress.LastSent, r.progress.LastPlanned = workflow.Now(ctx), r.planned
	r.record(ctx, req.Template.Step, action, res.Status)
}

// maxHolds bounds how often one message is held: the last try records it
// suppressed with the rule's reason instead of holding it again (a cap
// that other programs keep filling must not keep an enrolment forever).
const maxHolds = 30

// issueCoupon issues the step's coupon (once, whatever the retries).
func (r *runner) issueCoupon(ctx workflow.Context, step string, spec programs.Coupon) (activities.IssuedCoupon, error) {
	var c activities.IssuedCoupon
	err := r.db(ctx, a.IssueCoupon, activities.IssueCouponRequest{
		Key: r.key(step, "coupon"), ProgramID: r.ProgramID, EnrolmentID: r.EnrolmentID, CustomerID: r.CustomerID, Coupon: spec,
	}).Get(ctx, &c)
	if err == nil {
		r.record(ctx, step, "coupon", fmt.Sprint(c.ID))
	}
	return c, err
}

// couponRedeemed asks the signal first and the database second.
func (r *runner) couponRedeemed(ctx workflow.Context, couponID int64) (bool, error) {
	if r.redeemed[couponID] {
		return true, nil
	}
	var used bool
	err := r.db(ctx, a.CouponRedeemed, couponID).Get(ctx, &used)
	return used, err
}

// finish cancels what is left open and records the outcome. It runs on a
// disconnected context so a cancelled workflow still cleans up.
func (r *runner) finish(ctx workflow.Context) (Journey, error) {
	if r.state.Outcome == "" {
		r.state.Outcome = domain.OutcomeCompleted
	}
	r.state.Ended = true
	r.state.Next = nil
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if r.lean {
		if err := r.db(dctx, a.FinishEnrolment, r.EnrolmentID, r.state.Outcome).Get(dctx, nil); err != nil {
			return r.state, err
		}
		return r.state, nil
	}
	dctx = workflow.WithActivityOptions(dctx, dbActivity)
	if err := workflow.ExecuteActivity(dctx, a.CancelOpenTasks, r.EnrolmentID).Get(dctx, nil); err != nil {
		return r.state, err
	}
	if err := workflow.ExecuteActivity(dctx, a.EndEnrolment, r.EnrolmentID, r.state.Outcome).Get(dctx, nil); err != nil {
		return r.state, err
	}
	return r.state, nil
}

func (r *runner) end(outcome string) {
	if r.state.Outcome == "" {
		r.state.Outcome = outcome
	}
}

func (r *runner) ended() bool { return r.state.Outcome != "" }

func (r *runner) record(ctx workflow.Context, step, action, result string) {
	r.state.Done = append(r.state.Done, StepDone{Touch: step, Action: action, At: workflow.Now(ctx), Result: result})
}

// key is the business idempotency key of an action: the same enrolment,
// step and action never produce two messages, tasks or coupons, whatever
// the run id.
func (r *runner) key(step, action string) string {
	return fmt.Sprintf("%s:%s:%s", r.keyPrefix, step, action)
}
