package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

var (
	saProgramID   = temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrProgramID)
	saCustomerID  = temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrCustomerID)
	saProgramKind = temporal.NewSearchAttributeKeyKeyword(workflows.SearchAttrProgramKind)
)

// startPurchaseEnrolment starts the workflow of an enrolment a purchase
// created, under its fixed id. If it is already running or finished,
// nothing happens: a repeated purchase never starts a second sequence.
func (s *Server) startPurchaseEnrolment(ctx context.Context, e store.Enrolment, p store.Program, purchase store.Purchase, customer store.Customer) error {
	raw := p.Params
	if e.ProgramVersion != p.Version {
		var err error
		if raw, err = s.Store.ProgramVersionParams(ctx, p.ID, e.ProgramVersion); err != nil {
			return err
		}
	}
	params, err := programs.Decode(p.Kind, raw)
	if err != nil {
		return fmt.Errorf("program %d: %w", p.ID, err)
	}
	en := workflows.Enrolment{ProgramID: p.ID, ProgramVersion: e.ProgramVersion, EnrolmentID: e.ID, CustomerID: customer.ID, TimeZone: customer.TimeZone}
	var workflow string
	var in any
	switch params := params.(type) {
	case *programs.HappyCall:
		workflow, in = "HappyCall", workflows.HappyCallInput{Enrolment: en, PurchaseID: purchase.ID, PurchasedAt: purchase.PurchasedAt,
			Steps: params.Steps(), CallWindow: params.CallWindow}
	case *programs.SecondPurchase:
		workflow, in = "SecondPurchase", workflows.SecondPurchaseInput{Enrolment: en, PurchaseID: purchase.ID, Params: *params}
	default:
		return fmt.Errorf("program %d: a %s program is not started by purchases", p.ID, p.Kind)
	}
	opts := client.StartWorkflowOptions{
		ID:                       e.WorkflowID,
		TaskQueue:                s.TaskQueue,
		WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			saProgramID.ValueSet(fmt.Sprint(p.ID)),
			saCustomerID.ValueSet(fmt.Sprint(customer.ID)),
			saProgramKind.ValueSet(p.Kind),
		),
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, opts, workflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// signal sends a signal to one enrolment workflow; an ended workflow is
// fine (its enrolment is over), anything else is logged.
func (s *Server) signal(r *http.Request, workflowID, name string, arg any) {
	err := s.Temporal.SignalWorkflow(r.Context(), workflowID, "", name, arg)
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		s.logger().ErrorContext(r.Context(), "signal workflow", "workflow_id", workflowID, "signal", name, "error", err)
	}
}

// unavailable is the answer when Temporal cannot take a start: the data is
// stored, and repeating the same request finishes the job.
func unavailable(err error) *Problem {
	return &Problem{Type: "about:blank", Title: "Workflow engine unavailable", Status: http.StatusServiceUnavailable,
		Detail: "stored, but the program could not be started (" + err.Error() + "); repeat the same request to finish"}
}
