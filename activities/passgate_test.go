package activities_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// PassGate does the step's action only when the gate lets the step
// through, as the workflows read the gate (Gate.Lets): a paused or stopped
// program, an opted-out customer and, for a program that ends on
// conversion, a customer who came back get no coupon and no call task.
// Retried, it returns what the first attempt made.
func TestPassGateActsOnlyWhenItLetsTheStepThrough(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}
	sp := f.program(programs.KindSecondPurchase)
	c := f.customer("gated")
	_, es := f.buy(c, time.Now().Add(-time.Hour), []store.EnrolmentPlan{{ProgramID: sp.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("sp/%d", c.ID)}})
	e := es[0]
	coupons := func() int {
		var n int
		if err := f.st.Pool().QueryRow(f.ctx, `SELECT count(*) FROM coupons WHERE enrolment_id = $1`, e.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	req := activities.GateRequest{ProgramID: sp.ID, CustomerID: c.ID, EnrolmentID: e.ID, ExitsOnConversion: true,
		Coupon: &activities.IssueCouponRequest{Key: fmt.Sprintf("sp:%d:coupon", e.ID), ProgramID: sp.ID, EnrolmentID: e.ID, CustomerID: c.ID,
			Coupon: programs.Coupon{Kind: "percent", Value: "15", ValidFor: programs.MustOffset("14d")}}}
	pass := func() activities.GateResult {
		t.Helper()
		res, err := a.PassGate(f.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	status := func(s string) {
		t.Helper()
		setStatus(f, sp.ID, s)
	}

	for _, s := range []string{store.ProgramPaused, store.ProgramStopped} {
		status(s)
		if res := pass(); res.Done || res.Coupon != nil || res.Gate.ProgramStatus != s || coupons() != 0 {
			t.Fatalf("program %s: %+v, %d coupons", s, res, coupons())
		}
	}
	status(store.ProgramActive)
	first := pass()
	if !first.Done || first.Coupon == nil || first.Coupon.ID == 0 || !first.Gate.Lets(true) || coupons() != 1 {
		t.Fatalf("let through: %+v, %d coupons", first, coupons())
	}
	if again := pass(); !again.Done || *again.Coupon != *first.Coupon || coupons() != 1 {
		t.Fatalf("retried: %+v, want %+v; %d coupons", again, first, coupons())
	}

	// The customer bought again: the step does not go for a program that
	// ends on conversion, and does for one that does not (a happy call).
	f.buy(c, time.Now(), nil)
	req.Coupon.Key += "-2"
	if res := pass(); res.Done || !res.Gate.Purchased || coupons() != 1 {
		t.Fatalf("converted: %+v, %d coupons", res, coupons())
	}
	req.ExitsOnConversion = false
	if res := pass(); !res.Done || coupons() != 2 {
		t.Fatalf("converted, no exit on conversion: %+v, %d coupons", res, coupons())
	}

	// Opted out of every channel.
	c.Consent = map[string]store.Consent{"sms": {Granted: false, At: time.Now(), Source: "customer"}}
	if _, _, err := f.st.UpsertCustomer(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	req.Coupon.Key += "-3"
	if res := pass(); res.Done || !res.Gate.OptedOut || coupons() != 2 {
		t.Fatalf("opted out: %+v, %d coupons", res, coupons())
	}
}

// A call step's task: made when the gate lets the step through; a
// customer without call consent gets none (id 0), which the workflow
// reads as call_skipped.
func TestPassGateMakesTheCallTask(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}
	hc := f.program(programs.KindHappyCall)
	c := f.customer("caller")
	c.Consent[domain.ChannelCall] = store.Consent{Granted: true, At: time.Now(), Source: "pos"}
	if _, _, err := f.st.UpsertCustomer(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	_, es := f.buy(c, time.Now(), []store.EnrolmentPlan{{ProgramID: hc.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("hc/%d", c.ID), PerPurchase: true}})
	e := es[0]
	expires := time.Now().AddDate(0, 0, 2)
	req := activities.GateRequest{ProgramID: hc.ID, CustomerID: c.ID, EnrolmentID: e.ID,
		CallTask: &activities.CallTaskRequest{Key: "k:3d:call", Kind: domain.TaskHappyCall, EnrolmentID: e.ID, CustomerID: c.ID,
			PurchaseID: *e.PurchaseID, ProgramID: hc.ID, ProgramVersion: 1, TouchKey: "3d", DueAt: time.Now(), ExpiresAt: &expires}}
	setStatus(f, hc.ID, store.ProgramStopped)
	if res, err := a.PassGate(f.ctx, req); err != nil || res.Done || res.CallTaskID != 0 {
		t.Fatalf("stopped program: %+v, %v", res, err)
	}
	setStatus(f, hc.ID, store.ProgramActive)
	res, err := a.PassGate(f.ctx, req)
	if err != nil || !res.Done || res.CallTaskID == 0 {
		t.Fatalf("let through: %+v, %v", res, err)
	}
	task, err := f.st.CallTask(f.ctx, res.CallTaskID)
	if err != nil || task.Status != domain.TaskOpen || task.EnrolmentID == nil || *task.EnrolmentID != e.ID {
		t.Fatalf("task %+v, %v", task, err)
	}
}

// FinishAtExpiry ends the enrolment expired when its coupon was never
// used and converted when it was (its signal lost), once: a retry keeps
// the outcome recorded first.
func TestFinishAtExpiry(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}
	sp := f.program(programs.KindSecondPurchase)
	for _, used := range []bool{false, true} {
		c := f.customer(fmt.Sprintf("expiry-%v", used))
		_, es := f.buy(c, time.Now().Add(-time.Hour), []store.EnrolmentPlan{{ProgramID: sp.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("sp/%d", c.ID)}})
		e := es[0]
		k, err := f.st.IssueCoupon(f.ctx, store.Coupon{IdempotencyKey: fmt.Sprintf("sp:%d", e.ID), ProgramID: &sp.ID, EnrolmentID: &e.ID,
			CustomerID: c.ID, Kind: "amount", Value: "10000", Currency: "KRW", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want := "expired"
		if used {
			want = "converted"
			if _, _, err := f.st.RedeemCoupon(f.ctx, k.Code, "pos-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		req := activities.ExpiryRequest{EnrolmentID: e.ID, CouponID: k.ID, Unused: "expired", Used: "converted"}
		for range 2 {
			got, err := a.FinishAtExpiry(f.ctx, req)
			if err != nil || got != want {
				t.Fatalf("used %v: %q, %v; want %q", used, got, err, want)
			}
		}
		var status, outcome string
		if err := f.st.Pool().QueryRow(f.ctx, `SELECT status, outcome FROM enrolments WHERE id = $1`, e.ID).Scan(&status, &outcome); err != nil {
			t.Fatal(err)
		}
		if status != domain.EnrolmentEnded || outcome != want {
			t.Fatalf("used %v: enrolment %s %s, want ended %s", used, status, outcome, want)
		}
	}
}

// setStatus sets a program's status as it is read, also back from stopped
// (which the API refuses), so one program shows every answer.
func setStatus(f *fixture, programID int64, status string) {
	f.t.Helper()
	if _, err := f.st.Pool().Exec(f.ctx, `UPDATE programs SET status = $2 WHERE id = $1`, programID, status); err != nil {
		f.t.Fatal(err)
	}
}
