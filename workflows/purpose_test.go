package workflows

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/suite"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// purposeSuite checks that every send carries its step's pinned purpose,
// and that a plan pinned before plans had purposes sends the kind's
// defaults.
type purposeSuite struct{ programSuite }

func TestPurposes(t *testing.T) { suite.Run(t, new(purposeSuite)) }

func parsed[T any](s *purposeSuite, kind, raw string) T {
	p, err := programs.Parse(kind, json.RawMessage(raw))
	s.Require().NoError(err)
	return *any(p).(*T)
}

func (s *purposeSuite) TestWelcomeBack() {
	p := parsed[programs.WelcomeBack](s, programs.KindWelcomeBack, `{"reminder":{"text":"x","purpose":"marketing"}}`)
	start := s.at(2027, 3, 2, 10, 0)
	s.env.SetStartTime(start)
	s.env.ExecuteWorkflow(WelcomeBack, WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanWelcomeBack(p)))})
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.Equal(map[string]string{wbGreeting: "marketing", wbReminder: "marketing"}, s.purposes)
}

func (s *purposeSuite) TestWelcomeBackPlanWithoutPurposes() {
	p := parsed[programs.WelcomeBack](s, programs.KindWelcomeBack, `{}`)
	plan := enrol.PlanWelcomeBack(p)
	plan.GreetingPurpose, plan.ReminderPurpose = "", ""
	s.env.SetStartTime(s.at(2027, 3, 2, 10, 0))
	s.env.ExecuteWorkflow(WelcomeBack, WelcomeBackInput{Enrolment: enrolment(s.zone.String()), Plan: &plan})
	s.ended(domain.OutcomeExpired, s.endOfDay(2027, 4, 1))
	s.Equal(map[string]string{wbGreeting: "marketing", wbReminder: "service"}, s.purposes)
}

func (s *purposeSuite) TestDormantWakeup() {
	p := parsed[programs.DormantWakeup](s, programs.KindDormantWakeup,
		`{"steps":[{"key":"a","offset":"0d","channel":"sms","message":{"text":"x"},"purpose":"service"},{"key":"b","offset":"1d","channel":"sms","coupon":true,"message":{"text":"{{.Coupon}}"}}]}`)
	plan := enrol.PlanDormantWakeup(p)
	old := plan
	old.Steps = append([]enrol.WakeupStep(nil), plan.Steps...)
	old.Steps[0].Purpose = ""
	for _, c := range []struct {
		plan enrol.DormantWakeupPlan
		want string
	}{{plan, "service"}, {old, "marketing"}} {
		s.SetupTest()
		s.env.SetStartTime(s.at(2027, 3, 2, 10, 0))
		s.env.ExecuteWorkflow(DormantWakeup, DormantWakeupInput{Enrolment: enrolment(s.zone.String()), Plan: &c.plan})
		s.Require().True(s.env.IsWorkflowCompleted())
		s.Equal(map[string]string{"dormant_wakeup:7:e70:a:sms": c.want, "dormant_wakeup:7:e70:b:sms": "marketing"}, s.purposes)
	}
}

func (s *purposeSuite) TestBirthday() {
	p := parsed[programs.Birthday](s, programs.KindBirthday, `{"card":{"subject":"s","text":"x","purpose":"service"}}`)
	s.env.SetStartTime(s.at(2027, 6, 1, 9, 0))
	s.env.ExecuteWorkflow(Birthday, BirthdayInput{Enrolment: enrolment(s.zone.String()), Plan: ptr(atTheHour(enrol.PlanBirthday(p))), Month: time.June, Day: 15, Year: 2027})
	continuedAs[BirthdayInput](&s.programSuite, "Birthday")
	s.Equal(map[string]string{"birthday:7:e70:card:email-2027": "service", "birthday:7:e70:greeting:sms-2027": "marketing"}, s.purposes)
}

func (s *purposeSuite) TestSecondPurchase() {
	p := parsed[programs.SecondPurchase](s, programs.KindSecondPurchase, `{}`)
	for _, plan := range []enrol.SecondPurchasePlan{enrol.PlanSecondPurchase(p), {Channel: p.Channel, CouponAfter: p.CouponAfter, Coupon: p.Coupon}} {
		s.SetupTest()
		start := s.at(2027, 5, 10, 14, 20)
		s.env.SetStartTime(start)
		s.env.ExecuteWorkflow(SecondPurchase, SecondPurchaseInput{Enrolment: enrolment(s.zone.String()), PurchaseID: 9000, Plan: &plan})
		s.ended(domain.OutcomeExpired, s.endOfDay(2027, 5, 25))
		s.Equal(map[string]string{spThankYou: "service", spCoupon: "marketing"}, s.purposes)
	}
}

// A happy call's touch set to marketing sends its SMS as marketing; the
// fallback of a call nobody answered is service; steps pinned without a
// purpose (old inputs) are service.
func (s *happyCallSuite) TestPurposes() {
	hc, err := programs.ParseHappyCall(json.RawMessage(`{"touches":[{"key":"a","offset":"3d","call":true,"fallback_sms":"x"},{"key":"b","offset":"4d","sms":"x","purpose":"marketing"},{"key":"c","offset":"5d","sms":"x"}]}`))
	s.Require().NoError(err)
	in := s.input(at(2027, 1, 31, 10, 0), "Asia/Seoul", hc)
	in.Steps[2].Purpose = ""
	s.env.ExecuteWorkflow(HappyCall, in)
	s.journey()
	s.Equal(map[string]string{
		"happycall:7:7000:a:fallback_sms": "service",
		"happycall:7:7000:b:sms":          "marketing",
		"happycall:7:7000:c:sms":          "service",
	}, s.purposes)
}
