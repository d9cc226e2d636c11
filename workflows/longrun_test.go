package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Issue 6, defect 14: year-long runs stay small and lose no signal when
// they continue as new.

type longRunSuite struct{ programSuite }

func TestLongRuns(t *testing.T) { suite.Run(t, new(longRunSuite)) }

func (s *longRunSuite) birthday(start time.Time) BirthdayInput {
	p := programs.Birthday{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return BirthdayInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanBirthday(p))), Month: time.June, Day: 15}
}

// A stop (or an opt-out) that arrives while the year's greeting is being
// sent ends the enrolment: it is drained before the continue-as-new
// instead of being left behind in the finished run.
func (s *longRunSuite) TestBirthdayStopDuringGreetingEnds() {
	for _, c := range []struct {
		signal, arg any
		outcome     string
	}{
		{SignalControl, ControlSignal{Action: ActionStop}, domain.OutcomeStopped},
		{SignalOptOut, nil, domain.OutcomeOptedOut},
		{SignalControl, ControlSignal{Action: ActionErase}, domain.OutcomeErased},
	} {
		s.SetupTest()
		s.onSend = func(m msg) {
			if m.step == programs.StepGreeting {
				// Delivered with the send's completion, in one workflow
				// task: the run reaches its end before the signal's
				// goroutine does.
				s.env.SignalWorkflowSkippingWorkflowTask(c.signal.(string), c.arg)
			}
		}
		s.env.ExecuteWorkflow(Birthday, s.birthday(s.at(2027, 1, 10, 9, 0)))
		s.ended(c.outcome, s.at(2027, 6, 15, 10, 0))
		s.Len(s.msgs, 2)
	}
}

// Before the change only birthday corrections were drained: the stop was
// lost with the finished run and next year's run started anyway.
func (s *longRunSuite) TestBirthdayStopLostBeforeChange() {
	// A run from before changeBirthdayDrain is from before the lean change too.
	s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(changeBirthdayDrain, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.onSend = func(m msg) {
		if m.step == programs.StepGreeting {
			s.env.SignalWorkflowSkippingWorkflowTask(SignalControl, ControlSignal{Action: ActionStop})
		}
	}
	s.env.ExecuteWorkflow(Birthday, s.birthday(s.at(2027, 1, 10, 9, 0)))
	continuedAs[BirthdayInput](&s.programSuite, "Birthday")
}

// eventsPerRecheck is about what one 6-hourly gate recheck adds to a
// history: a timer (started, fired), an activity (scheduled, started,
// completed) and the workflow tasks around them.
const eventsPerRecheck = 11

// serverSuggestsAt is the history length at which the Temporal server
// suggests continuing as new (its default limit.historyCount.suggestContinueAsNew).
const serverSuggestsAt = 4 * 1024

// A dormant wake-up paused for a year at its second step: every run
// continues as new when the server suggests it (its history length
// modelled from the rechecks), so no run's history outgrows that; when
// the program is active again the cadence picks up where it stood,
// nothing sent twice, the overdue steps spaced and at the send hour.
func (s *longRunSuite) TestYearOfPauseStaysSmall() {
	start := s.at(2027, 1, 10, 10, 0)
	pausedAt := s.at(2027, 1, 20, 10, 0)
	resumeAt := s.at(2028, 1, 20, 12, 0)
	p := programs.DormantWakeup{}
	s.Require().NoError(p.Normalize())
	in := DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))}

	var sent []msg
	runs, runStart := 0, start
	for {
		runs++
		s.Require().Less(runs, 50, "the pause never ends")
		s.SetupTest()
		s.env.SetStartTime(runStart)
		if runStart.Before(resumeAt) {
			if !runStart.Before(pausedAt) {
				s.gate.ProgramStatus = store.ProgramPaused
			} else {
				s.after(runStart, pausedAt, func() { s.gate.ProgramStatus = store.ProgramPaused })
			}
			s.after(runStart, resumeAt, func() { s.gate.ProgramStatus = store.ProgramActive })
		}
		// The server's suggestion, from the history's length.
		checks := 0
		s.gateDown = func() bool {
			checks++
			s.env.SetCurrentHistoryLength(checks * eventsPerRecheck)
			s.env.SetContinueAsNewSuggested(checks*eventsPerRecheck >= serverSuggestsAt)
			return false
		}
		s.env.ExecuteWorkflow(DormantWakeup, in)
		s.Require().True(s.env.IsWorkflowCompleted())
		sent = append(sent, s.msgs...)
		s.LessOrEqual(checks*eventsPerRecheck, serverSuggestsAt+eventsPerRecheck, "run %d grew to %d gate checks", runs, checks)
		var can *workflow.ContinueAsNewError
		if !errors.As(s.env.GetWorkflowError(), &can) {
			break
		}
		in = continuedAs[DormantWakeupInput](&s.programSuite, "DormantWakeup")
		s.Require().NotNil(in.Progress)
		s.Equal(1, in.Progress.Next, "paused at d30")
		s.True(in.Progress.Started.Equal(start), "started %s", in.Progress.Started)
		s.Nil(in.LegacyParams)
		s.NotNil(in.Plan)
		runStart = s.now()
	}
	s.Require().NoError(s.env.GetWorkflowError())
	s.GreaterOrEqual(runs, 4, "a year of 6-hourly rechecks needs several runs")
	s.Equal(domain.OutcomeDormant, s.outcome)

	var steps []string
	for _, m := range sent {
		steps = append(steps, m.step)
	}
	s.Equal([]string{"d0", "d30", "d90", "d180"}, steps, "each step once")
	s.True(sent[0].at.Equal(start), "d0 at %s", sent[0].at)
	s.False(sent[1].at.Before(resumeAt), "d30 held until the resume, at %s", sent[1].at)
	for i := 1; i < len(sent); i++ {
		s.Equal(10, sent[i].at.Hour(), "%s at %s", sent[i].step, sent[i].at)
		if i > 1 {
			s.GreaterOrEqual(sent[i].at.Sub(sent[i-1].at), 4*time.Hour, "%s spaced from %s", sent[i].step, sent[i-1].step)
		}
	}
}

