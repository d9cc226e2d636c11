package workflows

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// happyCallSuite runs the happy call on the time-skipping test server:
// a year of program time takes milliseconds. Activities are recorded
// with the workflow clock's time, so tests assert exact send moments.
type happyCallSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	// beforeLean: see programSuite.
	beforeLean bool

	gate       activities.Gate
	sends      []sent
	tasks      []activities.CallTaskRequest
	closeState activities.CallTaskState
	voices     []int64
	cancelled  int
	outcome    string
	// noCall makes CreateCallTask answer as for a customer without call
	// consent: no task (id 0).
	noCall bool
	// purposes are the sent messages' purposes, by key.
	purposes map[string]string
}

type sent struct {
	key   string
	field string
	at    time.Time
}

func TestHappyCall(t *testing.T) { suite.Run(t, new(happyCallSuite)) }

var seoul = mustZone("Asia/Seoul")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func (s *happyCallSuite) SetupTest() {
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(HappyCall)
	s.env.RegisterActivity(&activities.Activities{})
	if s.beforeLean {
		s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	s.gate = activities.Gate{ProgramStatus: store.ProgramActive}
	s.sends, s.tasks, s.voices, s.cancelled, s.outcome, s.noCall = nil, nil, nil, 0, "", false
	s.purposes = map[string]string{}
	s.closeState = activities.CallTaskState{Status: domain.TaskExpired}

	s.env.OnActivity(a.MarkEnrolmentActive, mock.Anything, mock.Anything).Return(nil)
	s.env.OnActivity(a.CheckGate, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, int64, int64, int64) (activities.Gate, error) { return s.gate, nil })
	s.env.OnActivity(a.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.SendRequest) (activities.SendResult, error) {
			s.sends = append(s.sends, sent{req.Key, req.Template.Field, s.env.Now().In(seoul)})
			s.purposes[req.Key] = req.Purpose
			return activities.SendResult{MessageID: int64(len(s.sends)), Status: "queued"}, nil
		})
	s.env.OnActivity(a.CreateCallTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.CallTaskRequest) (int64, error) {
			if s.noCall {
				return 0, nil
			}
			s.tasks = append(s.tasks, req)
			return int64(100 + len(s.tasks)), nil
		})
	s.env.OnActivity(a.CloseCallTask, mock.Anything, mock.Anything).Return(
		func(context.Context, int64) (activities.CallTaskState, error) { return s.closeState, nil })
	s.env.OnActivity(a.RecordCallVoice, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id int64) error { s.voices = append(s.voices, id); return nil })
	s.env.OnActivity(a.CancelOpenTasks, mock.Anything, mock.Anything).Return(
		func(context.Context, int64) (int64, error) { s.cancelled++; return 0, nil })
	s.env.OnActivity(a.EndEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ int64, outcome string) error { s.outcome = outcome; return nil })
	// A lean run's end: both of the above in one.
	s.env.OnActivity(a.FinishEnrolment, mock.Anything, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ int64, outcome string) error { s.cancelled++; s.outcome = outcome; return nil })
}

func (s *happyCallSuite) input(purchasedAt time.Time, zone string, hc programs.HappyCall) HappyCallInput {
	s.Require().NoError(hc.Normalize())
	s.env.SetStartTime(purchasedAt)
	return HappyCallInput{
		Enrolment:  Enrolment{ProgramID: 7, ProgramVersion: 1, EnrolmentID: 70, CustomerID: 700, TimeZone: zone},
		PurchaseID: 7000, PurchasedAt: purchasedAt, Steps: hc.Steps(), CallWindow: hc.CallWindow,
	}
}

func (s *happyCallSuite) journey() Journey {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var j Journey
	s.Require().NoError(s.env.GetWorkflowResult(&j))
	return j
}

func at(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, seoul) }

// The default 3.1.3.1 plan over a whole year, bought on Jan 31: calls at 3
// days, 1 month (Feb 28, not Mar 3), 3 months (Apr 30) with a fallback SMS
// two days after each ignored call, and the one-year SMS.
func (s *happyCallSuite) TestDefaultPlanOverAYear() {
	bought := at(2027, 1, 31, 10, 0)
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "Asia/Seoul", programs.DefaultHappyCall()))
	j := s.journey()

	s.Equal(domain.OutcomeCompleted, j.Outcome)
	s.Equal(domain.OutcomeCompleted, s.outcome)
	s.Require().Len(s.tasks, 3)
	for i, want := range []time.Time{at(2027, 2, 3, 10, 0), at(2027, 2, 28, 10, 0), at(2027, 4, 30, 10, 0)} {
		s.True(s.tasks[i].DueAt.Equal(want), "call %d due %s, want %s", i, s.tasks[i].DueAt.In(seoul), want)
		s.True(s.tasks[i].ExpiresAt.Equal(want.AddDate(0, 0, 2)), "call %d expires %s", i, s.tasks[i].ExpiresAt.In(seoul))
		s.Equal(domain.TaskHappyCall, s.tasks[i].Kind)
	}
	s.Equal([]sent{
		{"happycall:7:7000:3d:fallback_sms", activities.FieldFallbackSMS, at(2027, 2, 5, 10, 0)},
		{"happycall:7:7000:1mo:fallback_sms", activities.FieldFallbackSMS, at(2027, 3, 2, 10, 0)},
		{"happycall:7:7000:3mo:fallback_sms", activities.FieldFallbackSMS, at(2027, 5, 2, 10, 0)},
		{"happycall:7:7000:1y:sms", activities.FieldSMS, at(2028, 1, 31, 10, 0)},
	}, s.sends)
	s.Equal(1, s.cancelled)
}

