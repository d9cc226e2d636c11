package worker

import (
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
)

// sendActivity is the name SendMessage is registered under (the method's
// name; RegisterActivity(acts) registers methods by name).
const sendActivity = "SendMessage"

// smsRouting sends every SMS send to the SMS task queue, so that one
// server-side rate (TaskQueueActivitiesPerSecond on that queue) caps what
// all workers together hand Twilio, which accepts a fixed number of
// messages a second per sender; database activities and mail stay on the
// workflow's own queue, uncapped.
//
// It routes in the worker, not in each workflow, so that every send path
// (enrolments, consent notices, inbound answers) is covered and workflow
// code does not change. Replay is unaffected: the SDK matches a recorded
// ActivityTaskScheduled by activity id and type, not task queue, so a
// history recorded before the SMS queue existed replays as it was.
type smsRouting struct {
	interceptor.WorkerInterceptorBase
	queue string
}

func (r *smsRouting) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	in := &smsRoutingInbound{queue: r.queue}
	in.Next = next
	return in
}

type smsRoutingInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	queue string
}

func (in *smsRoutingInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	out := &smsRoutingOutbound{queue: in.queue}
	out.Next = outbound
	return in.Next.Init(out)
}

type smsRoutingOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	queue string
}

func (out *smsRoutingOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...interface{}) workflow.Future {
	if isSMSSend(activityType, args) {
		ctx = workflow.WithTaskQueue(ctx, out.queue)
	}
	return out.Next.ExecuteActivity(ctx, activityType, args...)
}

func isSMSSend(activityType string, args []interface{}) bool {
	if activityType != sendActivity || len(args) != 1 {
		return false
	}
	switch req := args[0].(type) {
	case activities.SendRequest:
		return req.Channel == domain.ChannelSMS
	case *activities.SendRequest:
		return req != nil && req.Channel == domain.ChannelSMS
	}
	return false
}
