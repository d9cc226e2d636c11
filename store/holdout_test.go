package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// EnrolCustomers writes the held-out customers as ended control
// enrolments (started and ended at enrolment) and the others pending; a
// second call over the same customers within the cooldown adds none, and
// neither does a call whose eligibility was read before the first one's
// rows existed (the re-check under the program's lock).
func TestEnrolCustomersControl(t *testing.T) {
	d := newDB(t)
	var program int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('컴백', 'welcome_back', '{}') RETURNING id`).Scan(&program); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 10 {
		ids = append(ids, d.customer(fmt.Sprintf("c-%d", i), cust{consent: []string{"sms"}}))
	}
	held := func(c int64) bool { return c%3 == 0 }
	wf := func(c int64) string { return fmt.Sprintf("wb/%d/%d", program, c) }
	before := time.Now()
	q := store.EligibleQuery{ProgramID: program, Now: before, CooldownDays: 30}
	got, err := d.st.EnrolCustomers(d.ctx, q, 1, ids, wf, held)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d enrolments, want %d", len(got), len(ids))
	}
	for _, e := range got {
		if held(e.CustomerID) {
			if !e.Control || e.Status != domain.EnrolmentEnded || e.Outcome == nil || *e.Outcome != store.OutcomeControl ||
				e.StartedAt == nil || e.EndedAt == nil || !e.StartedAt.Equal(e.CreatedAt) || !e.EndedAt.Equal(e.CreatedAt) {
				t.Fatalf("held-out enrolment %+v", e)
			}
		} else if e.Control || e.Status != domain.EnrolmentPending || e.Outcome != nil {
			t.Fatalf("treated enrolment %+v", e)
		}
	}
	pending, err := d.st.PendingEnrolments(d.ctx, program, 0, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pending {
		if held(p.CustomerID) {
			t.Fatalf("control customer %d is pending a start", p.CustomerID)
		}
	}
	// The same page again (a retry, or a sweep that read eligibility
	// before these rows were committed): nobody is enrolled twice, control
	// rows included, though the live index does not cover them.
	again, err := d.st.EnrolCustomers(d.ctx, q, 1, ids, wf, held)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second enrolment of the same page wrote %+v", again)
	}
	// After the cooldown a control customer may enter again; a treated
	// one still running may not.
	var control, treated int64
	for _, c := range ids {
		if held(c) {
			control = c
		} else {
			treated = c
		}
	}
	if control == 0 || treated == 0 {
		t.Fatalf("ids %v: no control or no treated customer", ids)
	}
	later := store.EligibleQuery{ProgramID: program, Now: before.Add(31 * 24 * time.Hour), CooldownDays: 30}
	if re, err := d.st.EnrolCustomers(d.ctx, later, 1, []int64{control, treated}, wf, held); err != nil || len(re) != 1 || re[0].CustomerID != control || !re[0].Control {
		t.Fatalf("after the cooldown: %+v, %v (want the control customer %d only; %d is still live)", re, err, control, treated)
	}
	var rows int
	if err := d.sql.QueryRow(d.ctx, `SELECT count(*) FROM enrolments WHERE program_id = $1`, program).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ids)+1 {
		t.Fatalf("%d enrolment rows, want %d", rows, len(ids)+1)
	}
}