// Calendar months count in the customer's zone: 00:30 on Feb 1 in Seoul
// is still Jan 31 in UTC, and a month later is Mar 1 in Seoul (at 10:00,
// the start of the daytime), Feb 28 in UTC (15:30, in the daytime).
func (s *happyCallSuite) TestMonthsCountInCustomerZone() {
	bought := time.Date(2027, 1, 31, 15, 30, 0, 0, time.UTC) // Feb 1 00:30 KST
	hc := programs.HappyCall{Touches: []programs.Touch{{Key: "1mo", Offset: programs.MustOffset("1mo"), SMS: "hi"}}}
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "Asia/Seoul", hc))
	s.journey()
	s.Require().Len(s.sends, 1)
	s.True(s.sends[0].at.Equal(at(2027, 3, 1, 10, 0)), "sent %s", s.sends[0].at)

	s.SetupTest()
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "UTC", hc))
	s.journey()
	s.Require().Len(s.sends, 1)
	s.True(s.sends[0].at.Equal(time.Date(2027, 2, 28, 15, 30, 0, 0, time.UTC)), "sent %s", s.sends[0].at.UTC())
}

func oneCall() programs.HappyCall {
	return programs.HappyCall{
		Touches:    []programs.Touch{{Key: "3d", Offset: programs.MustOffset("3d"), Call: true, FallbackSMS: "sorry we missed you"}},
		CallWindow: programs.MustOffset("1d"),
	}
}

// A call nobody completes expires at the end of its window and the
// fallback SMS goes out then. (Bought at 09:00: the call is due at 10:00,
// when the daytime starts, so the window closes at 10:00.)
func (s *happyCallSuite) TestIgnoredCallSendsFallback() {
	bought := at(2027, 6, 1, 9, 0)
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "Asia/Seoul", oneCall()))
	j := s.journey()
	s.Require().Len(s.sends, 1)
	s.True(s.tasks[0].DueAt.Equal(at(2027, 6, 4, 10, 0)), "call due %s", s.tasks[0].DueAt)
	s.Equal(sent{"happycall:7:7000:3d:fallback_sms", activities.FieldFallbackSMS, at(2027, 6, 5, 10, 0)}, s.sends[0])
	s.Equal("expired", j.Done[1].Action)
}

// A customer without call consent gets no call task: the step's fallback
// SMS goes at the call's own time instead of after a window nobody could
// use (defect 12).
func (s *happyCallSuite) TestNoCallConsentSendsFallbackAtOnce() {
	s.noCall = true
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", oneCall()))
	j := s.journey()
	s.Require().Len(s.sends, 1)
	s.Equal(sent{"happycall:7:7000:3d:fallback_sms", activities.FieldFallbackSMS, at(2027, 6, 4, 10, 0)}, s.sends[0])
	s.Equal("call_skipped", j.Done[0].Action)
	s.Empty(s.tasks)
}

// A completion whose signal was lost is still found in the database when
// the window closes: no fallback SMS to a customer staff reached.
func (s *happyCallSuite) TestCompletionWithoutSignalIsHonoured() {
	s.closeState = activities.CallTaskState{Status: domain.TaskCompleted, Outcome: domain.OutcomeReached}
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", oneCall()))
	s.journey()
	s.Empty(s.sends)
	s.Equal([]int64{101}, s.voices)
}

// A complaint goes to the store manager at once, and no SMS follows.
func (s *happyCallSuite) TestComplaintEscalates() {
	bought := at(2027, 6, 1, 9, 0)
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(SignalCallTaskCompleted, CallTaskCompleted{TaskID: 101, Outcome: domain.OutcomeComplaint})
	}, 3*24*time.Hour+2*time.Hour)
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "Asia/Seoul", oneCall()))
	s.journey()
	s.Require().Len(s.tasks, 2)
	esc := s.tasks[1]
	s.Equal(domain.TaskEscalation, esc.Kind)
	s.Equal(int64(101), esc.EscalatedFrom)
	s.True(esc.DueAt.Equal(at(2027, 6, 4, 11, 0)), "escalated at %s", esc.DueAt.In(seoul))
	s.Empty(s.sends)
}

