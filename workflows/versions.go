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
)

// changed reports whether this run takes the change (see above).
func changed(ctx workflow.Context, change string) bool {
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1) == 1
}
