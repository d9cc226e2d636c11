package enrol

import (
	"context"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Workflow names, as the worker registers them.
const (
	WorkflowHappyCall      = "HappyCall"
	WorkflowWelcomeBack    = "WelcomeBack"
	WorkflowDormantWakeup  = "DormantWakeup"
	WorkflowBirthday       = "Birthday"
	WorkflowSecondPurchase = "SecondPurchase"
)

// Search attributes set on every enrolment workflow, so operators can find
// a program's or a customer's runs in the Temporal UI.
var (
	AttrProgramID   = temporal.NewSearchAttributeKeyKeyword("ProgramId")
	AttrCustomerID  = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	AttrProgramKind = temporal.NewSearchAttributeKeyKeyword("ProgramKind")
)

// Start starts an enrolment's workflow under its fixed id. A workflow
// already running under that id is this enrolment started before (ids are
// unique among live enrolments): that is success, so retries are free.
// reuse says whether a finished run's id may be used again (re-entry after
// a cooldown) or never (one happy call per purchase).
func Start(ctx context.Context, c client.Client, taskQueue, workflowID, workflow, kind string, e Enrolment, input any, reuse bool) error {
	policy := enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if reuse {
		policy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    policy,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrProgramID.ValueSet(fmt.Sprint(e.ProgramID)),
			AttrCustomerID.ValueSet(fmt.Sprint(e.CustomerID)),
			AttrProgramKind.ValueSet(kind),
		),
	}, workflow, input)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}
