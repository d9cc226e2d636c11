package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Issue 6, defect 11 (no midnight sends) and defect 18 (no burst after an
// outage; sends retried soon after a lost worker).

type pacingSuite struct{ programSuite }

func TestPacing(t *testing.T) { suite.Run(t, new(pacingSuite)) }

// hours are the local hours of the messages sent, in order.
func (s *pacingSuite) hours() []int {
	var h []int
	for _, m := range s.msgs {
		h = append(h, m.at.Hour())
	}
	return h
}

func (s *pacingSuite) welcomeBack(start time.Time, p programs.WelcomeBack) WelcomeBackInput {
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanWelcomeBack(p)))}
}

func (s *pacingSuite) dormant(start time.Time, p programs.DormantWakeup) DormantWakeupInput {
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))}
}

// A segment program with default parameters, enrolled by a sweep at five
// past midnight, greets at 10:00 in the customer's own zone (Seoul, and
// New York across the switch to daylight saving time), and reminds at
// 10:00 too.
func (s *pacingSuite) TestWelcomeBackWaitsForSendHour() {
	for _, zone := range []*time.Location{seoul, newYork} {
		s.SetupTest()
		s.zone = zone
		s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(s.at(2027, 3, 2, 0, 5), programs.WelcomeBack{}))
		s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
		s.Require().Len(s.msgs, 2, zone.String())
		s.True(s.msgs[0].at.Equal(s.at(2027, 3, 2, 10, 0)), "%s: greeting at %s", zone, s.msgs[0].at)
		s.True(s.msgs[1].at.Equal(s.at(2027, 3, 25, 10, 0)), "%s: reminder at %s", zone, s.msgs[1].at)
		s.Equal([]issued{{"welcome_back:7:e70:greeting:coupon", s.at(2027, 3, 2, 10, 0), s.endOfDay(2027, 4, 1)}}, s.coupons)
	}
}

// Enrolled after the send hour, the greeting goes the next day at it; a
// chosen send hour is kept.
func (s *pacingSuite) TestChosenSendHourNextDay() {
	h := 14
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(s.at(2027, 3, 2, 15, 0), programs.WelcomeBack{Pacing: programs.Pacing{SendHour: &h}}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 2))
	s.Equal([]int{14, 14}, s.hours())
	s.True(s.msgs[0].at.Equal(s.at(2027, 3, 3, 14, 0)), "greeting at %s", s.msgs[0].at)
}

// The default wake-up cadence, enrolled at midnight: every step's moment
// (counted from the enrolment) waits for 10:00 local.
func (s *pacingSuite) TestDormantEveryStepAtSendHour() {
	s.env.ExecuteWorkflow(DormantWakeup, s.dormant(s.at(2027, 1, 10, 0, 0), programs.DormantWakeup{}))
	s.ended(domain.OutcomeDormant, s.at(2027, 7, 9, 10, 0))
	s.Equal([]int{10, 10, 10, 10}, s.hours())
	s.True(s.msgs[0].at.Equal(s.at(2027, 1, 10, 10, 0)), "d0 at %s", s.msgs[0].at)
	s.True(s.msgs[1].at.Equal(s.at(2027, 2, 9, 10, 0)), "d30 at %s", s.msgs[1].at)
}

// A send hour that the switch to daylight saving time skips (02:00 in New
// York on Mar 14, 2027) opens when the clock jumps to 03:00; the next day
// it is 02:00 again.
func (s *pacingSuite) TestSendHourSkippedByDaylightSaving() {
	s.zone = newYork
	h := 2
	p := programs.DormantWakeup{Pacing: programs.Pacing{SendHour: &h}, Steps: []programs.WakeupStep{
		{Key: "a", Offset: programs.MustOffset("0d"), Channel: "sms", Message: programs.Message{Text: "a"}},
		{Key: "b", Offset: programs.MustOffset("1d"), Channel: "sms", Message: programs.Message{Text: "b"}},
	}}
	s.env.ExecuteWorkflow(DormantWakeup, s.dormant(s.at(2027, 3, 14, 0, 30), p))
	s.ended(domain.OutcomeDormant, s.at(2027, 3, 15, 2, 0))
	s.True(s.msgs[0].at.Equal(s.at(2027, 3, 14, 3, 0)), "a at %s", s.msgs[0].at)
	s.True(s.msgs[1].at.Equal(s.at(2027, 3, 15, 2, 0)), "b at %s", s.msgs[1].at)
}

