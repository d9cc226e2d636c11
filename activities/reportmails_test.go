package activities_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// reportRig is the rig with two report recipients and one enrolment of
// its program in [from, to).
func reportRig(t *testing.T) (r *rig, req activities.ReportMailRequest) {
	t.Helper()
	r = newRig(t)
	set := testenv.AnyHourSettings()
	set.ReportRecipients = []string{"ops@dangol.example.com", "ceo@dangol.example.com"}
	testenv.PutSettings(t, r.st, set)
	from := time.Now().Add(-time.Minute)
	c := r.customer("c-1", "+821055550001", "minsu@example.com")
	_, _, es, err := r.st.RecordPurchase(r.ctx, store.Purchase{ExternalID: "p-1", CustomerID: c, Amount: "1000", Currency: "KRW",
		Store: "강남점", PurchasedAt: time.Now()}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) {
		return []store.EnrolmentPlan{{ProgramID: r.programID, ProgramVersion: 1, WorkflowID: "report-e1", PerPurchase: true}}, nil
	})
	if err != nil || len(es) != 1 {
		t.Fatalf("enrol: %v %v", es, err)
	}
	return r, activities.ReportMailRequest{ProgramID: r.programID, From: from, To: time.Now().Add(time.Minute)}
}

func (r *rig) reportMailStatuses() map[string]string {
	r.t.Helper()
	ms, err := r.st.ReportMails(r.ctx, r.programID, 10)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Recipient] = m.Status
	}
	return out
}

// A relay that refuses for now (451) takes nothing: the activity fails,
// both mails stay pending, and the retry sends each once; a third call
// sends nothing.
func TestReportMailRefusedThenSent(t *testing.T) {
	r, req := reportRig(t)
	relay := startRelay(t, relayRefuse4)
	r.acts.Mail = r.mailer(relay.port)
	if res, err := r.acts.MailProgramReport(r.ctx, req); err == nil || res.Sent != 0 {
		t.Fatalf("refused: %+v %v, want an error and nothing sent", res, err)
	}
	for rcpt, st := range r.reportMailStatuses() {
		if st != store.ReportMailPending {
			t.Fatalf("%s: %s after a refusal, want pending", rcpt, st)
		}
	}
	relay.mode.Store(int32(relayAccept))
	if res, err := r.acts.MailProgramReport(r.ctx, req); err != nil || res.Sent != 2 {
		t.Fatalf("retry: %+v %v, want 2 sent", res, err)
	}
	if res, err := r.acts.MailProgramReport(r.ctx, req); err != nil || res.Sent != 0 || res.Before != 2 {
		t.Fatalf("again: %+v %v, want nothing sent", res, err)
	}
	if n := relay.received.Load(); n != 2 {
		t.Fatalf("relay took %d mails, want 2", n)
	}
}

// A mail whose end of data got no answer may have been delivered: it is
// recorded ambiguous and never sent again; so is one an attempt left
// "sending" (a crash right before the end of data).
func TestReportMailAtMostOnceAfterTheEndOfData(t *testing.T) {
	r, req := reportRig(t)
	relay := startRelay(t, relayDrop)
	r.acts.Mail = r.mailer(relay.port)
	res, err := r.acts.MailProgramReport(r.ctx, req)
	if err != nil || res.Ambiguous != 2 {
		t.Fatalf("dropped: %+v %v, want 2 ambiguous", res, err)
	}
	relay.mode.Store(int32(relayAccept))
	if res, err := r.acts.MailProgramReport(r.ctx, req); err != nil || res.Sent != 0 || res.Before != 2 {
		t.Fatalf("again: %+v %v, want nothing sent", res, err)
	}
	if n := relay.received.Load(); n != 2 {
		t.Fatalf("relay read %d mails, want 2 (one each, never again)", n)
	}

	// A crash between "sending" and the relay's answer.
	next := req
	next.From, next.To = req.To, req.To.Add(time.Hour)
	if _, err := r.st.ClaimReportMail(r.ctx, r.programID, next.From, next.To, "ops@dangol.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Pool().Exec(r.ctx, `UPDATE report_mails SET status = 'sending' WHERE period_from = $1`, next.From); err != nil {
		t.Fatal(err)
	}
	res, err = r.acts.MailProgramReport(r.ctx, next)
	if err != nil || res.Ambiguous != 1 || res.Sent != 1 {
		t.Fatalf("after a crash: %+v %v, want the sending one ambiguous, the other sent", res, err)
	}
	if n := relay.received.Load(); n != 3 {
		t.Fatalf("relay read %d mails, want 3", n)
	}
}

// No recipients, no mails and no rows.
func TestReportMailWithoutRecipients(t *testing.T) {
	r, req := reportRig(t)
	testenv.PutSettings(t, r.st, testenv.AnyHourSettings())
	relay := startRelay(t, relayAccept)
	r.acts.Mail = r.mailer(relay.port)
	if res, err := r.acts.MailProgramReport(r.ctx, req); err != nil || res != (activities.ReportMailResult{}) {
		t.Fatalf("%+v %v", res, err)
	}
	if len(r.reportMailStatuses()) != 0 || relay.received.Load() != 0 {
		t.Fatal("mailed without recipients")
	}
}
