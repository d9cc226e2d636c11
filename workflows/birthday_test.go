package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

type birthdaySuite struct{ programSuite }

func TestBirthday(t *testing.T) { suite.Run(t, new(birthdaySuite)) }

func (s *birthdaySuite) input(start time.Time, month time.Month, day, year int) BirthdayInput {
	p := programs.Birthday{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return BirthdayInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanBirthday(p))), Month: month, Day: day, Year: year}
}

// card and greeting are the year's two messages, as sent.
func (s *birthdaySuite) card(year int, at time.Time) msg {
	return msg{fmt.Sprintf("birthday:7:e70:card:email-%d", year), domain.ChannelEmail, programs.StepCard, 0, false, 0, at}
}

func (s *birthdaySuite) greeting(year int, coupon int64, at time.Time) msg {
	return msg{fmt.Sprintf("birthday:7:e70:greeting:sms-%d", year), domain.ChannelSMS, programs.StepGreeting, coupon, false, 0, at}
}

// continued asserts the year's run continued as new, without ending the
// enrolment, and returns next year's input.
func (s *birthdaySuite) continued(year int, month time.Month, day int) BirthdayInput {
	next := continuedAs[BirthdayInput](&s.programSuite, "Birthday")
	s.Equal(year, next.Year)
	s.Equal(month, next.Month)
	s.Equal(day, next.Day)
	s.Empty(s.outcome, "the enrolment stays live across years")
	s.Zero(s.cancelled)
	return next
}

// A Feb 29 birthday over two yearly runs: in 2027 the card goes Feb 21
// and the greeting with its coupon Feb 28, at 10:00 in Seoul; the run
// continues as new towards 2028, when they go Feb 22 and Feb 29. Keys
// carry the year, so neither year's messages or coupon replace the other's.
func (s *birthdaySuite) TestLeapDayAcrossTwoYears() {
	s.env.ExecuteWorkflow(Birthday, s.input(s.at(2027, 1, 10, 9, 0), time.February, 29, 0))
	next := s.continued(2028, time.February, 29)
	s.Equal([]msg{
		s.card(2027, s.at(2027, 2, 21, 10, 0)),
		s.greeting(2027, 501, s.at(2027, 2, 28, 10, 0)),
	}, s.msgs)
	s.Equal([]issued{{"birthday:7:e70:greeting-2027:coupon", s.at(2027, 2, 28, 10, 0), s.endOfDay(2027, 3, 14)}}, s.coupons)

	s.SetupTest()
	s.env.SetStartTime(s.at(2027, 2, 28, 10, 0))
	s.env.ExecuteWorkflow(Birthday, next)
	s.continued(2029, time.February, 29)
	s.Equal([]msg{
		s.card(2028, s.at(2028, 2, 22, 10, 0)),
		s.greeting(2028, 501, s.at(2028, 2, 29, 10, 0)),
	}, s.msgs)
	s.Equal("birthday:7:e70:greeting-2028:coupon", s.coupons[0].key)
}

// The continued run answers the journey query and takes signals: its
// runner is built anew.
func (s *birthdaySuite) TestContinuedRunAnswersQueriesAndSignals() {
	start := s.at(2027, 3, 1, 10, 0)
	in := s.input(start, time.March, 1, 2028)
	s.after(start, s.at(2027, 6, 1, 0, 0), func() {
		j := s.journey()
		s.Require().NotNil(j.Next)
		s.Equal(programs.StepCard, j.Next.Touch)
		s.True(j.Next.At.Equal(s.at(2028, 2, 23, 10, 0)), "next at %s", j.Next.At)
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionStop})
	})
	s.env.ExecuteWorkflow(Birthday, in)
	s.ended(domain.OutcomeStopped, s.at(2027, 6, 1, 0, 0))
	s.Empty(s.msgs)
}

// The card goes 7 days before at SendHour local time wherever the
// customer lives: in New York it crosses the switch to daylight saving
// time (Mar 14, 2027) and still goes at 10:00 on both days.
func (s *birthdaySuite) TestSendHourInCustomerZone() {
	for _, zone := range []*time.Location{seoul, newYork} {
		s.SetupTest()
		s.zone = zone
		s.env.ExecuteWorkflow(Birthday, s.input(s.at(2027, 3, 1, 0, 0), time.March, 20, 0))
		s.continued(2028, time.March, 20)
		s.Equal([]msg{
			s.card(2027, s.at(2027, 3, 13, 10, 0)),
			s.greeting(2027, 501, s.at(2027, 3, 20, 10, 0)),
		}, s.msgs, zone.String())
	}
}

// A corrected birthday re-arms the pending wait: card and greeting go at
// the new date, nothing at the old one, and next year uses it too.
func (s *birthdaySuite) TestChangeMidWaitRearms() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 2, 1, 12, 0), s.signal(SignalBirthdayChanged, BirthdayChanged{Month: time.April, Day: 5}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.continued(2028, time.April, 5)
	s.Equal([]msg{
		s.card(2027, s.at(2027, 3, 29, 10, 0)),
		s.greeting(2027, 501, s.at(2027, 4, 5, 10, 0)),
	}, s.msgs)
}