// A plan counted in seconds (tests and demos) runs on exact time, at any
// hour.
func (s *pacingSuite) TestExactPlanKeepsExactTiming() {
	start := s.at(2027, 1, 10, 0, 5)
	p := programs.DormantWakeup{Steps: []programs.WakeupStep{
		{Key: "a", Offset: programs.MustOffset("0s"), Channel: "sms", Message: programs.Message{Text: "a"}},
		{Key: "b", Offset: programs.MustOffset("30s"), Channel: "sms", Message: programs.Message{Text: "b"}},
	}}
	s.env.ExecuteWorkflow(DormantWakeup, s.dormant(start, p))
	s.ended(domain.OutcomeDormant, start.Add(30*time.Second))
	s.True(s.msgs[0].at.Equal(start), "a at %s", s.msgs[0].at)
	s.True(s.msgs[1].at.Equal(start.Add(30*time.Second)), "b at %s", s.msgs[1].at)
}

// Runs recorded before the daytime-sends change keep their timing: the
// version branch, with the same input, greets at five past midnight.
func (s *pacingSuite) TestBeforeChangeSendsAtOnce() {
	// A run from before changeDaytimeSends is from before the lean change too.
	s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(changeDaytimeSends, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	start := s.at(2027, 3, 2, 0, 5)
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(start, programs.WelcomeBack{}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.True(s.msgs[0].at.Equal(start), "greeting at %s", s.msgs[0].at)
}

// A second purchase recorded at 22:00 is thanked at 10:00 the next day;
// the coupon, due a day after the purchase (22:00), waits for the next
// daytime too.
func (s *pacingSuite) TestSecondPurchaseInDaytime() {
	p := programs.SecondPurchase{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(s.at(2027, 5, 10, 22, 0))
	s.env.ExecuteWorkflow(SecondPurchase, SecondPurchaseInput{Enrolment: enrolment(s.zone.String()), PurchaseID: 9000, Plan: ptr(atTheHour(enrol.PlanSecondPurchase(p)))})
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 5, 26))
	s.Equal([]int{10, 10}, s.hours())
	s.True(s.msgs[0].at.Equal(s.at(2027, 5, 11, 10, 0)), "thank-you at %s", s.msgs[0].at)
	s.True(s.msgs[1].at.Equal(s.at(2027, 5, 12, 10, 0)), "coupon at %s", s.msgs[1].at)
}

// Send timeouts follow the provider clients' own: an SMS send is given
// 15 s (the client gives up after 10 s), so one lost with its worker is
// retried within about 15 s, not after a minute.
func (s *pacingSuite) TestSendTimeoutsFollowTheClient() {
	p := programs.DormantWakeup{Steps: []programs.WakeupStep{
		{Key: "a", Offset: programs.MustOffset("0d"), Channel: "sms", Message: programs.Message{Text: "a"}},
		{Key: "b", Offset: programs.MustOffset("1d"), Channel: "email", Message: programs.Message{Subject: "b", Text: "b"}},
	}}
	s.env.ExecuteWorkflow(DormantWakeup, s.dormant(s.at(2027, 1, 10, 10, 0), p))
	s.ended(domain.OutcomeDormant, s.at(2027, 1, 11, 10, 0))
	s.Equal([]time.Duration{15 * time.Second, time.Minute}, s.timeouts)
	sms := sendOptions(domain.ChannelSMS)
	s.LessOrEqual(sms.StartToCloseTimeout+sms.RetryPolicy.InitialInterval, 16*time.Second)
	s.Greater(sms.StartToCloseTimeout, smsClientTimeout)
}

// The database away for almost four minutes (the test server retries an
// activity 10 times, about that long) leaves three touches a minute apart
// overdue at once: when it is back they go min_spacing (30 s here) apart,
// not in a burst.
func (s *pacingSuite) TestDatabaseOutageDoesNotBurst() {
	bought := s.at(2027, 6, 1, 10, 0)
	back := bought.Add(4 * time.Minute)
	s.gateDown = func() bool { return s.now().Before(back) }
	in := s.happyCall(bought, happyCallOf("1m", "2m", "3m"))
	s.True(in.Timing.Exact, "a plan in minutes runs on exact time")
	in.Timing.MinSpacing = programs.MustOffset("30s")
	s.env.ExecuteWorkflow(HappyCall, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Greater(s.gates, 5, "the gate failed and was retried")
	s.Require().Len(s.msgs, 3)
	s.False(s.msgs[0].at.Before(back), "first touch at %s", s.msgs[0].at)
	for i := 1; i < len(s.msgs); i++ {
		gap := s.msgs[i].at.Sub(s.msgs[i-1].at)
		s.GreaterOrEqual(gap, 30*time.Second, "touch %d only %s after the one before", i, gap)
		s.Less(gap, 31*time.Second, "touch %d %s after the one before", i, gap)
	}
}

// Three daily touches held for days (the database said paused, and its
// resume signal was lost) are overdue together when the program is
// active again: they go 4 hours apart (the default min_spacing), inside
// the daytime, not in a burst.
func (s *pacingSuite) TestOverdueTouchesAreSpaced() {
	back := s.at(2027, 6, 5, 10, 0)
	s.gate.ProgramStatus = store.ProgramPaused
	s.after(s.at(2027, 6, 1, 10, 0), back, func() { s.gate.ProgramStatus = store.ProgramActive })
	s.env.ExecuteWorkflow(HappyCall, s.happyCall(s.at(2027, 6, 1, 10, 0), happyCallOf("1d", "2d", "3d")))
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Len(s.msgs, 3)
	want := []time.Time{back, s.at(2027, 6, 5, 14, 0), s.at(2027, 6, 5, 18, 0)}
	for i, m := range s.msgs {
		s.True(m.at.Equal(want[i]), "touch %d at %s, want %s", i, m.at, want[i])
	}
}

// Without the min-spacing change (runs recorded before it) the same
// touches go out in a burst: this is what the change prevents.
func (s *pacingSuite) TestOverdueTouchesBurstBeforeChange() {
	// A run from before changeMinSpacing is from before the lean change too.
	s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(changeMinSpacing, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	back := s.at(2027, 6, 5, 10, 0)
	s.gate.ProgramStatus = store.ProgramPaused
	s.after(s.at(2027, 6, 1, 10, 0), back, func() { s.gate.ProgramStatus = store.ProgramActive })
	s.env.ExecuteWorkflow(HappyCall, s.happyCall(s.at(2027, 6, 1, 10, 0), happyCallOf("1d", "2d", "3d")))
	s.Require().Len(s.msgs, 3)
	s.True(s.msgs[2].at.Equal(back), "burst: all three at %s", back)
}

// Steps the plan puts closer together than min_spacing keep the plan's
// spacing: a touch planned an hour after the one before goes an hour
// after it, not four.
func (s *pacingSuite) TestSpacingNeverExceedsThePlan() {
	hc := happyCallOf("1d", "1d1h")
	s.env.ExecuteWorkflow(HappyCall, s.happyCall(s.at(2027, 6, 1, 10, 0), hc))
	s.Require().Len(s.msgs, 2)
	s.True(s.msgs[1].at.Equal(s.at(2027, 6, 2, 11, 0)), "second at %s", s.msgs[1].at)
}

// happyCallOf is a happy call with one SMS touch per offset.
func happyCallOf(offsets ...string) programs.HappyCall {
	var hc programs.HappyCall
	for _, o := range offsets {
		hc.Touches = append(hc.Touches, programs.Touch{Key: o, Offset: programs.MustOffset(o), SMS: "touch " + o})
	}
	return hc
}

func (s *pacingSuite) happyCall(bought time.Time, hc programs.HappyCall) HappyCallInput {
	s.env.RegisterWorkflow(HappyCall)
	s.Require().NoError(hc.Normalize())
	s.env.SetStartTime(bought)
	steps := hc.Steps()
	t := enrol.HappyCallTiming(steps, hc.CallWindow)
	return HappyCallInput{Enrolment: enrolment(s.zone.String()), PurchaseID: 9000, PurchasedAt: bought, Steps: steps, CallWindow: hc.CallWindow, Timing: &t}
}

// Follow-ups of purchases made at night all come due before the daytime:
// two customers' go at their own places in the first 30 minutes after
// 10:00, not both at 10:00:00. A happy call whose input pinned no timing
// (enrolled before the spread) still goes at 10:00 sharp, as recorded.
func (s *pacingSuite) TestNightPurchasesSpreadOverTheMorning() {
	bought := s.at(2027, 6, 1, 21, 30) // the touch comes due at 22:30
	sentAt := func(customer int64, pinned bool) time.Time {
		s.SetupTest()
		in := s.happyCall(bought, happyCallOf("1h"))
		in.CustomerID, s.customer = customer, customer
		if !pinned {
			in.Timing = nil
		}
		s.env.ExecuteWorkflow(HappyCall, in)
		s.Require().NoError(s.env.GetWorkflowError())
		s.Require().Len(s.msgs, 1)
		return s.msgs[0].at
	}
	morning := s.at(2027, 6, 2, 10, 0)
	a, b := sentAt(700, true), sentAt(701, true)
	for _, at := range []time.Time{a, b} {
		s.True(!at.Before(morning) && at.Before(morning.Add(30*time.Minute)), "sent at %s, want within 10:00-10:30", at)
	}
	s.False(a.Equal(b), "both customers' touches went at %s", a)
	s.True(a.Equal(morning.Add(compliance.Spread(700, 30))), "customer 700 at %s", a)

	s.True(sentAt(700, false).Equal(morning), "an input without a pinned timing goes at 10:00 sharp")
}
