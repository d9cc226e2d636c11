package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

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

// EnrolBatchRequest asks for the next page of a program's audience.
type EnrolBatchRequest struct {
	ProgramID       int64
	Kind            string
	Version         int
	AfterCustomerID int64
	Limit           int
}

// Enrolled is one enrolment the sweep must start a workflow for. It
// carries what the workflow input needs besides ids (zone, birthday).
type Enrolled struct {
	EnrolmentID int64
	CustomerID  int64
	TimeZone    string
	BirthMonth  time.Month
	BirthDay    int
}

// EnrolBatchResult is one page's enrolments and where the next page starts.
type EnrolBatchResult struct {
	Enrolled  []Enrolled
	NextAfter int64
	Done      bool
}

// EnrolBatch finds the next page of eligible customers (keyset, by id),
// records their enrolments and returns every enrolment of the page's id
// range still waiting for its workflow. The range, not just the new rows,
// is returned so that a retry after a crash between the insert and the
// return still starts the workflows of the rows the first attempt wrote.
func (a *Activities) EnrolBatch(ctx context.Context, req EnrolBatchRequest) (EnrolBatchResult, error) {
	p, err := a.Store.Program(ctx, req.ProgramID)
	if err != nil {
		return EnrolBatchResult{}, storeErr("program", err)
	}
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		return EnrolBatchResult{}, nonRetryable(ErrTypeBadTemplate, err)
	}
	seg, ok := params.(programs.Segment)
	if !ok {
		return EnrolBatchResult{}, nonRetryable(ErrTypeBadTemplate, fmt.Errorf("program %d (%s) does not enrol by audience", p.ID, p.Kind))
	}
	sw := seg.SweepSettings()
	ids, err := a.Store.EligibleCustomers(ctx, store.EligibleQuery{
		ProgramID: req.ProgramID, Filter: sw.Audience, Now: time.Now(),
		CooldownMonths: sw.Cooldown.Months, CooldownDays: sw.Cooldown.Days, CooldownExact: sw.Cooldown.Exact,
		AfterCustomerID: req.AfterCustomerID, Limit: req.Limit,
	})
	if err != nil {
		return EnrolBatchResult{}, storeErr("eligible customers", err)
	}
	res := EnrolBatchResult{NextAfter: req.AfterCustomerID, Done: len(ids) < req.Limit}
	if len(ids) > 0 {
		res.NextAfter = ids[len(ids)-1]
		if _, err := a.Store.EnrolCustomers(ctx, req.ProgramID, req.Version, ids, func(c int64) string {
			return programs.EnrolmentWorkflowID(req.Kind, req.ProgramID, c)
		}); err != nil {
			return EnrolBatchResult{}, storeErr("enrol customers", err)
		}
	}
	upTo := res.NextAfter
	if res.Done {
		upTo = 1<<63 - 1
	}
	pending, err := a.Store.PendingEnrolments(ctx, req.ProgramID, req.AfterCustomerID, upTo)
	if err != nil {
		return EnrolBatchResult{}, storeErr("pending enrolments", err)
	}
	for _, e := range pending {
		res.Enrolled = append(res.Enrolled, Enrolled{EnrolmentID: e.EnrolmentID, CustomerID: e.CustomerID, TimeZone: e.TimeZone, BirthMonth: e.BirthMonth, BirthDay: e.BirthDay})
	}
	activity.RecordHeartbeat(ctx, res.NextAfter)
	return res, nil
}
