package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/store"
)

// An enrolment's store is pinned when it is made (migration 013): a
// segment program's from the customer's latest purchase at or before
// enrolment, an event program's from the purchase that made it, ” for a
// customer who never bought; a later purchase elsewhere moves neither.
func TestEnrolmentStorePinned(t *testing.T) {
	d := newDB(t)
	var segment, event int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('컴백', 'welcome_back', '{}') RETURNING id`).Scan(&segment); err != nil {
		t.Fatal(err)
	}
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('해피콜', 'happy_call', '{}') RETURNING id`).Scan(&event); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d.customer("lapsed", cust{})
	d.buy("lapsed", "1000", "홍대점", "", now.AddDate(0, 0, -60))
	d.buy("lapsed", "1000", "강남점", "", now.AddDate(0, 0, -30))
	// Bought "in the future" (a POS clock ahead): not at or before enrolment.
	d.buy("lapsed", "1000", "미래점", "", now.Add(time.Hour))
	d.customer("never", cust{})

	wf := func(c int64) string { return fmt.Sprintf("wb/%d/%d", segment, c) }
	got, err := d.st.EnrolCustomers(d.ctx, store.EligibleQuery{ProgramID: segment, Now: now, CooldownDays: 30}, 1,
		d.idsOf("lapsed", "never"), wf, nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("enrol: %v, %d enrolments", err, len(got))
	}
	storeOf := func(enrolmentID int64) string {
		t.Helper()
		var s string
		if err := d.sql.QueryRow(d.ctx, `SELECT store FROM enrolments WHERE id = $1`, enrolmentID).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := map[int64]string{d.ids["lapsed"]: "강남점", d.ids["never"]: ""}
	for _, e := range got {
		if s := storeOf(e.ID); s != want[e.CustomerID] {
			t.Errorf("customer %d enrolled in store %q, want %q", e.CustomerID, s, want[e.CustomerID])
		}
	}

	// An event program's enrolment: the store of the purchase that made it,
	// though a later one at the same instant is elsewhere.
	purchaseN++
	at := now.Add(-time.Minute)
	_, _, made, err := d.st.RecordPurchase(d.ctx, store.Purchase{
		ExternalID: fmt.Sprintf("p-%d", purchaseN), CustomerID: d.ids["never"], Amount: "500", Currency: "KRW", Store: "부산점", PurchasedAt: at,
	}, func(p store.Purchase, _ int) ([]store.EnrolmentPlan, error) {
		return []store.EnrolmentPlan{{ProgramID: event, ProgramVersion: 1, WorkflowID: fmt.Sprintf("hc/%d", p.ID), PerPurchase: true}}, nil
	})
	if err != nil || len(made) != 1 {
		t.Fatalf("purchase: %v, %d enrolments", err, len(made))
	}
	d.buy("never", "500", "대구점", "", at)
	if s := storeOf(made[0].ID); s != "부산점" {
		t.Errorf("event enrolment in store %q, want the purchase's 부산점", s)
	}
	// Later purchases elsewhere move no enrolment.
	d.buy("lapsed", "1000", "대구점", "", now.Add(-time.Second))
	for _, e := range got {
		if s := storeOf(e.ID); s != want[e.CustomerID] {
			t.Errorf("after a later purchase, customer %d is in store %q, want %q", e.CustomerID, s, want[e.CustomerID])
		}
	}
	// A writer that knows the store keeps it.
	var id int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, store)
		VALUES ($1, 1, $2, 'given', 'ended', '제주점') RETURNING id`, segment, d.ids["lapsed"]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if s := storeOf(id); s != "제주점" {
		t.Errorf("given store became %q", s)
	}
}
