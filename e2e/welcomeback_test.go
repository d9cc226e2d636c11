package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
)

// seedCustomers creates n customers with SMS consent whose only purchase
// was daysAgo days ago; it returns their external ids.
func seedCustomers(t *testing.T, s *stack, prefix string, n, daysAgo int) []string {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	for i := range n {
		id := fmt.Sprintf("%s-%03d", prefix, i)
		phone := fmt.Sprintf("+8210%04d%04d", daysAgo, i)
		c, _, err := s.st.UpsertCustomer(ctx, store.Customer{ExternalID: id, Name: "고객" + id, Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
			Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now(), Source: "seed"}}})
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = s.st.RecordPurchase(ctx, store.Purchase{ExternalID: "seed-" + id, CustomerID: c.ID, Amount: "50000", Currency: "KRW",
			Category: "의류", Store: "강남점", PurchasedAt: time.Now().AddDate(0, 0, -daysAgo)},
			func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

func (s *stack) enrolmentOf(t *testing.T, customer string, programID int64) store.Enrolment {
	t.Helper()
	found := s.enrolmentsOf(t, customer, programID)
	if len(found) != 1 {
		t.Fatalf("%s has %d enrolments in program %d", customer, len(found), programID)
	}
	return found[0]
}

func (s *stack) enrolmentsOf(t *testing.T, customer string, programID int64) []store.Enrolment {
	t.Helper()
	c, err := s.st.CustomerByExternalID(context.Background(), customer)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.st.CustomerEnrolments(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var found []store.Enrolment
	for _, e := range es {
		if e.ProgramID == programID {
			found = append(found, e)
		}
	}
	return found
}

// A welcome-back program over a few hundred lapsed customers, enrolled by
// its schedule: each gets one greeting with a unique coupon; one buys
// again, one redeems, the rest get the reminder and expire.
func TestWelcomeBackEnrolledBySchedule(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	lapsed := seedCustomers(t, s, "lapsed", 300, 120)
	recent := seedCustomers(t, s, "recent", 50, 10)

	var preview struct {
		Count int64 `json:"count"`
	}
	s.must(http.StatusOK, "POST", "/v1/audiences:preview", map[string]any{"audience": map[string]any{"last_purchase_older_than_days": 90, "consent": "sms"}}, &preview)
	if preview.Count != 300 {
		t.Fatalf("preview counts %d lapsed customers, want 300", preview.Count)
	}

	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "컴백 쿠폰", "kind": "welcome_back", "params": map[string]any{
		"lapsed_days": 90, "every": "2s", "holdout_percent": 0, // TestSweepHoldsOutControl covers the control group
		"coupon":          map[string]any{"kind": "amount", "value": "10000", "valid_for": "60s"},
		"reminder_before": "25s",
	}}, &prog)
	created := time.Now()

	// The schedule enrols everyone lapsed, once, and nobody recent.
	greetings := func() map[string]int {
		counts := map[string]int{}
		for _, m := range s.standin.Messages() {
			if strings.Contains(m.Body, "오랜만이에요") {
				counts[m.To]++
			}
		}
		return counts
	}
	eventually(t, 120*time.Second, "300 greetings", func() bool { return len(greetings()) >= 300 })
	t.Logf("300 customers enrolled and greeted %s after the program was created", time.Since(created).Round(100*time.Millisecond))
	counts := greetings()
	for to, n := range counts {
		if n != 1 {
			t.Fatalf("%s got %d greetings", to, n)
		}
	}
	for _, id := range recent[:5] {
		c, _ := s.st.CustomerByExternalID(context.Background(), id)
		if es, _ := s.st.CustomerEnrolments(context.Background(), c.ID); len(es) != 0 {
			t.Fatalf("recent customer %s enrolled", id)
		}
	}
	// Later sweeps (every 2s) must not enrol anyone again.
	time.Sleep(5 * time.Second)
	var enrolled int
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM enrolments WHERE program_id = $1`, prog.ID).Scan(&enrolled); err != nil {
		t.Fatal(err)
	}
	if enrolled != 300 {
		t.Fatalf("%d enrolments after repeated sweeps, want 300", enrolled)
	}

	// One customer buys again: the enrolment ends at once as converted.
	// (The last customers enrolled: their reminders are furthest away.)
	buyer := lapsed[299]
	s.postPurchase("back-1", buyer, "의류", time.Now(), http.StatusCreated)
	eventually(t, 10*time.Second, "purchase conversion", func() bool {
		e := s.enrolmentOf(t, buyer, prog.ID)
		return e.Outcome != nil && *e.Outcome == domain.OutcomeConverted
	})

	// Another redeems the coupon at the till.
	redeemer := lapsed[298]
	e := s.enrolmentOf(t, redeemer, prog.ID)
	var code string
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT code FROM coupons WHERE enrolment_id = $1`, e.ID).Scan(&code); err != nil {
		t.Fatal(err)
	}
	var coupon store.Coupon
	s.must(http.StatusOK, "GET", "/v1/coupons/"+code, nil, &coupon)
	if coupon.Value != "10000.00" || coupon.CustomerExtID != redeemer || coupon.RedeemedAt != nil {
		t.Fatalf("coupon %+v", coupon)
	}
	s.must(http.StatusOK, "POST", "/v1/coupons/"+code+"/redeem", map[string]any{"order_id": "pos-77"}, &coupon)
	s.must(http.StatusOK, "POST", "/v1/coupons/"+code+"/redeem", map[string]any{"order_id": "pos-77"}, nil)
	s.must(http.StatusConflict, "POST", "/v1/coupons/"+code+"/redeem", map[string]any{"order_id": "pos-78"}, nil)
	eventually(t, 10*time.Second, "coupon conversion", func() bool {
		e := s.enrolmentOf(t, redeemer, prog.ID)
		return e.Outcome != nil && *e.Outcome == domain.OutcomeConverted
	})

	// The rest get a reminder and then expire; the converted two get none.
	eventually(t, 120*time.Second, "expiry of the rest", func() bool {
		var n int
		_ = s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM enrolments WHERE program_id = $1 AND outcome = 'expired'`, prog.ID).Scan(&n)
		return n == 298
	})
	if n := len(s.smsTo(s.phoneOf(t, lapsed[5]))); n != 2 {
		t.Fatalf("an unconverted customer got %d SMS, want greeting and reminder", n)
	}
	for _, id := range []string{buyer, redeemer} {
		if n := len(s.smsTo(s.phoneOf(t, id))); n != 1 {
			t.Fatalf("converted customer %s got %d SMS, want only the greeting", id, n)
		}
	}
	s.must(http.StatusGone, "POST", "/v1/coupons/"+s.couponOf(t, lapsed[5], prog.ID)+"/redeem", map[string]any{"order_id": "late"}, nil)

	// Stopping the program deletes its schedule.
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/stop", prog.ID), nil, nil)
	if _, err := s.tc.ScheduleClient().GetHandle(context.Background(), schedules.SweepScheduleID(prog.ID)).Describe(context.Background()); err == nil {
		t.Fatal("schedule still exists after stop")
	}
	saveHistory(t, s.tc, s.enrolmentOf(t, lapsed[5], prog.ID).WorkflowID, "welcomeback.json")
}

func (s *stack) phoneOf(t *testing.T, id string) string {
	c, err := s.st.CustomerByExternalID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return *c.Phone
}

func (s *stack) couponOf(t *testing.T, customer string, programID int64) string {
	e := s.enrolmentOf(t, customer, programID)
	var code string
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT code FROM coupons WHERE enrolment_id = $1`, e.ID).Scan(&code); err != nil {
		t.Fatal(err)
	}
	return code
}
