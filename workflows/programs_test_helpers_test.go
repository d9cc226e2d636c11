package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// programSuite runs the retention programs on the time-skipping test
// server with every activity mocked. Sends, coupons and the enrolment's
// end are recorded with the workflow clock's time in the customer's
// zone, so tests assert exact moments.
type programSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	// beforeLean runs every test as a run from before the lean-enrolment
	// change (TestBeforeLeanChange): regular activities, a goroutine per
	// signal channel.
	beforeLean bool

	// zone is the customer's zone: the mocked IssueCoupon counts validity
	// in it and moments are recorded in it.
	zone     *time.Location
	gate     activities.Gate
	redeemed bool // what CouponRedeemed answers
	// onSend, when set, runs after each message is recorded.
	onSend func(msg)
	// answer, when set, is the send path's verdict on a request (held,
	// suppressed); a held answer is counted in holds, not in msgs.
	answer func(activities.SendRequest) activities.SendResult
	// customer is the enrolment's customer: 700 (enrolment) unless a
	// test enrols another.
	customer int64
	holds    []activities.SendRequest
	// gateDown, when set and true, makes CheckGate fail (the database is
	// away).
	gateDown func() bool
	// gates counts CheckGate calls; timeouts are the sends' start-to-close
	// timeouts.
	gates    int
	timeouts []time.Duration

	msgs      []msg
	purposes  map[string]string // sent messages' purposes, by key
	coupons   []issued
	checks    []time.Time // CouponRedeemed calls
	dormant   []int64
	cancelled int
	activated int // MarkEnrolmentActive calls
	outcome   string
	endedAt   time.Time
}

// msg is one SendMessage call as the provider would see it.
type msg struct {
	key      string
	channel  string
	step     string
	coupon   int64
	survey   bool
	purchase int64
	at       time.Time
}

type issued struct {
	key     string
	at      time.Time
	expires time.Time
}

var newYork = mustZone("America/New_York")

func (s *programSuite) SetupTest() {
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(WelcomeBack)
	s.env.RegisterWorkflow(DormantWakeup)
	s.env.RegisterWorkflow(Birthday)
	s.env.RegisterWorkflow(SecondPurchase)
	s.env.RegisterActivity(&activities.Activities{})
	s.zone = seoul
	s.gate = activities.Gate{ProgramStatus: store.ProgramActive}
	s.redeemed, s.onSend, s.gateDown, s.gates, s.timeouts = false, nil, nil, 0, nil
	s.answer, s.holds = nil, nil
	s.msgs, s.coupons, s.checks, s.dormant, s.purposes = nil, nil, nil, nil, map[string]string{}
	s.cancelled, s.outcome, s.endedAt = 0, "", time.Time{}
	s.customer = 700

	if s.beforeLean {
		s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	s.activated = 0
	s.env.OnActivity(a.MarkEnrolmentActive, mock.Anything, mock.Anything).Return(
		func(context.Context, int64) error { s.activated++; return nil })
	s.env.OnActivity(a.CheckGate, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, int64, int64, int64) (activities.Gate, error) {
			s.gates++
			if s.gateDown != nil && s.gateDown() {
				return activities.Gate{}, errors.New("database unavailable")
			}
			return s.gate, nil
		})
	s.env.OnActivity(a.SendMessage, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, req activities.SendRequest) (activities.SendResult, error) {
			s.timeouts = append(s.timeouts, activity.GetInfo(ctx).StartToCloseTimeout)
			s.Equal(int64(70), req.EnrolmentID)
			s.Equal(s.customer, req.CustomerID)
			s.Equal(int64(7), req.Template.ProgramID)
			s.purposes[req.Key] = req.Purpose
			if s.answer != nil {
				if res := s.answer(req); res.Status == domain.MessageHeld {
					s.holds = append(s.holds, req)
					return res, nil
				} else if res.Status != "" {
					return res, nil
				}
			}
			s.msgs = append(s.msgs, msg{req.Key, req.Channel, req.Template.Step, req.CouponID, req.Survey, req.PurchaseID, s.now()})
			if s.onSend != nil {
				s.onSend(s.msgs[len(s.msgs)-1])
			}
			return activities.SendResult{MessageID: int64(len(s.msgs)), Status: "queued"}, nil
		})
	// Like the real activity: valid to the end of the customer's local day
	// ValidFor from now.
	s.env.OnActivity(a.IssueCoupon, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.IssueCouponRequest) (activities.IssuedCoupon, error) {
			expires := req.Coupon.ValidFor.After(s.now(), s.zone)
			if req.Coupon.ValidFor.Exact == 0 {
				y, m, d := expires.Date()
				expires = time.Date(y, m, d+1, 0, 0, 0, 0, s.zone).Add(-time.Second)
			}
			s.coupons = append(s.coupons, issued{req.Key, s.now(), expires})
			return activities.IssuedCoupon{ID: int64(500 + len(s.coupons)), ExpiresAt: expires}, nil
		})
	s.env.OnActivity(a.CouponRedeemed, mock.Anything, mock.Anything).Return(
		func(context.Context, int64) (bool, error) {
			s.checks = append(s.checks, s.now())
			return s.redeemed, nil
		})
	s.env.OnActivity(a.MarkDormant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id int64) error { s.dormant = append(s.dormant, id); return nil })
	s.env.OnActivity(a.CancelOpenTasks, mock.Anything, mock.Anything).Return(
		func(context.Context, int64) (int64, error) { s.cancelled++; return 0, nil })
	// A lean run's end: both of the above in one.
	s.env.OnActivity(a.FinishEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ int64, outcome string) error {
			s.cancelled++
			s.outcome, s.endedAt = outcome, s.now()
			return nil
		})
	s.env.OnActivity(a.EndEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ int64, outcome string) error {
			s.outcome, s.endedAt = outcome, s.now()
			return nil
		})
}