// Reached: the note becomes voice of the customer, no SMS.
func (s *happyCallSuite) TestReachedRecordsVoice() {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(SignalCallTaskCompleted, CallTaskCompleted{TaskID: 101, Outcome: domain.OutcomeReached})
	}, 3*24*time.Hour+time.Hour)
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", oneCall()))
	s.journey()
	s.Equal([]int64{101}, s.voices)
	s.Empty(s.sends)
}

// Pause holds the next touch until resume; the touch then goes out at the
// resume (or, the resume coming at 09:00, at 10:00 when the daytime
// starts), not at its original time.
func (s *happyCallSuite) TestPauseHoldsUntilResume() {
	bought := at(2027, 6, 1, 9, 0)
	hc := programs.HappyCall{Touches: []programs.Touch{
		{Key: "a", Offset: programs.MustOffset("3d"), SMS: "a"},
		{Key: "b", Offset: programs.MustOffset("10d"), SMS: "b"},
	}}
	s.env.RegisterDelayedCallback(func() {
		s.gate.ProgramStatus = store.ProgramPaused
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionPause})
	}, 24*time.Hour)
	s.env.RegisterDelayedCallback(func() {
		var j Journey
		v, err := s.env.QueryWorkflow(QueryJourney)
		s.Require().NoError(err)
		s.Require().NoError(v.Get(&j))
		s.True(j.Paused)
		s.Equal("resume", j.Next.Waiting)
		s.Empty(s.sends, "nothing is sent while paused")
	}, 5*24*time.Hour)
	s.env.RegisterDelayedCallback(func() {
		s.gate.ProgramStatus = store.ProgramActive
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionResume})
	}, 6*24*time.Hour)
	s.env.ExecuteWorkflow(HappyCall, s.input(bought, "Asia/Seoul", hc))
	s.journey()
	s.Require().Len(s.sends, 2)
	s.True(s.sends[0].at.Equal(at(2027, 6, 7, 10, 0)), "held touch sent at %s", s.sends[0].at)
	s.True(s.sends[1].at.Equal(at(2027, 6, 11, 10, 0)), "next touch on time at %s", s.sends[1].at)
}

// A paused program whose resume signal was lost resumes when the
// database says so, at the next recheck (every 6 hours from 10:00).
func (s *happyCallSuite) TestPauseRecheckedInDatabase() {
	hc := programs.HappyCall{Touches: []programs.Touch{{Key: "a", Offset: programs.MustOffset("1d"), SMS: "a"}}}
	s.gate.ProgramStatus = store.ProgramPaused
	s.env.RegisterDelayedCallback(func() { s.gate.ProgramStatus = store.ProgramActive }, 2*24*time.Hour)
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", hc))
	s.journey()
	s.Require().Len(s.sends, 1)
	s.True(s.sends[0].at.Equal(at(2027, 6, 3, 10, 0)), "sent at %s", s.sends[0].at)
}

// Stop ends the enrolment at once, mid-wait: open tasks are cancelled and
// nothing more is sent.
func (s *happyCallSuite) TestStopEndsCleanly() {
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionStop})
	}, 3*24*time.Hour+2*time.Hour) // while the first call task is open
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", programs.DefaultHappyCall()))
	j := s.journey()
	s.Equal(domain.OutcomeStopped, j.Outcome)
	s.Equal(domain.OutcomeStopped, s.outcome)
	s.Len(s.tasks, 1)
	s.Empty(s.sends)
	s.Equal(1, s.cancelled)
	s.Nil(j.Next)
}

// Opting out ends every enrolment of the customer.
func (s *happyCallSuite) TestOptOutEnds() {
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalOptOut, nil) }, 40*24*time.Hour)
	s.env.ExecuteWorkflow(HappyCall, s.input(at(2027, 6, 1, 9, 0), "Asia/Seoul", programs.DefaultHappyCall()))
	j := s.journey()
	s.Equal(domain.OutcomeOptedOut, j.Outcome)
	s.Len(s.tasks, 2, "3d and 1mo calls happened before the opt-out")
	s.Len(s.sends, 2, "their fallback SMS too")
}

// A back-filled purchase does not send a year of follow-ups at once.
func (s *happyCallSuite) TestStaleTouchesSkipped() {
	in := s.input(at(2027, 1, 1, 9, 0), "Asia/Seoul", programs.DefaultHappyCall())
	s.env.SetStartTime(at(2027, 2, 15, 9, 0))
	s.env.ExecuteWorkflow(HappyCall, in)
	j := s.journey()
	s.Equal("skipped", j.Done[0].Action)
	s.Equal("skipped", j.Done[1].Action)
	s.Require().Len(s.tasks, 1)
	s.True(s.tasks[0].DueAt.Equal(at(2027, 4, 1, 10, 0)), "due %s", s.tasks[0].DueAt)
}
