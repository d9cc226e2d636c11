package store_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/store"
)

// A mail is claimed once per program, period and address (whatever its
// case); only a pending mail may start, once; a settled one stays.
func TestReportMailClaim(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	p, err := d.st.CreateProgram(d.ctx, "p", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s","sms":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	got := make([]store.ReportMail, 8)
	for i := range got {
		wg.Go(func() {
			rcpt := "ops@example.com"
			if i%2 == 1 {
				rcpt = "OPS@example.com"
			}
			m, err := d.st.ClaimReportMail(d.ctx, p.ID, from, to, rcpt)
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		})
	}
	wg.Wait()
	for _, m := range got {
		if m.ID != got[0].ID || m.Status != store.ReportMailPending {
			t.Fatalf("claims %+v, want one pending row", got)
		}
	}
	id := got[0].ID
	if _, err := d.st.MarkReportMailSending(d.ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.st.MarkReportMailSending(d.ctx, id); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second start: %v, want ErrConflict", err)
	}
	if m, err := d.st.MarkReportMailNotSent(d.ctx, id, "451 try later"); err != nil || m.Status != store.ReportMailPending {
		t.Fatalf("not sent: %+v %v", m, err)
	}
	if _, err := d.st.MarkReportMailSending(d.ctx, id); err != nil {
		t.Fatal(err)
	}
	sent, err := d.st.SettleReportMail(d.ctx, id, store.ReportMailSent, "")
	if err != nil || sent.Status != store.ReportMailSent || sent.SentAt == nil || sent.Attempts != 2 || sent.ErrorMessage != nil {
		t.Fatalf("sent: %+v %v", sent, err)
	}
	if _, err := d.st.SettleReportMail(d.ctx, id, store.ReportMailFailed, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("settling a sent mail again: %v, want ErrNotFound", err)
	}
	if _, err := d.st.SettleReportMail(d.ctx, id, store.ReportMailPending, ""); err == nil {
		t.Fatal("pending accepted as a final status")
	}
	again, err := d.st.ClaimReportMail(d.ctx, p.ID, from, to, "ops@example.com")
	if err != nil || again.ID != id || again.Status != store.ReportMailSent {
		t.Fatalf("claim after sending: %+v %v", again, err)
	}
	// Another period is another mail.
	next, err := d.st.ClaimReportMail(d.ctx, p.ID, to, to.AddDate(0, 3, 0), "ops@example.com")
	if err != nil || next.ID == id {
		t.Fatalf("next period: %+v %v", next, err)
	}
	list, err := d.st.ReportMails(d.ctx, p.ID, 10)
	if err != nil || len(list) != 2 || list[0].ID != next.ID {
		t.Fatalf("list %+v %v", list, err)
	}
}

// The programs of a period are those with an enrolment created in it,
// treated or control, in pages by id.
func TestProgramsEnrolledIn(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	c := d.customer("c", cust{})
	var ids []int64
	for range 4 {
		p, err := d.st.CreateProgram(d.ctx, "p", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s","sms":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	from, to := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)
	enrol := func(program int64, at time.Time, control bool) {
		d.exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, control, created_at)
			VALUES ($1, 1, $2, gen_random_uuid()::text, 'ended', $3, $4)`, program, c, control, at)
	}
	enrol(ids[0], from, false)                     // first instant: in
	enrol(ids[1], to.Add(-time.Microsecond), true) // last instant, control: in
	enrol(ids[2], to, false)                       // the next period's
	enrol(ids[3], from.Add(-time.Microsecond), false)
	enrol(ids[3], from.AddDate(0, 1, 0), false)
	got, err := d.st.ProgramsEnrolledIn(d.ctx, from, to, 0, 10)
	if err != nil || !reflect.DeepEqual(got, []int64{ids[0], ids[1], ids[3]}) {
		t.Fatalf("got %v %v, want %v", got, err, []int64{ids[0], ids[1], ids[3]})
	}
	page, err := d.st.ProgramsEnrolledIn(d.ctx, from, to, ids[0], 1)
	if err != nil || !reflect.DeepEqual(page, []int64{ids[1]}) {
		t.Fatalf("page after %d: %v %v", ids[0], page, err)
	}
	if _, err := d.st.ProgramsEnrolledIn(d.ctx, from, to, 0, store.MaxProgramsPage+1); err == nil {
		t.Fatal("an unbounded page was accepted")
	}
}

// Settings stored before the report fields existed read back valid: no
// recipients, quarterly.
func TestSettingsStoredBeforeReportFields(t *testing.T) {
	t.Parallel()
	d := newDB(t)
	d.exec(`INSERT INTO settings (id, doc, updated_by) VALUES (1, $1::jsonb, 'old dangol')`,
		`{"sender_name":"한빛전자","sender_contact":"","opt_out_number":"","default_time_zone":"Asia/Seoul","default_country":"KR",
		  "quiet_hours":{},"frequency_cap":{"max":2,"window_days":7},"reconfirm_every_days":730,"release_spread_minutes":30}`)
	got, err := d.st.Settings(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.SenderName != "한빛전자" || got.ReportEvery != compliance.ReportQuarterly || got.ReportRecipients == nil || len(got.ReportRecipients) != 0 {
		t.Fatalf("read %+v, want the stored settings with the report defaults", got)
	}
}
