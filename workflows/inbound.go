package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
)

// WorkflowInboundAnswer is the registered name of InboundAnswer.
const WorkflowInboundAnswer = "InboundAnswer"

// InboundAnswerWorkflowID is the one workflow of the reply with this
// provider SID: a replayed webhook finds it (running or closed) instead
// of starting a second answer.
func InboundAnswerWorkflowID(sid string) string { return "inbound/" + sid }

// InboundAnswerInput names the reply and whom to answer; the texts are
// looked up when sent.
type InboundAnswerInput struct {
	SID        string
	Keyword    string
	CustomerID int64
}

// InboundAnswer sends the one answer to a customer's STOP, START or HELP:
// a service message through the one send path, under the reply's key, so
// even a second run sends nothing twice.
func InboundAnswer(ctx workflow.Context, in InboundAnswerInput) (activities.SendResult, error) {
	var res activities.SendResult
	builtin := activities.InboundAnswer(in.Keyword)
	if builtin == "" {
		return res, nil
	}
	// A rule may hold even a service message (settings incomplete, quiet
	// hours where they cover service): wait for its moment a few times,
	// then let the last try record why it did not go.
	for try := 1; ; try++ {
		req := activities.SendRequest{
			Key: activities.InboundConfirmKey(in.SID), Channel: domain.ChannelSMS, CustomerID: in.CustomerID,
			Template: activities.TemplateRef{Builtin: builtin}, Purpose: compliance.PurposeService, LastTry: try >= inboundAnswerTries,
		}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sendOptions(domain.ChannelSMS)), a.SendMessage, req).Get(ctx, &res); err != nil {
			return res, err
		}
		if res.Status != domain.MessageHeld || req.LastTry {
			return res, nil
		}
		if d := res.NotBefore.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return res, err
			}
		}
	}
}

// inboundAnswerTries bounds how often an answer that is held is tried.
const inboundAnswerTries = 3
