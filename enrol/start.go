package enrol

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/programs"
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

// Program is the program an enrolment runs, at the enrolment's version.
type Program struct {
	ID      int64
	Kind    string
	Version int
	Params  programs.Params
}

// Member is the enrolment as stored, with what its input needs of the
// customer and, for programs that follow a purchase, of the purchase.
type Member struct {
	EnrolmentID int64
	// WorkflowID is the id stored with the enrolment (made by
	// workflows.HappyCallWorkflowID or programs.EnrolmentWorkflowID when
	// the row was written): the database is the truth.
	WorkflowID string
	CustomerID int64
	TimeZone   string
	BirthMonth time.Month
	BirthDay   int
	// PurchaseID and PurchasedAt: the purchase that enrolled the customer
	// (happy call, second purchase).
	PurchaseID  int64
	PurchasedAt time.Time
}

// Spec is how one enrolment's workflow starts.
type Spec struct {
	Workflow   string
	WorkflowID string
	Kind       string
	Enrolment  Enrolment
	Input      any
	// Reuse says whether a finished run's id may be used again (re-entry
	// after a cooldown) or never (one sequence per purchase).
	Reuse bool
}

// ErrNotStartable is returned for an enrolment For cannot start.
var ErrNotStartable = errors.New("enrolment cannot be started")

// For is the one place that decides an enrolment's workflow, id, input
// and reuse policy, for every kind: the API's purchase path and the sweep
// both call it.
func For(p Program, m Member) (Spec, error) {
	if m.WorkflowID == "" || m.EnrolmentID == 0 || m.CustomerID == 0 {
		return Spec{}, fmt.Errorf("%w: enrolment %d of program %d has no workflow id, id or customer", ErrNotStartable, m.EnrolmentID, p.ID)
	}
	// Both callers mark the enrolments they started active (see
	// store.MarkEnrolmentsActive).
	e := Enrolment{ProgramID: p.ID, ProgramVersion: p.Version, EnrolmentID: m.EnrolmentID, CustomerID: m.CustomerID, TimeZone: m.TimeZone,
		StarterMarksActive: true}
	s := Spec{WorkflowID: m.WorkflowID, Kind: p.Kind, Enrolment: e}
	needPurchase := func() error {
		if m.PurchaseID == 0 {
			return fmt.Errorf("%w: a %s enrolment follows a purchase", ErrNotStartable, p.Kind)
		}
		return nil
	}
	switch params := p.Params.(type) {
	case *programs.HappyCall:
		if err := needPurchase(); err != nil {
			return Spec{}, err
		}
		steps := params.Steps()
		t := HappyCallTiming(steps, params.CallWindow)
		s.Workflow, s.Input = WorkflowHappyCall, HappyCallInput{Enrolment: e, PurchaseID: m.PurchaseID, PurchasedAt: m.PurchasedAt,
			Steps: steps, CallWindow: params.CallWindow, Timing: &t}
	case *programs.SecondPurchase:
		if err := needPurchase(); err != nil {
			return Spec{}, err
		}
		plan := PlanSecondPurchase(*params)
		s.Workflow, s.Input = WorkflowSecondPurchase, SecondPurchaseInput{Enrolment: e, PurchaseID: m.PurchaseID, Plan: &plan}
	case *programs.WelcomeBack:
		plan := PlanWelcomeBack(*params)
		s.Workflow, s.Input, s.Reuse = WorkflowWelcomeBack, WelcomeBackInput{Enrolment: e, Plan: &plan}, true
	case *programs.DormantWakeup:
		plan := PlanDormantWakeup(*params)
		s.Workflow, s.Input, s.Reuse = WorkflowDormantWakeup, DormantWakeupInput{Enrolment: e, Plan: &plan}, true
	case *programs.Birthday:
		plan := PlanBirthday(*params)
		s.Workflow, s.Input, s.Reuse = WorkflowBirthday, BirthdayInput{Enrolment: e, Plan: &plan, Month: m.BirthMonth, Day: m.BirthDay}, true
	default:
		return Spec{}, fmt.Errorf("%w: program %d of kind %s has no enrolment workflow", ErrNotStartable, p.ID, p.Kind)
	}
	return s, nil
}

// Start starts an enrolment's workflow under its fixed id. A workflow
// already running under that id is this enrolment started before (ids are
// unique among live enrolments): that is success, so retries are free.
func Start(ctx context.Context, c client.Client, taskQueue string, s Spec) error {
	policy := enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	if s.Reuse {
		policy = enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       s.WorkflowID,
		TaskQueue:                taskQueue,
		WorkflowIDReusePolicy:    policy,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrProgramID.ValueSet(fmt.Sprint(s.Enrolment.ProgramID)),
			AttrCustomerID.ValueSet(fmt.Sprint(s.Enrolment.CustomerID)),
			AttrProgramKind.ValueSet(s.Kind),
		),
	}, s.Workflow, s.Input)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}
