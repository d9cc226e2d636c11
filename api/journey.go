package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

type enrolmentJourney struct {
	store.Enrolment
	ProgramName string               `json:"program_name"`
	ProgramKind string               `json:"program_kind"`
	Paused      bool                 `json:"paused"`
	StepsDone   []workflows.StepDone `json:"steps_done"`
	Next        *workflows.NextStep  `json:"next"`
	Messages    []store.Message      `json:"messages"`
	CallTasks   []store.CallTask     `json:"call_tasks"`
	// QueryError says why the live state is missing (workflow unreachable).
	QueryError string `json:"query_error,omitempty"`
}

// customerJourney shows what dangol did and will do for a customer: the
// database has the enrolments, messages and tasks; each running workflow
// answers where it stands and what comes next.
func (s *Server) customerJourney(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := s.Store.CustomerByExternalID(ctx, chi.URLParam(r, "externalID"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	es, err := s.Store.CustomerEnrolments(ctx, c.ID)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := make([]enrolmentJourney, 0, len(es))
	for _, e := range es {
		j := enrolmentJourney{Enrolment: e, StepsDone: []workflows.StepDone{}}
		if p, err := s.Store.Program(ctx, e.ProgramID); err == nil {
			j.ProgramName, j.ProgramKind = p.Name, p.Kind
		}
		if j.Messages, err = s.Store.EnrolmentMessages(ctx, e.ID); err != nil {
			renderError(w, r, err)
			return
		}
		if j.CallTasks, err = s.Store.ListCallTasks(ctx, store.CallTaskFilter{EnrolmentID: e.ID}); err != nil {
			renderError(w, r, err)
			return
		}
		if e.Status != store.EnrolmentPending {
			if live, err := s.queryJourney(ctx, e.WorkflowID); err != nil {
				j.QueryError = err.Error()
			} else {
				j.Paused, j.Next = live.Paused, live.Next
				if live.Done != nil {
					j.StepsDone = live.Done
				}
			}
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_id": c.ExternalID, "enrolments": out})
}

func (s *Server) queryJourney(ctx context.Context, workflowID string) (workflows.Journey, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var j workflows.Journey
	v, err := s.Temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryJourney)
	if err != nil {
		return j, err
	}
	return j, v.Get(&j)
}
