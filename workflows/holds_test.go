package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// The send path may hold a message (quiet hours, the frequency cap) and
// say until when; the workflow waits on a timer and asks again.
type holdsSuite struct{ programSuite }

func TestHolds(t *testing.T) { suite.Run(t, new(holdsSuite)) }

// quietUntil8 holds every message between 21:00 and 08:00 in the suite's
// zone, as the Korean rule holds advertising.
func (s *holdsSuite) quietUntil8(req activities.SendRequest) activities.SendResult {
	now := s.now()
	if h := now.Hour(); h >= 8 && h < 21 {
		return activities.SendResult{}
	}
	open := time.Date(now.Year(), now.Month(), now.Day(), 8, 0, 0, 0, s.zone)
	if !open.After(now) {
		open = open.AddDate(0, 0, 1)
	}
	if req.LastTry {
		return activities.SendResult{Status: domain.MessageSuppressed, Reason: "quiet hours"}
	}
	return activities.SendResult{Status: domain.MessageHeld, Reason: "quiet hours", NotBefore: open}
}

func (s *holdsSuite) welcomeBackAt(hour int) WelcomeBackInput {
	p := programs.WelcomeBack{Pacing: programs.Pacing{SendHour: ptr(hour)}}
	s.Require().NoError(p.Normalize())
	return WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanWelcomeBack(p)))}
}

// A greeting due at 22:30 KST goes at 08:00 KST the next morning, once,
// after the gate has been asked again.
func (s *holdsSuite) TestQuietHoursWaitUntilMorning() {
	start := s.at(2027, 3, 2, 22, 30)
	s.env.SetStartTime(start)
	s.answer = s.quietUntil8
	in := s.welcomeBackAt(22)
	var gatesAtHold int
	s.onSend = func(msg) {}
	s.env.RegisterDelayedCallback(func() { gatesAtHold = s.gates }, time.Hour)
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 3*24*time.Hour)
	s.env.ExecuteWorkflow(WelcomeBack, in)
	s.Require().NotEmpty(s.msgs)
	s.Equal(programs.StepGreeting, s.msgs[0].step)
	s.True(s.msgs[0].at.Equal(s.at(2027, 3, 3, 8, 0)), "greeting went at %s, want 08:00 the next morning", s.msgs[0].at)
	s.Len(s.holds, 1, "held once, then sent")
	s.Greater(s.gates, gatesAtHold, "the gate is asked again after the hold")
}

// A stop while the message is held ends the enrolment: nothing goes.
func (s *holdsSuite) TestStopWhileHeld() {
	start := s.at(2027, 3, 2, 22, 30)
	s.env.SetStartTime(start)
	s.answer = s.quietUntil8
	in := s.welcomeBackAt(22)
	s.after(start, s.at(2027, 3, 3, 2, 0), s.signal(SignalControl, ControlSignal{Action: ActionStop}))
	s.env.ExecuteWorkflow(WelcomeBack, in)
	s.ended(domain.OutcomeStopped, s.at(2027, 3, 3, 2, 0))
	s.Empty(s.msgs, "nothing sent after the stop")
	s.Len(s.holds, 1)
}

// A message held again and again is given up after maxHolds: the last try
// tells the send path to record it suppressed, and the program goes on.
func (s *holdsSuite) TestHoldsAreBounded() {
	start := s.at(2027, 3, 2, 10, 0)
	s.env.SetStartTime(start)
	s.answer = func(req activities.SendRequest) activities.SendResult {
		if req.LastTry {
			return activities.SendResult{Status: domain.MessageSuppressed, Reason: "capped"}
		}
		return activities.SendResult{Status: domain.MessageHeld, Reason: "capped", NotBefore: s.now().Add(time.Hour)}
	}
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 60*24*time.Hour)
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBackAt(10))
	s.GreaterOrEqual(len(s.holds), maxHolds, "held up to the bound")
	j := s.journey()
	found := false
	for _, d := range j.Done {
		if d.Touch == programs.StepGreeting && d.Result == domain.MessageSuppressed {
			found = true
		}
	}
	s.True(found, "the greeting is recorded suppressed after %d holds: %+v", maxHolds, j.Done)
}

// releaseByLaw answers as the send path does under the default settings:
// held until compliance.Release lets the purpose go in the country, on
// the workflow's clock.
func (s *holdsSuite) releaseByLaw(country string) func(activities.SendRequest) activities.SendResult {
	return func(req activities.SendRequest) activities.SendResult {
		at, held := compliance.Release(s.env.Now(), s.zone, country, req.Purpose, false, compliance.Defaults(), 700)
		if !held {
			return activities.SendResult{}
		}
		return activities.SendResult{Status: domain.MessageHeld, Reason: compliance.ReasonQuietHours, NotBefore: at}
	}
}

// Under the default settings, a Korean advertising greeting due at 22:30
// KST goes at 08:00 KST the next morning (plus the customer's place in the
// release spread), and a US customer's at 08:00 in their own zone.
func (s *holdsSuite) TestDefaultQuietHoursKoreaAndUS() {
	for _, c := range []struct {
		country string
		zone    *time.Location
	}{{"KR", seoul}, {"US", newYork}} {
		s.Run(c.country, func() {
			s.SetupTest()
			s.zone = c.zone
			start := s.at(2027, 3, 2, 22, 30)
			s.env.SetStartTime(start)
			s.answer = s.releaseByLaw(c.country)
			s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 3*24*time.Hour)
			s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBackAt(22))
			s.Require().NotEmpty(s.msgs)
			want := s.at(2027, 3, 3, 8, 0).Add(compliance.Spread(700, compliance.Defaults().ReleaseSpreadMinutes))
			s.True(s.msgs[0].at.Equal(want), "%s greeting went at %s, want %s", c.country, s.msgs[0].at, want)
			s.Len(s.holds, 1)
		})
	}
}

// A sweep enrols at night and every greeting waits for the send hour:
// each customer's is released at their own place in the first 30 minutes
// (the default send_spread), not all at 10:00:00. One enrolled inside the
// hour goes at once.
func (s *holdsSuite) TestSendSpread() {
	p := programs.WelcomeBack{}
	s.Require().NoError(p.Normalize())
	plan := enrol.PlanWelcomeBack(p)
	s.Require().Equal(1800, plan.Timing.SpreadSeconds)
	start := s.at(2027, 3, 2, 3, 0)
	s.env.SetStartTime(start)
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 2*24*time.Hour)
	s.env.ExecuteWorkflow(WelcomeBack, WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: &plan})
	s.Require().NotEmpty(s.msgs)
	spread := compliance.Spread(700, 30)
	s.Greater(spread, time.Duration(0), "customer 700 has a place after the hour's start")
	s.True(s.msgs[0].at.Equal(s.at(2027, 3, 2, 10, 0).Add(spread)), "greeting at %s, want 10:00 + %s", s.msgs[0].at, spread)

	s.SetupTest()
	inside := s.at(2027, 3, 2, 10, 5)
	s.env.SetStartTime(inside)
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 2*24*time.Hour)
	s.env.ExecuteWorkflow(WelcomeBack, WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: &plan})
	s.Require().NotEmpty(s.msgs)
	s.True(s.msgs[0].at.Equal(inside), "enrolled within the hour: greeting at %s, want at once", s.msgs[0].at)
}
