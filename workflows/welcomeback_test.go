package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

type welcomeBackSuite struct{ programSuite }

func TestWelcomeBack(t *testing.T) { suite.Run(t, new(welcomeBackSuite)) }

func (s *welcomeBackSuite) input(start time.Time, p programs.WelcomeBack) WelcomeBackInput {
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanWelcomeBack(p)))}
}

const (
	wbGreeting = "welcome_back:7:e70:greeting:sms"
	wbReminder = "welcome_back:7:e70:reminder:sms"
)

// Defaults: greeting with a 30-day coupon at enrolment (valid to the end
// of Apr 1), reminder 7 days before it expires at the hour of the greeting
// (not at midnight), and the end as expired when it does, unused.
func (s *welcomeBackSuite) TestGreetingReminderExpiry() {
	start := s.at(2027, 3, 2, 10, 0)
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))

	s.Equal([]issued{{"welcome_back:7:e70:greeting:coupon", start, s.endOfDay(2027, 4, 1)}}, s.coupons)
	s.Equal([]msg{
		{wbGreeting, domain.ChannelSMS, programs.StepGreeting, 501, false, 0, start},
		{wbReminder, domain.ChannelSMS, programs.StepReminder, 501, false, 0, s.at(2027, 3, 25, 10, 0)},
	}, s.msgs)
	s.Equal([]time.Time{s.at(2027, 3, 25, 10, 0), s.endOfDay(2027, 4, 1)}, s.checks, "redemption checked before the reminder and at expiry")
}

// Mail, a two-month coupon from Jan 31 (valid through Mar 31) and a
// reminder a month before: Feb 28, the month counted back with clamping.
// Enrolled at 09:30, the greeting waits for the send hour (10:00).
func (s *welcomeBackSuite) TestEmailMonthlyCoupon() {
	start := s.at(2027, 1, 31, 9, 30)
	p := programs.WelcomeBack{Channel: domain.ChannelEmail, Coupon: programs.Coupon{ValidFor: programs.MustOffset("2mo")},
		ReminderBefore: programs.MustOffset("1mo")}
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, p))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 3, 31))
	s.Equal([]msg{
		{"welcome_back:7:e70:greeting:email", domain.ChannelEmail, programs.StepGreeting, 501, false, 0, s.at(2027, 1, 31, 10, 0)},
		{"welcome_back:7:e70:reminder:email", domain.ChannelEmail, programs.StepReminder, 501, false, 0, s.at(2027, 2, 28, 10, 0)},
	}, s.msgs)
}

// A redemption whose signal was lost is found in the database at the
// reminder: no reminder, and the enrolment ends as converted there.
func (s *welcomeBackSuite) TestRedeemedCouponGetsNoReminder() {
	start := s.at(2027, 3, 2, 10, 0)
	s.redeemed = true
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeConverted, s.at(2027, 3, 25, 10, 0))
	s.Equal([]msg{{wbGreeting, domain.ChannelSMS, programs.StepGreeting, 501, false, 0, start}}, s.msgs)
}

// A purchase signalled mid-wait ends the enrolment at once: no reminder,
// no expiry check.
func (s *welcomeBackSuite) TestConversionEndsAtOnce() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 5, 15, 0), s.signal(SignalConverted, Converted{Reason: "purchase", Ref: "o-1"}))
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	j := s.ended(domain.OutcomeConverted, s.at(2027, 3, 5, 15, 0))
	s.Len(s.msgs, 1)
	s.Empty(s.checks)
	s.Equal("converted", j.Done[len(j.Done)-1].Action)
}

// The redemption of this enrolment's coupon, signalled after the reminder,
// ends it as converted at once.
func (s *welcomeBackSuite) TestRedemptionSignalAfterReminder() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 28, 12, 0), s.signal(SignalConverted, Converted{Reason: "coupon", Ref: "o-2", CouponID: 501}))
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeConverted, s.at(2027, 3, 28, 12, 0))
	s.Len(s.msgs, 2)
	s.Equal([]time.Time{s.at(2027, 3, 25, 10, 0)}, s.checks)
}

// A reminder earlier than the greeting itself is not sent.
func (s *welcomeBackSuite) TestReminderBeforeGreetingIsDropped() {
	start := s.at(2027, 3, 2, 10, 0)
	p := programs.WelcomeBack{Coupon: programs.Coupon{ValidFor: programs.MustOffset("5d")}}
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, p))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 3, 7))
	s.Equal([]msg{{wbGreeting, domain.ChannelSMS, programs.StepGreeting, 501, false, 0, start}}, s.msgs)
}

// The journey shows the reminder as the next step, at its moment.
func (s *welcomeBackSuite) TestJourneyShowsReminderNext() {
	start := s.at(2027, 3, 2, 10, 0)
	queried := false
	s.after(start, s.at(2027, 3, 10, 0, 0), func() {
		j := s.journey()
		s.Require().NotNil(j.Next)
		s.Equal(programs.StepReminder, j.Next.Touch)
		s.True(j.Next.At.Equal(s.at(2027, 3, 25, 10, 0)), "next at %s", j.Next.At)
		s.Equal("time", j.Next.Waiting)
		queried = true
	})
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.True(queried)
}