// A correction after the card was sent never sends it twice; the
// greeting moves to the new day.
func (s *birthdaySuite) TestChangeAfterCardDoesNotRepeatIt() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 6, 10, 12, 0), s.signal(SignalBirthdayChanged, BirthdayChanged{Month: time.June, Day: 20}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.continued(2028, time.June, 20)
	s.Equal([]msg{
		s.card(2027, s.at(2027, 6, 8, 10, 0)),
		s.greeting(2027, 501, s.at(2027, 6, 20, 10, 0)),
	}, s.msgs)
}

// A correction to a day already gone by this year waits for next year:
// the card in December counts as next year's.
func (s *birthdaySuite) TestChangeToPassedDateMovesToNextYear() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 2, 1, 12, 0), s.signal(SignalBirthdayChanged, BirthdayChanged{Month: time.January, Day: 5}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.continued(2029, time.January, 5)
	s.Equal([]msg{
		s.card(2028, s.at(2027, 12, 29, 10, 0)),
		s.greeting(2028, 501, s.at(2028, 1, 5, 10, 0)),
	}, s.msgs)
	s.Equal("birthday:7:e70:greeting-2028:coupon", s.coupons[0].key)
}

// A removed birthday ends the enrolment at once.
func (s *birthdaySuite) TestRemovedEnds() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 6, 10, 12, 0), s.signal(SignalBirthdayChanged, BirthdayChanged{Removed: true}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.ended(domain.OutcomeNoBirthday, s.at(2027, 6, 10, 12, 0))
	s.Equal([]msg{s.card(2027, s.at(2027, 6, 8, 10, 0))}, s.msgs)
	s.Empty(s.coupons)
}

// An invalid correction is ignored: the plan stands.
func (s *birthdaySuite) TestInvalidChangeIgnored() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 2, 1, 12, 0), s.signal(SignalBirthdayChanged, BirthdayChanged{Month: time.February, Day: 30}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.continued(2028, time.June, 15)
	s.Len(s.msgs, 2)
	s.True(s.msgs[1].at.Equal(s.at(2027, 6, 15, 10, 0)))
}

// Enrolled after the card's moment: no late card, the greeting on the day.
func (s *birthdaySuite) TestLateEnrolmentSkipsCard() {
	s.env.ExecuteWorkflow(Birthday, s.input(s.at(2027, 6, 10, 9, 0), time.June, 15, 0))
	s.continued(2028, time.June, 15)
	s.Equal([]msg{s.greeting(2027, 501, s.at(2027, 6, 15, 10, 0))}, s.msgs)
}

// Enrolled after this year's birthday (even the same day, after SendHour):
// the first greeting is next year's.
func (s *birthdaySuite) TestBirthdayPassedWaitsForNextYear() {
	s.env.ExecuteWorkflow(Birthday, s.input(s.at(2027, 6, 15, 10, 1), time.June, 15, 0))
	s.continued(2029, time.June, 15)
	s.Equal([]msg{
		s.card(2028, s.at(2028, 6, 8, 10, 0)),
		s.greeting(2028, 501, s.at(2028, 6, 15, 10, 0)),
	}, s.msgs)
}

// A pause that lasts past the birthday drops the card (it would arrive
// after the day) and sends the greeting when the program resumes, at the
// send hour: the resume came at 09:00, the greeting waits for 10:00.
func (s *birthdaySuite) TestPausePastBirthdayDropsCard() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 6, 1, 9, 0), func() {
		s.gate.ProgramStatus = store.ProgramPaused
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionPause})
	})
	s.after(start, s.at(2027, 6, 17, 9, 0), func() {
		s.Empty(s.msgs, "nothing sent while paused")
		s.gate.ProgramStatus = store.ProgramActive
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionResume})
	})
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.continued(2028, time.June, 15)
	s.Equal([]msg{s.greeting(2027, 501, s.at(2027, 6, 17, 10, 0))}, s.msgs)
}

// Stop ends the enrolment cleanly, mid-wait.
func (s *birthdaySuite) TestStopEnds() {
	start := s.at(2027, 1, 10, 9, 0)
	s.after(start, s.at(2027, 6, 9, 0, 0), s.signal(SignalControl, ControlSignal{Action: ActionStop}))
	s.env.ExecuteWorkflow(Birthday, s.input(start, time.June, 15, 0))
	s.ended(domain.OutcomeStopped, s.at(2027, 6, 9, 0, 0))
	s.Equal([]msg{s.card(2027, s.at(2027, 6, 8, 10, 0))}, s.msgs)
}

// An enrolment without a valid birthday ends at once.
func (s *birthdaySuite) TestNoBirthdayEnds() {
	start := s.at(2027, 1, 10, 9, 0)
	s.env.ExecuteWorkflow(Birthday, s.input(start, 0, 0, 0))
	s.ended(domain.OutcomeNoBirthday, start)
	s.Empty(s.msgs)
}

// A correction that arrives while the greeting is being sent is carried
// into next year's run.
func (s *birthdaySuite) TestChangeDuringGreetingCarriedToNextYear() {
	s.onSend = func(m msg) {
		if m.step == programs.StepGreeting {
			s.env.SignalWorkflow(SignalBirthdayChanged, BirthdayChanged{Month: time.July, Day: 1})
		}
	}
	s.env.ExecuteWorkflow(Birthday, s.input(s.at(2027, 1, 10, 9, 0), time.June, 15, 0))
	s.continued(2028, time.July, 1)
	s.Len(s.msgs, 2)
}
