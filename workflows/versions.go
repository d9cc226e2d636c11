package workflows

import "go.temporal.io/sdk/workflow"

// Change ids of workflow.GetVersion. A run that recorded none of them (its
// history predates the change) replays and goes on as it was written; a
// new run records version 1 the first time it reaches the change. Never
// rename or remove one while a run that recorded it may be alive: the
// committed histories in testdata hold them.
const (
	// changeDaytimeSends (issue 6, defect 11): a message waits for the
	// plan's hours in the customer's zone (a segment program's send hour,
	// the daytime for programs that follow a purchase), also after a pause
	// released it; the happy call's fallback SMS goes through the gate
	// and those hours too.
	changeDaytimeSends = "daytime-sends"
	// changeMinSpacing (defect 18): a step waits until MinSpacing after
	// the enrolment's last message (at most as long as the plan spaced
	// them), so steps that came due together do not go out in a burst.
	changeMinSpacing = "min-spacing"
	// changeGateConversion (defect 7): a gate that finds in the database
	// that the customer bought or redeemed ends the enrolment as
	// converted. Looked up only when the gate says so, which no history
	// recorded before the change does.
	changeGateConversion = "gate-ends-converted"
	// changePauseContinueAsNew (defect 14): a paused enrolment continues
	// as new when the server suggests it, after draining its signals.
	changePauseContinueAsNew = "pause-continue-as-new"
	// changeBirthdayDrain (defect 14): before the birthday's yearly
	// continue-as-new every signal channel is drained, and a stop or an
	// opt-out among them ends the enrolment instead.
	changeBirthdayDrain = "birthday-drain-signals"
	// changeSendHolds (issue 7): a message the send path holds (quiet
	// hours, the frequency cap) waits durably until it may go, passes the
	// gate again, and is sent through the send path again. Asked only when
	// a send came back held, which no earlier history has.
	changeSendHolds = "send-holds"
	// changeLean (issue 10): lean histories. Asked once, first thing in
	// every enrolment run, so a run takes all of it or none of it:
	//   - the database-only steps (the gate, call tasks, coupons, marking
	//     dormant, the end) run as local activities: a marker each in the
	//     workflow task that asked, instead of three events and a workflow
	//     task round trip (six events) each;
	//   - the end is one local activity (FinishEnrolment: open call tasks
	//     cancelled and the outcome recorded in one statement);
	//   - the enrolment is not marked active from the workflow: whoever
	//     started it (the sweep's page, the purchase) marks its batch;
	//   - signals are taken by the waits (one selector over every signal
	//     channel and the timer) instead of one goroutine per channel, so a
	//     sleeping enrolment holds one coroutine; a signal that comes during
	//     an activity is taken at the next wait, which changes when its
	//     effects can show in commands, hence this version;
	//   - a wait whose condition already holds starts no timer, and a timer
	//     a signal cut short is cancelled instead of firing later into a
	//     workflow task of its own;
	//   - the changes above it are taken without asking (every lean run is
	//     new code), which saves their markers.
	changeLean = "lean-enrolment"
	// changeLeanTouch (issue 10): fewer events per touch. Asked first in
	// every enrolment run, instead of changeLean: a run that takes it
	// takes the lean change too without asking, so a new run still records
	// one version marker. It adds:
	//   - a touch's messages that take no place under the frequency cap
	//     (all but one marketing message) are scheduled together, in one
	//     workflow task, instead of one after the other;
	//   - the gate of a step whose first action is in the database (its
	//     coupon, a call step's task) does that action in its own local
	//     activity when it lets the step through (activities.PassGate);
	//   - a welcome-back's reminder asks the database about its coupon
	//     once, at the gate (which finds a redemption already);
	//   - the end at a coupon's expiry looks the redemption up and records
	//     the outcome in one local activity (activities.FinishAtExpiry).
	changeLeanTouch = "lean-touch"
)

// changed reports whether this run takes the change (see above).
func changed(ctx workflow.Context, change string) bool {
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == 1
}
