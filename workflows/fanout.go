package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
)

// SignalFanOut carries the id of a new fan-out to the scope's FanOut
// workflow (SignalWithStart), so fan-outs of one program or customer run
// one after another, in the order they were asked for.
const SignalFanOut = "fan-out"

// WorkflowFanOut is the name the worker registers FanOut under.
const WorkflowFanOut = "FanOut"

// FanOutInput is the fan-outs still to run, oldest first.
type FanOutInput struct {
	Pending []int64
}

// ProgramFanOutWorkflowID and CustomerFanOutWorkflowID name the one
// FanOut workflow of a program or a customer.
func ProgramFanOutWorkflowID(programID int64) string {
	return fmt.Sprintf("fanout/program/%d", programID)
}

// CustomerFanOutWorkflowID: see ProgramFanOutWorkflowID.
func CustomerFanOutWorkflowID(customerID int64) string {
	return fmt.Sprintf("fanout/customer/%d", customerID)
}

// fanOutPagesPerRun bounds a run's history; it continues as new after.
const fanOutPagesPerRun = 100

// FanOut sends each requested signal to every live enrolment of its scope,
// a page (an activity) at a time, in the background of the request that
// asked for it. One workflow per program or customer runs the requests in
// order, so an enrolment always hears the newest last (pause, then
// resume); a request superseded by a newer one of the same signal stops
// at its next page.
func FanOut(ctx workflow.Context, in FanOutInput) error {
	ch := workflow.GetSignalChannel(ctx, SignalFanOut)
	drain := func() {
		var id int64
		for ch.ReceiveAsync(&id) {
			in.Pending = append(in.Pending, id)
		}
	}
	actx := workflow.WithActivityOptions(ctx, fanOutActivity)
	for pages := 0; ; pages++ {
		drain()
		if len(in.Pending) == 0 {
			return nil
		}
		if pages >= fanOutPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return workflow.NewContinueAsNewError(ctx, FanOut, in)
		}
		var res activities.FanOutPageResult
		if err := workflow.ExecuteActivity(actx, a.FanOutPage, in.Pending[0]).Get(ctx, &res); err != nil {
			return err
		}
		if res.Done {
			in.Pending = in.Pending[1:]
		}
	}
}

// fanOutActivity: a page is one query and up to 500 signals.
var fanOutActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 5 * time.Minute,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
