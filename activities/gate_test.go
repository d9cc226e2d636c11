package activities_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

type fixture struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	n   int
}

func newFixture(t *testing.T) *fixture {
	st, _ := testenv.Store(t)
	return &fixture{t: t, ctx: context.Background(), st: st}
}

func (f *fixture) customer(ext string) store.Customer {
	f.t.Helper()
	phone := "+8210" + fmt.Sprintf("%08d", len(ext)*1000+f.n)
	f.n++
	c, _, err := f.st.UpsertCustomer(f.ctx, store.Customer{ExternalID: ext, Name: "고객", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now(), Source: "pos"}}})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) program(kind string) store.Program {
	f.t.Helper()
	p, err := programs.Parse(kind, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	raw, _ := json.Marshal(p)
	prog, err := f.st.CreateProgram(f.ctx, kind, kind, raw)
	if err != nil {
		f.t.Fatal(err)
	}
	return prog
}

// buy records a purchase; plan, when given, enrols the customer with it
// (as the API does for second purchase).
func (f *fixture) buy(c store.Customer, at time.Time, plan []store.EnrolmentPlan) (store.Purchase, []store.Enrolment) {
	f.t.Helper()
	f.n++
	p, created, es, err := f.st.RecordPurchase(f.ctx, store.Purchase{ExternalID: fmt.Sprintf("o-%s-%d", c.ExternalID, f.n), CustomerID: c.ID,
		Amount: "10000", Currency: "KRW", Store: "강남점", PurchasedAt: at},
		func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return plan, nil })
	if err != nil || !created {
		f.t.Fatalf("purchase: created=%v %v", created, err)
	}
	return p, es
}

func (f *fixture) gate(a *activities.Activities, prog store.Program, c store.Customer, enrolmentID int64) activities.Gate {
	f.t.Helper()
	g, err := a.CheckGate(f.ctx, prog.ID, c.ID, enrolmentID)
	if err != nil {
		f.t.Fatal(err)
	}
	return g
}

// The database gate knows conversions (issue 6, defect 7): after a
// purchase recorded since the enrolment started, or the redemption of its
// coupon, CheckGate says so, whatever became of the converted signal.
// Purchases before the enrolment, the purchase that enrolled the customer
// and other customers' purchases do not count.
func TestCheckGateSeesConversionsSinceTheEnrolmentStarted(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}

	// Second purchase: the first purchase enrols the customer.
	sp := f.program(programs.KindSecondPurchase)
	buyer := f.customer("buyer")
	other := f.customer("other")
	first, es := f.buy(buyer, time.Now().Add(-time.Hour), []store.EnrolmentPlan{{ProgramID: sp.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("sp/%d", buyer.ID)}})
	if len(es) != 1 || *es[0].PurchaseID != first.ID {
		t.Fatalf("enrolments %+v", es)
	}
	e := es[0]
	if g := f.gate(a, sp, buyer, e.ID); g.Converted() || g.ProgramStatus != store.ProgramActive {
		t.Fatalf("the enrolling purchase converts: %+v", g)
	}
	f.buy(other, time.Now(), nil)
	if g := f.gate(a, sp, buyer, e.ID); g.Converted() {
		t.Fatalf("another customer's purchase converts: %+v", g)
	}
	f.buy(buyer, time.Now(), nil)
	if g := f.gate(a, sp, buyer, e.ID); !g.Purchased || g.Redeemed {
		t.Fatalf("second purchase not seen: %+v", g)
	}
	// Without an enrolment id (a task scheduled by an older worker) the
	// gate answers as before.
	if g := f.gate(a, sp, buyer, 0); g.Converted() {
		t.Fatalf("gate without enrolment: %+v", g)
	}

	// Welcome back: enrolled by a sweep after an old purchase; its coupon
	// is redeemed at the till.
	wb := f.program(programs.KindWelcomeBack)
	lapsed := f.customer("lapsed")
	f.buy(lapsed, time.Now().AddDate(0, 0, -120), nil)
	enrolled, err := f.st.EnrolCustomers(f.ctx, store.EligibleQuery{ProgramID: wb.ID, Now: time.Now()}, 1, []int64{lapsed.ID}, func(c int64) string { return fmt.Sprintf("wb/%d", c) }, nil)
	if err != nil || len(enrolled) != 1 {
		t.Fatalf("enrol: %+v %v", enrolled, err)
	}
	we := enrolled[0]
	if g := f.gate(a, wb, lapsed, we.ID); g.Converted() {
		t.Fatalf("a purchase from before the enrolment converts: %+v", g)
	}
	k, err := f.st.IssueCoupon(f.ctx, store.Coupon{IdempotencyKey: "wb-greeting", ProgramID: &wb.ID, EnrolmentID: &we.ID, CustomerID: lapsed.ID,
		Kind: "amount", Value: "10000", Currency: "KRW", ExpiresAt: time.Now().AddDate(0, 0, 30)})
	if err != nil {
		t.Fatal(err)
	}
	if g := f.gate(a, wb, lapsed, we.ID); g.Converted() {
		t.Fatalf("an unused coupon converts: %+v", g)
	}
	if _, _, err := f.st.RedeemCoupon(f.ctx, k.Code, "pos-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if g := f.gate(a, wb, lapsed, we.ID); !g.Redeemed || g.Purchased {
		t.Fatalf("redemption not seen: %+v", g)
	}
}

