package workflows

import (
	"testing"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// TestBeforeLeanChange runs every program test again as a run from before
// the lean-enrolment change: such runs are alive for months and must go
// on as they were written (regular activities, a goroutine per signal
// channel, the workflow marking its enrolment active).
func TestBeforeLeanChange(t *testing.T) {
	t.Run("HappyCall", func(t *testing.T) { suite.Run(t, &happyCallSuite{beforeLean: true}) })
	t.Run("WelcomeBack", func(t *testing.T) { suite.Run(t, &welcomeBackSuite{programSuite{beforeLean: true}}) })
	t.Run("DormantWakeup", func(t *testing.T) { suite.Run(t, &dormantSuite{programSuite{beforeLean: true}}) })
	t.Run("Birthday", func(t *testing.T) { suite.Run(t, &birthdaySuite{programSuite{beforeLean: true}}) })
	t.Run("SecondPurchase", func(t *testing.T) { suite.Run(t, &secondPurchaseSuite{programSuite{beforeLean: true}}) })
	t.Run("LongRuns", func(t *testing.T) { suite.Run(t, &longRunSuite{programSuite{beforeLean: true}}) })
	t.Run("Pacing", func(t *testing.T) { suite.Run(t, &pacingSuite{programSuite{beforeLean: true}}) })
	t.Run("Conversion", func(t *testing.T) { suite.Run(t, &conversionSuite{programSuite{beforeLean: true}}) })
	t.Run("Holds", func(t *testing.T) { suite.Run(t, &holdsSuite{programSuite{beforeLean: true}}) })
	t.Run("Purposes", func(t *testing.T) { suite.Run(t, &purposeSuite{programSuite{beforeLean: true}}) })
	t.Run("Activation", func(t *testing.T) { suite.Run(t, &activationSuite{programSuite{beforeLean: true}}) })
}

// activationSuite: who marks an enrolment active.
type activationSuite struct{ programSuite }

func TestActivation(t *testing.T) { suite.Run(t, new(activationSuite)) }

func (s *activationSuite) run(starterMarksActive bool) {
	p := programs.DormantWakeup{Steps: []programs.WakeupStep{
		{Key: "a", Offset: programs.MustOffset("1d"), Channel: "sms", Message: programs.Message{Text: "a"}},
	}}
	s.Require().NoError(p.Normalize())
	start := s.at(2027, 1, 10, 10, 0)
	s.env.SetStartTime(start)
	in := DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))}
	in.StarterMarksActive = starterMarksActive
	s.env.ExecuteWorkflow(DormantWakeup, in)
	s.ended(domain.OutcomeDormant, s.at(2027, 1, 11, 10, 0))
}

// A lean run started by the sweep or a purchase (which mark their batch
// active) sleeps at once: nothing marks it active from the workflow.
func (s *activationSuite) TestStarterMarksActive() {
	s.run(true)
	want := 0
	if s.beforeLean {
		want = 1
	}
	s.Equal(want, s.activated)
}

// A run started by an older starter, which does not mark it, marks
// itself active.
func (s *activationSuite) TestOlderStarter() {
	s.run(false)
	s.Equal(1, s.activated)
}
