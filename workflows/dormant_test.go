package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

type dormantSuite struct{ programSuite }

func TestDormantWakeup(t *testing.T) { suite.Run(t, new(dormantSuite)) }

func (s *dormantSuite) input(start time.Time, p programs.DormantWakeup) DormantWakeupInput {
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))}
}

// The default cadence over six months: SMS at once, mail after 30 days,
// SMS with a 30-day coupon after 90, mail with the survey after 180; then
// the customer is marked dormant.
func (s *dormantSuite) TestDefaultCadenceMarksDormant() {
	start := s.at(2027, 1, 10, 10, 0)
	s.env.ExecuteWorkflow(DormantWakeup, s.input(start, programs.DormantWakeup{}))
	s.ended(domain.OutcomeDormant, s.at(2027, 7, 9, 10, 0))

	s.Equal([]msg{
		{"dormant_wakeup:7:e70:d0:sms", domain.ChannelSMS, "d0", 0, false, 0, start},
		{"dormant_wakeup:7:e70:d30:email", domain.ChannelEmail, "d30", 0, false, 0, s.at(2027, 2, 9, 10, 0)},
		{"dormant_wakeup:7:e70:d90:sms", domain.ChannelSMS, "d90", 501, false, 0, s.at(2027, 4, 10, 10, 0)},
		{"dormant_wakeup:7:e70:d180:email", domain.ChannelEmail, "d180", 0, true, 0, s.at(2027, 7, 9, 10, 0)},
	}, s.msgs)
	s.Equal([]issued{{"dormant_wakeup:7:e70:d90:coupon", s.at(2027, 4, 10, 10, 0), s.endOfDay(2027, 5, 10)}}, s.coupons)
	s.Equal([]int64{700}, s.dormant)
}

// A purchase on day 45 ends the cadence at once: nothing after the day-30
// mail, and the customer is not marked dormant.
func (s *dormantSuite) TestConversionOnDay45Ends() {
	start := s.at(2027, 1, 10, 10, 0)
	s.after(start, start.AddDate(0, 0, 45), s.signal(SignalConverted, Converted{Reason: "purchase", Ref: "o-45"}))
	s.env.ExecuteWorkflow(DormantWakeup, s.input(start, programs.DormantWakeup{}))
	s.ended(domain.OutcomeConverted, s.at(2027, 2, 24, 10, 0))
	s.Require().Len(s.msgs, 2)
	s.Equal("d30", s.msgs[1].step)
	s.Empty(s.coupons)
	s.Empty(s.dormant)
}

// Months count in the customer's calendar: a month after Jan 31 is Feb 28
// and two months after is Mar 31.
func (s *dormantSuite) TestMonthlyStepsClampToMonthEnd() {
	start := s.at(2027, 1, 31, 10, 0)
	p := programs.DormantWakeup{Steps: []programs.WakeupStep{
		{Key: "now", Offset: programs.MustOffset("0d"), Channel: "sms", Message: programs.Message{Text: "hi"}},
		{Key: "m1", Offset: programs.MustOffset("1mo"), Channel: "sms", Message: programs.Message{Text: "hi"}},
		{Key: "m2", Offset: programs.MustOffset("2mo"), Channel: "sms", Coupon: true, Message: programs.Message{Text: "{{.Coupon}}"}},
	}}
	s.env.ExecuteWorkflow(DormantWakeup, s.input(start, p))
	s.ended(domain.OutcomeDormant, s.at(2027, 3, 31, 10, 0))
	s.Require().Len(s.msgs, 3)
	for i, want := range []time.Time{start, s.at(2027, 2, 28, 10, 0), s.at(2027, 3, 31, 10, 0)} {
		s.True(s.msgs[i].at.Equal(want), "step %d at %s, want %s", i, s.msgs[i].at, want)
	}
	s.Equal(int64(501), s.msgs[2].coupon)
}

// A program stopped in the database (its stop signal lost) is found at
// the next step's gate: nothing is sent and nobody is marked dormant.
func (s *dormantSuite) TestStoppedProgramFoundAtGate() {
	start := s.at(2027, 1, 10, 10, 0)
	s.after(start, start.AddDate(0, 0, 60), func() { s.gate.ProgramStatus = store.ProgramStopped })
	s.env.ExecuteWorkflow(DormantWakeup, s.input(start, programs.DormantWakeup{}))
	s.ended(domain.OutcomeStopped, s.at(2027, 4, 10, 10, 0))
	s.Len(s.msgs, 2)
	s.Empty(s.coupons)
	s.Empty(s.dormant)
}

// Opting out ends the cadence at once, mid-wait.
func (s *dormantSuite) TestOptOutEndsAtOnce() {
	start := s.at(2027, 1, 10, 10, 0)
	s.after(start, start.AddDate(0, 0, 100), s.signal(SignalOptOut, nil))
	s.env.ExecuteWorkflow(DormantWakeup, s.input(start, programs.DormantWakeup{}))
	s.ended(domain.OutcomeOptedOut, s.at(2027, 4, 20, 10, 0))
	s.Len(s.msgs, 3)
	s.Empty(s.dormant)
}
