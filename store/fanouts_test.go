package store_test

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/store"
)

// A page whose first attempt signalled enrolments that then ended (a stop
// ends them) is retried from the same cursor: the retry still reaches
// those enrolments, so the fan-out's signalled + ended adds up to its
// total and nobody is counted out.
func TestFanOutRetriedPageKeepsEnrolmentsThatEndedMeanwhile(t *testing.T) {
	d := newDB(t)
	var prog int64
	if err := d.sql.QueryRow(d.ctx, `INSERT INTO programs (name, kind, params) VALUES ('컴백', 'welcome_back', '{}') RETURNING id`).Scan(&prog); err != nil {
		t.Fatal(err)
	}
	// One enrolment that had ended before the fan-out: never part of it.
	d.exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, ended_at)
		VALUES ($1, 1, $2, 'old', 'ended', 'stopped', now() - interval '1 day')`, prog, d.customer("old", cust{}))
	for i := range 5 {
		c := d.customer(fmt.Sprintf("live-%d", i), cust{})
		d.exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status) VALUES ($1, 1, $2, $3, 'active')`,
			prog, c, fmt.Sprintf("live-%d", i))
	}
	f, err := d.st.CreateFanOut(d.ctx, store.FanOutScope{ProgramID: prog}, "stop", nil)
	if err != nil || f.Total != 5 {
		t.Fatalf("create: %+v %v", f, err)
	}
	_, page, _, err := d.st.FanOutPage(d.ctx, f.ID, 3)
	if err != nil || len(page) != 3 {
		t.Fatalf("first attempt: %d targets, %v", len(page), err)
	}
	// The first attempt's signals ended two of its enrolments, then it
	// failed before recording progress.
	d.exec(`UPDATE enrolments SET status = 'ended', outcome = 'stopped', ended_at = now() WHERE workflow_id IN ('live-0', 'live-2')`)
	_, retry, _, err := d.st.FanOutPage(d.ctx, f.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(retry) != 3 || retry[0].WorkflowID != "live-0" || retry[2].WorkflowID != "live-2" {
		t.Fatalf("retried page %+v, want live-0..live-2 again", retry)
	}
	if _, err := d.st.AdvanceFanOut(d.ctx, f.ID, retry[2].EnrolmentID, 1, 2, false); err != nil {
		t.Fatal(err)
	}
	_, rest, _, err := d.st.FanOutPage(d.ctx, f.ID, 3)
	if err != nil || len(rest) != 2 {
		t.Fatalf("last page %+v %v, want live-3 and live-4", rest, err)
	}
	for _, t2 := range rest {
		if t2.WorkflowID == "old" {
			t.Fatal("an enrolment that ended before the fan-out is in it")
		}
	}
}
