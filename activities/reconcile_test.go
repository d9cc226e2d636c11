package activities_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// The job takes a bounded batch, oldest first; the next run takes the
// rest, and a run with nothing left to ask asks nothing.
func TestReconcileTakesBoundedBatchesOldestFirst(t *testing.T) {
	r := newRig(t)
	r.standin.SetCallbacks(false)
	var ids []int64
	for i, phone := range []string{"+821055550001", "+821055550002", "+821055550003"} {
		c := r.customer(phone, phone, "")
		res, err := r.acts.SendMessage(r.ctx, r.request("k"+phone, domain.ChannelSMS, c))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.MessageID)
		// The last one sent is the one quiet the longest.
		if _, err := r.st.Pool().Exec(r.ctx, `UPDATE messages SET updated_at = now() - make_interval(mins => $2) WHERE id = $1`, res.MessageID, 10+10*i); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "delivered at the provider", func() bool {
		for _, m := range r.standin.Messages() {
			if m.Status != "delivered" {
				return false
			}
		}
		return true
	})
	req := activities.ReconcileRequest{QuietFor: time.Minute, Limit: 2}
	res, err := r.acts.ReconcileMessages(r.ctx, req)
	if err != nil || res.Checked != 2 || res.Updated != 2 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	status := func(id int64) string {
		m, err := r.st.MessageByID(r.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}
	if status(ids[2]) != domain.MessageDelivered || status(ids[1]) != domain.MessageDelivered || status(ids[0]) != domain.MessageQueued {
		t.Fatalf("after the first run: %s %s %s, want the two oldest delivered", status(ids[0]), status(ids[1]), status(ids[2]))
	}
	if res, err = r.acts.ReconcileMessages(r.ctx, req); err != nil || res.Checked != 1 || status(ids[0]) != domain.MessageDelivered {
		t.Fatalf("second run: %+v %v", res, err)
	}
	if res, err = r.acts.ReconcileMessages(r.ctx, req); err != nil || res.Checked != 0 {
		t.Fatalf("third run: %+v %v", res, err)
	}
}

// Messages whose sending stopped without an answer (the worker died in
// the last attempt) are settled once past any retry budget: an SMS the
// provider has takes its SID, one it does not have fails, a mail past the
// end of data is ambiguous, a mail never started fails. A message still
// within its budget is left alone.
func TestReconcileSettlesMessagesPastTheirBudget(t *testing.T) {
	r := newRig(t)
	r.standin.SetCallbacks(false)
	f := &forgetful{Sender: r.sms}
	f.forget.Store(1)
	r.acts.SMS = f
	atProvider := r.customer("c-1", "+821055550001", "a@example.com")
	if _, err := r.acts.SendMessage(r.ctx, r.request("sms-at-provider", domain.ChannelSMS, atProvider)); err == nil {
		t.Fatal("the forgetful attempt succeeded")
	}
	claim := func(key, channel string, customer int64, recipient string) store.Message {
		m, err := r.st.ClaimMessage(r.ctx, store.Message{IdempotencyKey: key, CustomerID: customer, Channel: channel, Recipient: recipient, Body: "본문"})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	other := r.customer("c-2", "+821055550002", "b@example.com")
	lost := claim("sms-lost", domain.ChannelSMS, other, "+821055550002")
	if _, err := r.st.MarkSending(r.ctx, lost.ID); err != nil {
		t.Fatal(err)
	}
	mailDATA := claim("mail-data", domain.ChannelEmail, other, "b@example.com")
	if _, err := r.st.MarkSendingOnce(r.ctx, mailDATA.ID); err != nil {
		t.Fatal(err)
	}
	claim("mail-pending", domain.ChannelEmail, other, "b@example.com")
	fresh := claim("sms-fresh", domain.ChannelSMS, other, "+821055550002")
	if _, err := r.st.MarkSending(r.ctx, fresh.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Pool().Exec(r.ctx, `UPDATE messages SET created_at = now() - interval '26 hours' WHERE idempotency_key <> 'sms-fresh'`); err != nil {
		t.Fatal(err)
	}

	res, err := r.acts.ReconcileMessages(r.ctx, activities.ReconcileRequest{StuckAfter: 25 * time.Hour})
	if err != nil || res.Settled != 4 || res.Errors != 0 {
		t.Fatalf("run: %+v %v", res, err)
	}
	for key, want := range map[string]string{"sms-lost": store.CodeRetryBudget, "mail-data": store.CodeOutcomeUnknown, "mail-pending": store.CodeRetryBudget} {
		m := r.message(key)
		wantStatus := domain.MessageFailed
		if key == "mail-data" {
			wantStatus = domain.MessageAmbiguous
		}
		if m.Status != wantStatus || deref(m.ErrorCode) != want {
			t.Errorf("%s: %s %q, want %s %q", key, m.Status, deref(m.ErrorCode), wantStatus, want)
		}
	}
	m := r.message("sms-at-provider")
	sent := r.standin.Messages()
	if len(sent) != 1 || m.ProviderID == nil || *m.ProviderID != sent[0].Sid || m.Status == domain.MessageFailed || m.Status == domain.MessageSending {
		t.Fatalf("sms at the provider: %s %v; provider has %+v", m.Status, m.ProviderID, sent)
	}
	if m := r.message("sms-fresh"); m.Status != domain.MessageSending {
		t.Fatalf("a message within its budget was settled: %s", m.Status)
	}
}
