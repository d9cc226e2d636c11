package api

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/domain"
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
	Coupons     []store.Coupon       `json:"coupons"`
	// QueryError says why the live part (next step, paused) is missing:
	// the workflow did not answer within the journey's budget.
	QueryError string `json:"query_error,omitempty"`
}

// journeyQueryBudget bounds the whole enrichment of a journey by workflow
// queries: without a worker polling, a query waits until its deadline,
// and the journey must answer anyway.
const journeyQueryBudget = time.Second

// journeyQueryConcurrency bounds the queries one journey has in flight.
const journeyQueryConcurrency = 8

// customerJourney shows what dangol did and will do for a customer. What
// was done comes from the database, recorded as it happened (messages,
// call tasks, coupons, the enrolment's outcome); only running enrolments
// are asked, within a short budget, where they stand and what comes next.
// Closed enrolments are never queried.
func (s *Server) customerJourney(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := s.Store.CustomerByExternalID(ctx, chi.URLParam(r, "externalID"))
	if err != nil {
		renderError(w, r, err)
		return
	}
	es, err := s.Store.CustomerJourney(ctx, c.ID)
	if err != nil {
		renderError(w, r, err)
		return
	}
	out := make([]enrolmentJourney, len(es))
	for i, e := range es {
		out[i] = enrolmentJourney{Enrolment: e.Enrolment, ProgramName: e.ProgramName, ProgramKind: e.ProgramKind,
			StepsDone: stepsDone(e), Messages: orEmpty(e.Messages), CallTasks: orEmpty(e.CallTasks), Coupons: orEmpty(e.Coupons)}
	}
	replies, err := s.Store.CustomerInbound(ctx, c.ID)
	if err != nil {
		renderError(w, r, err)
		return
	}
	qctx, cancel := context.WithTimeout(ctx, journeyQueryBudget)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(journeyQueryConcurrency)
	for i := range out {
		j := &out[i]
		if j.Status != domain.EnrolmentActive {
			continue
		}
		g.Go(func() error {
			live, err := s.queryJourney(qctx, j.WorkflowID)
			if err != nil {
				j.QueryError = err.Error()
				return nil
			}
			j.Paused, j.Next = live.Paused, live.Next
			return nil
		})
	}
	_ = g.Wait()
	writeJSON(w, http.StatusOK, map[string]any{"customer_id": c.ExternalID, "enrolments": out, "replies": journeyReplies(replies)})
}

// stepsDone lists what the enrolment's steps did, in the order it
// happened, from the rows they wrote.
func stepsDone(e store.JourneyEnrolment) []workflows.StepDone {
	steps := []workflows.StepDone{}
	for _, m := range e.Messages {
		step, action := workflows.SplitKey(m.IdempotencyKey)
		steps = append(steps, workflows.StepDone{Touch: step, Action: action, At: m.CreatedAt, Result: m.Status})
	}
	for _, t := range e.CallTasks {
		step, _ := workflows.SplitKey(t.IdempotencyKey)
		id := fmt.Sprint(t.ID)
		action := "call_task"
		if t.Kind == domain.TaskEscalation {
			action = "escalation"
		}
		steps = append(steps, workflows.StepDone{Touch: step, Action: action, At: t.CreatedAt, Result: id})
		switch {
		case t.Status == domain.TaskCompleted && t.Outcome != nil && t.CompletedAt != nil:
			steps = append(steps, workflows.StepDone{Touch: step, Action: *t.Outcome, At: *t.CompletedAt, Result: id})
		case t.Status == domain.TaskExpired && t.ExpiresAt != nil:
			steps = append(steps, workflows.StepDone{Touch: step, Action: "expired", At: *t.ExpiresAt, Result: id})
		}
	}
	for _, k := range e.Coupons {
		step, _ := workflows.SplitKey(k.IdempotencyKey)
		steps = append(steps, workflows.StepDone{Touch: step, Action: "coupon", At: k.IssuedAt, Result: k.Code})
	}
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].At.Before(steps[b].At) })
	return steps
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) queryJourney(ctx context.Context, workflowID string) (workflows.Journey, error) {
	var j workflows.Journey
	v, err := s.Temporal.QueryWorkflow(ctx, workflowID, "", workflows.QueryJourney)
	if err != nil {
		return j, err
	}
	return j, v.Get(&j)
}