// Escalations outlive the enrolment (issue 6, defect 15): the enrolment's
// end cancels its open happy-call tasks, never the store manager's
// escalation.
func TestCancelOpenTasksKeepsEscalations(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}
	hc := f.program(programs.KindHappyCall)
	c := f.customer("complainer")
	p, es := f.buy(c, time.Now(), []store.EnrolmentPlan{{ProgramID: hc.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("hc/%d", c.ID), PerPurchase: true}})
	e := es[0]
	task := func(key, kind string) int64 {
		id, err := f.st.CreateCallTask(f.ctx, store.CallTask{IdempotencyKey: key, Kind: kind, CustomerID: c.ID, EnrolmentID: &e.ID,
			Store: p.Store, AssigneeRole: domain.RoleStaff, DueAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return id.ID
	}
	call := task("call", domain.TaskHappyCall)
	escalation := task("escalation", domain.TaskEscalation)
	n, err := a.CancelOpenTasks(f.ctx, e.ID)
	if err != nil || n != 1 {
		t.Fatalf("cancelled %d, %v; want the call only", n, err)
	}
	for id, want := range map[int64]string{call: domain.TaskCancelled, escalation: domain.TaskOpen} {
		got, err := f.st.CallTask(f.ctx, id)
		if err != nil || got.Status != want {
			t.Fatalf("task %d (%s): %s, %v; want %s", id, got.Kind, got.Status, err, want)
		}
	}
}

// Call consent is checked before a call task is created (defect 12): a
// customer who gave none gets no task; once given, the task is created.
func TestCreateCallTaskNeedsCallConsent(t *testing.T) {
	f := newFixture(t)
	a := &activities.Activities{Store: f.st}
	hc := f.program(programs.KindHappyCall)
	c := f.customer("no-calls") // SMS consent only
	_, es := f.buy(c, time.Now(), []store.EnrolmentPlan{{ProgramID: hc.ID, ProgramVersion: 1, WorkflowID: fmt.Sprintf("hc/%d", c.ID), PerPurchase: true}})
	req := activities.CallTaskRequest{Key: "k:3d:call", Kind: domain.TaskHappyCall, EnrolmentID: es[0].ID, CustomerID: c.ID,
		PurchaseID: *es[0].PurchaseID, ProgramID: hc.ID, ProgramVersion: 1, TouchKey: "3d", DueAt: time.Now()}
	env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
	env.RegisterActivity(a)
	create := func() (int64, error) {
		v, err := env.ExecuteActivity(a.CreateCallTask, req)
		if err != nil {
			return 0, err
		}
		var id int64
		return id, v.Get(&id)
	}
	id, err := create()
	if err != nil || id != 0 {
		t.Fatalf("without call consent: task %d, %v", id, err)
	}
	var n int
	if err := f.st.Pool().QueryRow(f.ctx, `SELECT count(*) FROM call_tasks WHERE customer_id = $1`, c.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d call tasks without consent (%v)", n, err)
	}
	c.Consent[domain.ChannelCall] = store.Consent{Granted: true, At: time.Now(), Source: "pos"}
	if _, _, err := f.st.UpsertCustomer(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	if id, err := create(); err != nil || id == 0 {
		t.Fatalf("with call consent: task %d, %v", id, err)
	}
}