// Without the change a paused run never continues as new: a year of
// rechecks in one history.
func (s *longRunSuite) TestPauseGrowsBeforeChange() {
	// A run from before changePauseContinueAsNew is from before the lean change too.
	s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(changePauseContinueAsNew, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	start := s.at(2027, 1, 10, 10, 0)
	s.gate.ProgramStatus = store.ProgramPaused
	s.after(start, s.at(2028, 1, 10, 10, 0), func() { s.gate.ProgramStatus = store.ProgramActive })
	s.env.SetContinueAsNewSuggested(true)
	p := programs.DormantWakeup{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	s.env.ExecuteWorkflow(DormantWakeup, DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))})
	s.Require().NoError(s.env.GetWorkflowError())
	s.Greater(s.gates*eventsPerRecheck, serverSuggestsAt, "%d rechecks in one run", s.gates)
}

// A happy call paused while its call window runs holds the fallback SMS
// at the gate; continued as new there, the next run sends just that
// fallback (no second call task) and goes on with the plan.
func (s *happyCallSuite) TestPausedFallbackContinuesAsNew() {
	bought := at(2027, 6, 1, 10, 0)
	hc := oneCall()
	hc.Touches = append(hc.Touches, programs.Touch{Key: "10d", Offset: programs.MustOffset("10d"), SMS: "later"})
	in := s.input(bought, "Asia/Seoul", hc)
	s.env.RegisterDelayedCallback(func() {
		s.gate.ProgramStatus = store.ProgramPaused
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionPause})
	}, 3*24*time.Hour+time.Hour) // the call task is open
	s.env.RegisterDelayedCallback(func() { s.env.SetContinueAsNewSuggested(true) }, 20*24*time.Hour)
	s.env.ExecuteWorkflow(HappyCall, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &can)
	var next HappyCallInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	s.Require().NotNil(next.Progress)
	p := next.Progress
	s.True(p.Started.Equal(bought), "started %s", p.Started)
	s.Equal(0, p.Next)
	s.Equal(enrol.StageFallback, p.Stage)
	s.True(p.StageAt.Equal(at(2027, 6, 5, 10, 0)), "fallback due %s", p.StageAt)
	s.Len(s.tasks, 1)
	s.Empty(s.sends)
	s.Zero(s.cancelled, "the enrolment lives on")
	resumedAt := s.env.Now()

	s.SetupTest()
	s.env.SetStartTime(resumedAt)
	s.env.ExecuteWorkflow(HappyCall, next)
	j := s.journey()
	s.Equal(domain.OutcomeCompleted, j.Outcome)
	s.Empty(s.tasks, "no second call task")
	s.Require().Len(s.sends, 2)
	s.Equal("happycall:7:7000:3d:fallback_sms", s.sends[0].key)
	s.Equal("happycall:7:7000:10d:sms", s.sends[1].key)
	s.True(s.sends[1].at.Sub(s.sends[0].at) >= 4*time.Hour, "spaced: %s then %s", s.sends[0].at, s.sends[1].at)
}
