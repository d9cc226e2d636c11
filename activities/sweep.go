package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/metrics"
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
	q := store.EligibleQuery{
		ProgramID: req.ProgramID, Filter: sw.Audience, Now: time.Now(),
		CooldownMonths: sw.Cooldown.Months, CooldownDays: sw.Cooldown.Days, CooldownExact: sw.Cooldown.Exact,
		AfterCustomerID: req.AfterCustomerID, Limit: req.Limit,
	}
	ids, err := a.Store.EligibleCustomers(ctx, q)
	if err != nil {
		return EnrolPageResult{}, storeErr("eligible customers", err)
	}
	res := EnrolPageResult{NextAfter: req.AfterCustomerID, Done: len(ids) < req.Limit}
	if len(ids) > 0 {
		res.NextAfter = ids[len(ids)-1]
		// Held-out customers are written ended, in control: they are not
		// pending, so nothing below starts a workflow for them.
		prog := enrol.Program{ID: p.ID, Kind: p.Kind, Version: p.Version, Params: params}
		created, err := a.Store.EnrolCustomers(ctx, q, p.Version, ids, func(c int64) string {
			return programs.EnrolmentWorkflowID(p.Kind, p.ID, c)
		}, func(c int64) bool { return enrol.Control(prog, c) })
		if err != nil {
			return EnrolPageResult{}, storeErr("enrol customers", err)
		}
		metrics.EnrolmentsStarted(p.Kind, len(created))
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
	// Every workflow of the page runs: one statement marks them active, so
	// a workflow's first sleep needs no activity of its own before it.
	started := make([]int64, len(pending))
	for i, e := range pending {
		started[i] = e.EnrolmentID
	}
	if err := a.Store.MarkEnrolmentsActive(ctx, started); err != nil {
		return EnrolPageResult{}, storeErr("mark enrolments active", err)
	}
	res.Enrolled = len(pending)
	activity.RecordHeartbeat(ctx, res.NextAfter)
	return res, nil
}

// startEnrolment starts one pending enrolment at the version it was
// written with (a program edited between the insert and a retried start
// must not hand it another version's plan).
func (a *Activities) startEnrolment(ctx context.Context, p store.Program, params programs.Params, e store.PendingEnrolment) error {
	if e.ProgramVersion != p.Version {
		raw, err := a.Store.ProgramVersionParams(ctx, p.ID, e.ProgramVersion)
		if err != nil {
			return storeErr("program version", err)
		}
		if params, err = programs.Decode(p.Kind, raw); err != nil {
			return nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program %d version %d: %w", p.ID, e.ProgramVersion, err))
		}
	}
	spec, err := enrol.For(enrol.Program{ID: p.ID, Kind: p.Kind, Version: e.ProgramVersion, Params: params}, enrol.Member{
		EnrolmentID: e.EnrolmentID, WorkflowID: e.WorkflowID, CustomerID: e.CustomerID, TimeZone: e.TimeZone,
		BirthMonth: e.BirthMonth, BirthDay: e.BirthDay,
	})
	if err != nil {
		return nonRetryable(ErrTypeBadTemplate, err)
	}
	return enrol.Start(ctx, a.Temporal, a.TaskQueue, spec)
}
