package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

type secondPurchaseSuite struct{ programSuite }

func TestSecondPurchase(t *testing.T) { suite.Run(t, new(secondPurchaseSuite)) }

func (s *secondPurchaseSuite) input(start time.Time, p programs.SecondPurchase) SecondPurchaseInput {
	s.Require().NoError(p.Normalize())
	s.env.SetStartTime(start)
	return SecondPurchaseInput{Enrolment: enrolment(s.zone.String()), PurchaseID: 9000, Plan: ptr(atTheHour(enrol.PlanSecondPurchase(p)))}
}

const (
	spThankYou = "second_purchase:7:e70:thank_you:sms"
	spCoupon   = "second_purchase:7:e70:coupon:sms"
)

// Defaults: thank-you at once, a 14-day coupon the next day, and the end
// as expired at the end of day 15, unused. Both messages name the
// purchase, so {{.Store}} renders.
func (s *secondPurchaseSuite) TestThankYouCouponExpiry() {
	start := s.at(2027, 5, 10, 14, 20)
	s.env.ExecuteWorkflow(SecondPurchase, s.input(start, programs.SecondPurchase{}))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 5, 25))
	s.Equal([]msg{
		{spThankYou, domain.ChannelSMS, programs.StepThankYou, 0, false, 9000, start},
		{spCoupon, domain.ChannelSMS, programs.StepCoupon, 501, false, 9000, s.at(2027, 5, 11, 14, 20)},
	}, s.msgs)
	s.Equal([]issued{{"second_purchase:7:e70:coupon:coupon", s.at(2027, 5, 11, 14, 20), s.endOfDay(2027, 5, 25)}}, s.coupons)
	s.Equal([]time.Time{s.endOfDay(2027, 5, 25)}, s.checks)
}

// The second purchase, signalled while the coupon is valid, ends the
// enrolment at once.
func (s *secondPurchaseSuite) TestSecondPurchaseEndsAtOnce() {
	start := s.at(2027, 5, 10, 14, 20)
	s.after(start, s.at(2027, 5, 15, 12, 0), s.signal(SignalConverted, Converted{Reason: "purchase", Ref: "o-2"}))
	s.env.ExecuteWorkflow(SecondPurchase, s.input(start, programs.SecondPurchase{}))
	s.ended(domain.OutcomeConverted, s.at(2027, 5, 15, 12, 0))
	s.Len(s.msgs, 2)
	s.Empty(s.checks)
}

// A second purchase before the coupon's day: no coupon is issued at all.
func (s *secondPurchaseSuite) TestPurchaseBeforeCouponGetsNone() {
	start := s.at(2027, 5, 10, 14, 20)
	s.after(start, s.at(2027, 5, 10, 19, 0), s.signal(SignalConverted, Converted{Reason: "purchase", Ref: "o-2"}))
	s.env.ExecuteWorkflow(SecondPurchase, s.input(start, programs.SecondPurchase{}))
	s.ended(domain.OutcomeConverted, s.at(2027, 5, 10, 19, 0))
	s.Equal([]msg{{spThankYou, domain.ChannelSMS, programs.StepThankYou, 0, false, 9000, start}}, s.msgs)
	s.Empty(s.coupons)
}

// A redemption whose signal was lost is found in the database at expiry.
func (s *secondPurchaseSuite) TestRedeemedFoundAtExpiry() {
	start := s.at(2027, 5, 10, 14, 20)
	s.redeemed = true
	s.env.ExecuteWorkflow(SecondPurchase, s.input(start, programs.SecondPurchase{}))
	s.ended(domain.OutcomeConverted, s.endOfDay(2027, 5, 25))
}

// Mail, with the coupon a week later valid for a month, in New York:
// the coupon lapses at the end of the customer's local day.
func (s *secondPurchaseSuite) TestMailInNewYork() {
	s.zone = newYork
	start := s.at(2027, 1, 24, 19, 0)
	p := programs.SecondPurchase{Channel: domain.ChannelEmail, CouponAfter: programs.MustOffset("7d"),
		Coupon: programs.Coupon{ValidFor: programs.MustOffset("1mo")}}
	s.env.ExecuteWorkflow(SecondPurchase, s.input(start, p))
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 2, 28))
	s.Equal([]msg{
		{"second_purchase:7:e70:thank_you:email", domain.ChannelEmail, programs.StepThankYou, 0, false, 9000, start},
		{"second_purchase:7:e70:coupon:email", domain.ChannelEmail, programs.StepCoupon, 501, false, 9000, s.at(2027, 1, 31, 19, 0)},
	}, s.msgs)
}
