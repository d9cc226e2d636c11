package activities

import (
	"context"

	"github.com/dangol/dangol/store"
)

// GateRequest asks the gate (CheckGate) and, when it lets the step
// through, for the step's first database action: its coupon or its call
// task. One local activity instead of two is one marker in the workflow's
// history instead of two (workflows' lean-touch change).
type GateRequest struct {
	ProgramID   int64
	CustomerID  int64
	EnrolmentID int64
	// ExitsOnConversion: a purchase or a redemption since the enrolment
	// started stops the step (the program's enrolments end on conversion).
	ExitsOnConversion bool
	// At most one of them is set; neither makes PassGate CheckGate.
	Coupon   *IssueCouponRequest `json:",omitempty"`
	CallTask *CallTaskRequest    `json:",omitempty"`
}

// GateResult is the gate's answer and, when Done, what the action made.
type GateResult struct {
	Gate Gate
	// Done: the gate let the step through and the action ran.
	Done       bool          `json:",omitempty"`
	Coupon     *IssuedCoupon `json:",omitempty"`
	CallTaskID int64         `json:",omitempty"` // 0: no call consent (see CreateCallTask)
}

// Lets reports whether the gate lets a step through, as the workflows
// read it: the program neither stopped nor paused, the customer neither
// erased nor opted out, and, for a program that ends on conversion, not
// come back since the enrolment started.
func (g Gate) Lets(exitsOnConversion bool) bool {
	switch {
	case g.ProgramStatus == store.ProgramStopped, g.ProgramStatus == store.ProgramPaused, g.Erased, g.OptedOut:
		return false
	case exitsOnConversion && g.Converted():
		return false
	}
	return true
}

// PassGate checks the gate and, when it lets the step through, does the
// step's action. Retried after the action was done, the gate is read
// again; the action is idempotent under its key, so a retry that is let
// through returns the same coupon or task.
func (a *Activities) PassGate(ctx context.Context, req GateRequest) (GateResult, error) {
	g, err := a.CheckGate(ctx, req.ProgramID, req.CustomerID, req.EnrolmentID)
	if err != nil {
		return GateResult{}, err
	}
	res := GateResult{Gate: g}
	if !g.Lets(req.ExitsOnConversion) {
		return res, nil
	}
	switch {
	case req.Coupon != nil:
		c, err := a.IssueCoupon(ctx, *req.Coupon)
		if err != nil {
			return GateResult{}, err
		}
		res.Coupon, res.Done = &c, true
	case req.CallTask != nil:
		id, err := a.CreateCallTask(ctx, *req.CallTask)
		if err != nil {
			return GateResult{}, err
		}
		res.CallTaskID, res.Done = id, true
	}
	return res, nil
}

// ExpiryRequest ends an enrolment when its coupon expires, with one of
// two outcomes (the workflows name them).
type ExpiryRequest struct {
	EnrolmentID int64
	CouponID    int64
	// Unused is the outcome when the coupon was never used, Used when it
	// was (a redemption signal may have been lost).
	Unused, Used string
}

// FinishAtExpiry looks up whether the coupon was used and records the
// outcome as FinishEnrolment does, in one local activity; it returns the
// outcome. A coupon cannot be redeemed once expired (store.RedeemCoupon),
// so a retry reads the same answer.
func (a *Activities) FinishAtExpiry(ctx context.Context, req ExpiryRequest) (string, error) {
	used, err := a.CouponRedeemed(ctx, req.CouponID)
	if err != nil {
		return "", err
	}
	outcome := req.Unused
	if used {
		outcome = req.Used
	}
	return outcome, a.FinishEnrolment(ctx, req.EnrolmentID, outcome)
}
