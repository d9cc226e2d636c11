package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// ProgramSnapshot is a program as a sweep sees it when it starts.
type ProgramSnapshot struct {
	ID      int64
	Kind    string
	Status  string
	Version int
	Params  json.RawMessage
}

// LoadProgram reads a program for a sweep.
func (a *Activities) LoadProgram(ctx context.Context, programID int64) (ProgramSnapshot, error) {
	p, err := a.Store.Program(ctx, programID)
	if err != nil {
		return ProgramSnapshot{}, storeErr("program", err)
	}
	return ProgramSnapshot{ID: p.ID, Kind: p.Kind, Status: p.Status, Version: p.Version, Params: p.Params}, nil
}

// EnrolPageRequest asks for the next page of a program's audience.
type EnrolPageRequest struct {
	ProgramID       int64
	AfterCustomerID int64
	Limit           int
}

// EnrolPageResult is one page's count and where the next page starts.
type EnrolPageResult struct {
	Enrolled  int
	NextAfter int64
	Done      bool
}

// startConcurrency bounds the workflow starts one page has in flight.
const startConcurrency = 32

// EnrolPage finds the next page of eligible customers (keyset, by id),
// records their enrolments and starts their workflows. It starts every
// enrolment of the page's id range still pending, not just the rows it
// inserted, so a retry after a crash between the insert and the starts
// still starts what the first attempt wrote; a start that finds its
// workflow running is the same enrolment, so retries never enrol twice.
func (a *Activities) EnrolPage(ctx context.Context, req EnrolPageRequest) (EnrolPageResult, error) {
	p, err := a.Store.Program(ctx, req.ProgramID)
	if err != nil {
		return EnrolPageResult{}, storeErr("program", err)
	}
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		return EnrolPageResult{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	seg, ok := params.(programs.Segment)
	if !ok {
		return EnrolPageResult{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program %d (%s) does not enrol by audience", p.ID, p.Kind))
	}
	sw := seg.SweepSettings()
	ids, err := a.Store.EligibleCustomers(ctx, store.EligibleQuery{
		ProgramID: req.ProgramID, Filter: sw.Audience, Now: time.Now(),
		CooldownMonths: sw.Cooldown.Months, CooldownDays: sw.Cooldown.Days, CooldownExact: sw.Cooldown.Exact,
		AfterCustomerID: req.AfterCustomerID, Limit: req.Limit,
	})
	if err != nil {
		return EnrolPageResult{}, storeErr("eligible customers", err)
	}
	res := EnrolPageResult{NextAfter: req.AfterCustomerID, Done: len(ids) < req.Limit}
	if len(ids) > 0 {
		res.NextAfter = ids[len(ids)-1]
		if _, err := a.Store.EnrolCustomers(ctx, p.ID, p.Version, ids, func(c int64) string {
			return programs.EnrolmentWorkflowID(p.Kind, p.ID, c)
		}); err != nil {
			return EnrolPageResult{}, storeErr("enrol customers", err)
		}
	}
	upTo := res.NextAfter
	if res.Done {
		upTo = 1<<63 - 1
	}
	pending, err := a.Store.PendingEnrolments(ctx, p.ID, req.AfterCustomerID, upTo)
	if err != nil {
		return EnrolPageResult{}, storeErr("pending enrolments", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(startConcurrency)
	for _, e := range pending {
		g.Go(func() error { return a.startEnrolment(gctx, p, params, e) })
	}
	if err := g.Wait(); err != nil {
		return EnrolPageResult{}, fmt.Errorf("start enrolments: %w", err)
	}
	res.Enrolled = len(pending)
	activity.RecordHeartbeat(ctx, res.NextAfter)
	return res, nil
}

func (a *Activities) startEnrolment(ctx context.Context, p store.Program, params programs.Params, e store.PendingEnrolment) error {
	en := enrol.Enrolment{ProgramID: p.ID, ProgramVersion: p.Version, EnrolmentID: e.EnrolmentID, CustomerID: e.CustomerID, TimeZone: e.TimeZone}
	var workflow string
	var input any
	switch params := params.(type) {
	case *programs.WelcomeBack:
		workflow, input = enrol.WorkflowWelcomeBack, enrol.WelcomeBackInput{Enrolment: en, Params: *params}
	case *programs.DormantWakeup:
		workflow, input = enrol.WorkflowDormantWakeup, enrol.DormantWakeupInput{Enrolment: en, Params: *params}
	case *programs.Birthday:
		workflow, input = enrol.WorkflowBirthday, enrol.BirthdayInput{Enrolment: en, Params: *params, Month: e.BirthMonth, Day: e.BirthDay}
	default:
		return nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program kind %s has no audience", p.Kind))
	}
	return enrol.Start(ctx, a.Temporal, a.TaskQueue, programs.EnrolmentWorkflowID(p.Kind, p.ID, e.CustomerID), workflow, p.Kind, en, input, true)
}