func (s *programSuite) now() time.Time { return s.env.Now().In(s.zone) }

// enrolment is customer 700's enrolment 70 in program 7, in a zone.
func enrolment(zone string) Enrolment {
	return Enrolment{ProgramID: 7, ProgramVersion: 1, EnrolmentID: 70, CustomerID: 700, TimeZone: zone, StarterMarksActive: true}
}

// ended asserts the enrolment finished cleanly with the outcome, at the
// moment given, and returns its journey.
func (s *programSuite) ended(outcome string, at time.Time) Journey {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var j Journey
	s.Require().NoError(s.env.GetWorkflowResult(&j))
	s.Equal(outcome, j.Outcome)
	s.True(j.Ended)
	s.Nil(j.Next)
	s.Equal(outcome, s.outcome, "outcome recorded in the database")
	s.True(s.endedAt.Equal(at), "ended at %s, want %s", s.endedAt, at)
	s.Equal(1, s.cancelled, "open tasks cancelled once")
	return j
}

// journey queries the running workflow.
func (s *programSuite) journey() Journey {
	v, err := s.env.QueryWorkflow(QueryJourney)
	s.Require().NoError(err)
	var j Journey
	s.Require().NoError(v.Get(&j))
	return j
}

// at is a moment at (day, hour, minute) in the suite's zone.
func (s *programSuite) at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, s.zone)
}

// endOfDay is the last second of a day in the suite's zone, when coupons
// expire.
func (s *programSuite) endOfDay(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 0, s.zone)
}

// after runs f at the moment, counted from the workflow's start.
func (s *programSuite) after(start, at time.Time, f func()) {
	s.env.RegisterDelayedCallback(f, at.Sub(start))
}

func (s *programSuite) signal(name string, arg any) func() {
	return func() { s.env.SignalWorkflow(name, arg) }
}

// continuedAs asserts the run continued as new and returns its next input.
func continuedAs[T any](s *programSuite, workflowType string) T {
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(err, &can)
	s.Equal(workflowType, can.WorkflowType.Name)
	var next T
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

func ptr[T any](v T) *T { return &v }

// atTheHour is the plan without its send-hour spread, so tests assert the
// exact hour (TestSendSpread covers the spread).
func atTheHour[T any](plan T) T {
	v := reflect.ValueOf(&plan).Elem()
	if f := v.FieldByName("Timing"); f.IsValid() {
		f.FieldByName("SpreadSeconds").SetInt(0)
	}
	return plan
}
