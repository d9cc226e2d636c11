package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// Issue 6, defect 7: the database is the truth about conversions. Each
// test records a purchase (or a redemption) in the "database" (the gate)
// and never sends the converted signal, as when it was lost.

type conversionSuite struct{ programSuite }

func TestConversionFoundAtGate(t *testing.T) { suite.Run(t, new(conversionSuite)) }

func (s *conversionSuite) welcomeBack(start time.Time) WelcomeBackInput {
	p := programs.WelcomeBack{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanWelcomeBack(p)))}
}

// A welcome-back customer buys on Mar 10; the signal is lost. The
// reminder's gate (Mar 25) finds the purchase: no reminder, converted.
func (s *conversionSuite) TestWelcomeBackPurchaseNoReminder() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 10, 12, 0), func() { s.gate.Purchased = true })
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(start))
	j := s.ended(domain.OutcomeConverted, s.at(2027, 3, 25, 10, 0))
	s.Equal([]msg{{wbGreeting, domain.ChannelSMS, programs.StepGreeting, 501, false, 0, start}}, s.msgs)
	s.Empty(s.checks, "the gate decided, not the coupon check")
	last := j.Done[len(j.Done)-1]
	s.Equal("converted", last.Action)
	s.Equal("database: purchase", last.Result)
}

// Issue 8: the customer is erased on Mar 10 and the erase signal is lost:
// the reminder's gate finds the customer erased and ends the enrolment;
// nothing more is sent.
func (s *conversionSuite) TestWelcomeBackErasedEndsAtTheGate() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 10, 12, 0), func() { s.gate.Erased, s.gate.OptedOut = true, true })
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(start))
	s.ended(domain.OutcomeErased, s.at(2027, 3, 25, 10, 0))
	s.Len(s.msgs, 1)
}

// The same with a redemption whose signal was lost.
func (s *conversionSuite) TestWelcomeBackRedemptionNoReminder() {
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 10, 12, 0), func() { s.gate.Redeemed = true })
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(start))
	s.ended(domain.OutcomeConverted, s.at(2027, 3, 25, 10, 0))
	s.Len(s.msgs, 1)
}

// Runs recorded before the change still send the reminder (what the
// change fixes): the gate's answer is only acted on in new runs.
func (s *conversionSuite) TestBeforeChangeReminderStillSent() {
	// A run from before changeGateConversion is from before the lean change too.
	s.env.OnGetVersion(changeLean, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnGetVersion(changeGateConversion, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	start := s.at(2027, 3, 2, 10, 0)
	s.after(start, s.at(2027, 3, 10, 12, 0), func() { s.gate.Purchased = true })
	s.env.ExecuteWorkflow(WelcomeBack, s.welcomeBack(start))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.Len(s.msgs, 2)
}

// A first-time buyer comes back the same evening; the signal is lost.
// The coupon's gate finds the purchase: no coupon is issued or sent.
func (s *conversionSuite) TestSecondPurchaseNoCoupon() {
	start := s.at(2027, 5, 10, 14, 20)
	p := programs.SecondPurchase{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	s.after(start, s.at(2027, 5, 10, 19, 0), func() { s.gate.Purchased = true })
	s.env.ExecuteWorkflow(SecondPurchase, SecondPurchaseInput{Enrolment: enrolment(s.zone.String()), PurchaseID: 9000, Plan: ptr(atTheHour(enrol.PlanSecondPurchase(p)))})
	s.ended(domain.OutcomeConverted, s.at(2027, 5, 11, 14, 20))
	s.Equal([]msg{{spThankYou, domain.ChannelSMS, programs.StepThankYou, 0, false, 9000, start}}, s.msgs)
	s.Empty(s.coupons)
}

// A dormant customer buys before the coupon step: no coupon, not marked
// dormant.
func (s *conversionSuite) TestDormantNoCoupon() {
	start := s.at(2027, 1, 10, 10, 0)
	p := programs.DormantWakeup{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	s.after(start, s.at(2027, 3, 1, 10, 0), func() { s.gate.Purchased = true })
	s.env.ExecuteWorkflow(DormantWakeup, DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanDormantWakeup(p)))})
	s.ended(domain.OutcomeConverted, s.at(2027, 4, 10, 10, 0))
	s.Len(s.msgs, 2)
	s.Empty(s.coupons)
	s.Empty(s.dormant)
}

// A birthday is not a campaign to win: a purchase found at the gate
// changes nothing.
func (s *conversionSuite) TestBirthdayIgnoresPurchases() {
	p := programs.Birthday{}
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(s.at(2027, 1, 10, 9, 0))
	s.gate.Purchased = true
	s.env.ExecuteWorkflow(Birthday, BirthdayInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanBirthday(p))), Month: time.June, Day: 15})
	continuedAs[BirthdayInput](&s.programSuite, "Birthday")
	s.Len(s.msgs, 2)
}
