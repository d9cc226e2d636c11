package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/api/serviceerror"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// startPurchaseEnrolment starts the workflow of an enrolment a purchase
// created, under its fixed id. If it is already running or finished,
// nothing happens: a repeated purchase never starts a second sequence.
func (s *Server) startPurchaseEnrolment(ctx context.Context, e store.Enrolment, p decodedProgram, purchase store.Purchase, customer store.Customer) error {
	params := p.params
	if e.ProgramVersion != p.Version {
		raw, err := s.Store.ProgramVersionParams(ctx, p.ID, e.ProgramVersion)
		if err != nil {
			return err
		}
		if params, err = programs.Decode(p.Kind, raw); err != nil {
			return fmt.Errorf("program %d: %w", p.ID, err)
		}
	}
	spec, err := enrol.For(enrol.Program{ID: p.ID, Kind: p.Kind, Version: e.ProgramVersion, Params: params}, enrol.Member{
		EnrolmentID: e.ID, WorkflowID: e.WorkflowID, CustomerID: customer.ID, TimeZone: customer.TimeZone,
		PurchaseID: purchase.ID, PurchasedAt: purchase.PurchasedAt,
	})
	if err != nil {
		return fmt.Errorf("program %d: %w", p.ID, err)
	}
	return enrol.Start(ctx, s.Temporal, s.TaskQueue, spec)
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
		Detail:     "stored, but the program could not be started (" + err.Error() + "); repeat the same request to finish",
		retryAfter: retryUnavailable}
}
