// Package workflows holds dangol's durable programs. Each reads top to
// bottom as the process a store would follow by hand; every side effect is
// an activity.
package workflows

import (
	"fmt"
)

// TaskQueue is the queue dangol's worker polls.
const TaskQueue = "dangol"

// ControlQueue is the queue of sweeps and the grading job, beside the
// enrolments' queue.
func ControlQueue(taskQueue string) string { return taskQueue + "-control" }

// Signals and queries.
const (
	// SignalControl carries a ControlSignal: pause, resume or stop from
	// the program's lifecycle API.
	SignalControl = "control"
	// SignalOptOut ends the customer's enrolments when they withdraw consent.
	SignalOptOut = "opt-out"
	// SignalCallTaskCompleted carries a CallTaskCompleted from the call
	// task API, so the workflow reacts without waiting for the window.
	SignalCallTaskCompleted = "call-task-completed"
	// QueryJourney returns a Journey: steps done and the next step.
	QueryJourney = "journey"
)

// Control actions.
const (
	ActionPause  = "pause"
	ActionResume = "resume"
	ActionStop   = "stop"
	// ActionErase ends the enrolment because the customer was erased
	// (DELETE /v1/customers/{id}); it comes from the customer's fan-out.
	ActionErase = "erase"
)

// ControlSignal is the payload of SignalControl.
type ControlSignal struct {
	Action string
}

// CallTaskCompleted is the payload of SignalCallTaskCompleted. The note
// stays in the database; only the outcome enters the history.
type CallTaskCompleted struct {
	TaskID  int64
	Outcome string
}

// HappyCallWorkflowID is the one workflow id of a (program, purchase): a
// repeated purchase event finds the running sequence instead of starting a
// second one.
func HappyCallWorkflowID(programID, purchaseID int64) string {
	return fmt.Sprintf("happycall/%d/%d", programID, purchaseID)
}

// SignalConverted carries a Converted: the customer bought again or
// redeemed a coupon this enrolment issued.
const SignalConverted = "converted"

// Converted is the payload of SignalConverted.
type Converted struct {
	Reason   string // purchase or coupon
	Ref      string // the purchase's or order's external id
	CouponID int64
}