// Pause holds the reminder until resume; it goes out at the next send
// hour after it (resumed at 11:00: the next day at 10:00), and the coupon
// still expires on its day.
func (s *welcomeBackSuite) TestPauseHoldsReminderUntilResume() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 20, 10, 0), func() {
		s.gate.ProgramStatus = store.ProgramPaused
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionPause})
	})
	s.after(start, s.at(2027, 3, 27, 11, 0), func() {
		s.Len(s.msgs, 1, "nothing sent while paused")
		s.gate.ProgramStatus = store.ProgramActive
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionResume})
	})
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.Require().Len(s.msgs, 2)
	s.Equal(wbReminder, s.msgs[1].key)
	s.True(s.msgs[1].at.Equal(s.at(2027, 3, 28, 10, 0)), "reminder at %s", s.msgs[1].at)
}

// A pause that lasts past the coupon's expiry drops the reminder: it
// would announce an expiry that has happened. The enrolment ends as
// expired at the reminder's send hour after the program resumed.
func (s *welcomeBackSuite) TestPausePastExpiryDropsReminder() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 20, 10, 0), func() {
		s.gate.ProgramStatus = store.ProgramPaused
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionPause})
	})
	s.after(start, s.at(2027, 4, 3, 9, 0), func() {
		s.gate.ProgramStatus = store.ProgramActive
		s.env.SignalWorkflow(SignalControl, ControlSignal{Action: ActionResume})
	})
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	j := s.ended(domain.OutcomeExpired, s.at(2027, 4, 3, 10, 0))
	s.Len(s.msgs, 1, "greeting only")
	var skipped bool
	for _, d := range j.Done {
		skipped = skipped || (d.Touch == programs.StepReminder && d.Action == "skipped")
	}
	s.True(skipped, "the journey says the reminder was skipped: %+v", j.Done)
}

// Stop ends the enrolment at once, mid-wait, and nothing more is sent.
func (s *welcomeBackSuite) TestStopEndsCleanly() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 12, 10, 0), s.signal(SignalControl, ControlSignal{Action: ActionStop}))
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeStopped, s.at(2027, 3, 12, 10, 0))
	s.Len(s.msgs, 1)
	s.Empty(s.checks)
}

// A customer who withdrew consent (and whose signal was lost) is found
// at the reminder's gate: no reminder, ended as opted out.
func (s *welcomeBackSuite) TestOptOutFoundAtGate() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 20, 10, 0), func() { s.gate.OptedOut = true })
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeOptedOut, s.at(2027, 3, 25, 10, 0))
	s.Len(s.msgs, 1)
}

// A greeting held (by the frequency cap) past the reminder's moment: the
// reminder is not sent, and the journey says so instead of showing
// nothing for it.
func (s *welcomeBackSuite) TestReminderPassedWhileGreetingHeldIsInJourney() {
	start := s.at(2027, 3, 2, 10, 0)
	released := s.at(2027, 3, 27, 10, 0) // the reminder was due Mar 25 10:00
	s.answer = func(activities.SendRequest) activities.SendResult {
		if s.now().Before(released) {
			return activities.SendResult{Status: domain.MessageHeld, Reason: "capped", NotBefore: released}
		}
		return activities.SendResult{}
	}
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	j := s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.Require().Len(s.msgs, 1, "the greeting only")
	s.True(s.msgs[0].at.Equal(released), "greeting at %s", s.msgs[0].at)
	var skipped *StepDone
	for i, d := range j.Done {
		if d.Touch == programs.StepReminder {
			skipped = &j.Done[i]
		}
	}
	s.Require().NotNil(skipped, "the journey shows the reminder: %+v", j.Done)
	s.Equal("skipped", skipped.Action)
	s.True(skipped.At.Equal(released), "recorded at %s", skipped.At)
	s.Contains(skipped.Result, "2027-03-25T01:00:00Z", "the result names the moment that passed")
}

// A purchase repeated by its client sends its conversion signal again
// (api: a repeat converts too): the journey records the conversion once.
func (s *welcomeBackSuite) TestRepeatedConversionRecordedOnce() {
	start := s.at(2027, 3, 2, 10, 0)
	converted := s.signal(SignalConverted, Converted{Reason: "purchase", Ref: "o-1"})
	s.after(start, s.at(2027, 3, 5, 15, 0), func() { converted(); converted() })
	s.env.ExecuteWorkflow(WelcomeBack, s.input(start, programs.WelcomeBack{}))
	j := s.ended(domain.OutcomeConverted, s.at(2027, 3, 5, 15, 0))
	var lines []StepDone
	for _, d := range j.Done {
		if d.Action == "converted" {
			lines = append(lines, d)
		}
	}
	s.Len(lines, 1, "one line for one purchase: %+v", j.Done)
}
