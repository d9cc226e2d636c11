package activities_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

// A provider answer that repeats a SID another message already has used to
// hit the unique constraint on every retry and keep the message "sending"
// (and its enrolment waiting) for a day. It is now final at once, with
// the reason.
func TestRepeatedProviderSidEndsFailedWithReason(t *testing.T) {
	r := newRig(t)
	first := r.customer("c-1", "+821055550001", "a@example.com")
	second := r.customer("c-2", "+821055550002", "b@example.com")
	res1, err := r.acts.SendMessage(r.ctx, r.request("k1", domain.ChannelSMS, first))
	if err != nil || res1.Status != domain.MessageQueued {
		t.Fatalf("first: %+v %v", res1, err)
	}
	r.standin.RepeatLastSid(1)
	res2, err := r.acts.SendMessage(r.ctx, r.request("k2", domain.ChannelSMS, second))
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	m := r.message("k2")
	want := fmt.Sprintf("provider returned a SID already used by message %d", res1.MessageID)
	if m.Status != domain.MessageFailed || m.ErrorMessage == nil || *m.ErrorMessage != want ||
		*m.ErrorCode != store.CodeDuplicateProviderID || m.ProviderID != nil || res2.Status != domain.MessageFailed {
		t.Fatalf("second message %s code %v reason %v provider %v (result %+v); want failed: %q", m.Status, deref(m.ErrorCode), deref(m.ErrorMessage), m.ProviderID, res2, want)
	}
	// A retry of the activity does not send it again.
	if _, err := r.acts.SendMessage(r.ctx, r.request("k2", domain.ChannelSMS, second)); err != nil {
		t.Fatal(err)
	}
	if got := r.standin.Messages(); len(got) != 1 {
		t.Fatalf("stand-in holds %d messages, want the first only", len(got))
	}
	// The first message is untouched and still gets its callbacks.
	eventually(t, "first delivered", func() bool { return r.message("k1").Status == domain.MessageDelivered })
}

// A 4xx whose body is not Twilio's error JSON is recorded with its HTTP
// status and the provider's words, not as code 0 without a reason.
func TestProviderRefusalKeepsStatusAndReason(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-1", "+821055550001", "a@example.com")
	r.standin.FailNextBody(1, http.StatusUnprocessableEntity, "application/json",
		`{"status":422,"detail":"Unable to create record: +821055550001 is not reachable"}`)
	_, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c))
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		t.Fatalf("err = %v, want non-retryable", err)
	}
	if strings.Contains(err.Error(), "+821055550001") {
		t.Fatalf("the number reaches the workflow history: %v", err)
	}
	m := r.message("k")
	if m.Status != domain.MessageFailed || deref(m.ErrorCode) != "http_422" ||
		!strings.Contains(deref(m.ErrorMessage), "Unable to create record") || strings.Contains(deref(m.ErrorMessage), "+821055550001") {
		t.Fatalf("recorded %s code %q reason %q", m.Status, deref(m.ErrorCode), deref(m.ErrorMessage))
	}
}

// forgetful reaches the provider and then fails, as a worker that dies
// after Twilio accepted an SMS and before recording its SID. It counts the
// fallback lookups.
type forgetful struct {
	sms.Sender
	forget atomic.Int32
	finds  atomic.Int32
}

func (f *forgetful) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	r, err := f.Sender.Send(ctx, m)
	if err == nil && f.forget.Add(-1) >= 0 {
		return sms.Receipt{}, errors.New("worker died before recording the SID")
	}
	return r, err
}

func (f *forgetful) Find(ctx context.Context, to, body string, since time.Time) (sms.Receipt, bool, error) {
	f.finds.Add(1)
	return f.Sender.Find(ctx, to, body, since)
}

// The status callback names its message, so it gives a message whose SID
// was never recorded that SID; the retry then sends nothing and asks the
// provider nothing.
func TestStatusCallbackAdoptsProviderSidByMessageID(t *testing.T) {
	r := newRig(t)
	f := &forgetful{Sender: r.sms}
	f.forget.Store(1)
	r.acts.SMS = f
	c := r.customer("c-1", "+821055550001", "a@example.com")
	if _, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c)); err == nil {
		t.Fatal("the forgetful attempt succeeded")
	}
	sent := r.standin.Messages()
	if len(sent) != 1 || !strings.Contains(sent[0].StatusCallback, fmt.Sprintf("?m=%d", r.message("k").ID)) {
		t.Fatalf("stand-in got %+v, want one message whose callback URL names message %d", sent, r.message("k").ID)
	}
	eventually(t, "the callback to adopt the SID", func() bool { m := r.message("k"); return m.ProviderID != nil })
	m := r.message("k")
	if *m.ProviderID != sent[0].Sid || (m.Status != domain.MessageSent && m.Status != domain.MessageDelivered) {
		t.Fatalf("message %s with provider id %s, want the stand-in's %s", m.Status, *m.ProviderID, sent[0].Sid)
	}
	res, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c))
	if err != nil || res.MessageID != m.ID {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n := len(r.standin.Messages()); n != 1 || f.finds.Load() != 0 {
		t.Fatalf("after the retry the stand-in holds %d messages and Find ran %d times; want 1 and 0", n, f.finds.Load())
	}
	eventually(t, "delivered", func() bool { return r.message("k").Status == domain.MessageDelivered })
}

// budgetWorkflow sends one message with a small retry budget.
func budgetWorkflow(ctx workflow.Context, req activities.SendRequest) (activities.SendResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: 4 * time.Second,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 300 * time.Millisecond, BackoffCoefficient: 1},
	})
	var res activities.SendResult
	err := workflow.ExecuteActivity(ctx, "SendMessage", req).Get(ctx, &res)
	return res, err
}

// A provider that fails every attempt: when the retry budget runs out the
// message ends failed with the provider's reason, instead of staying
// "sending" after its enrolment moved on.
func TestRetryBudgetEndsMessageFailed(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-1", "+821055550001", "a@example.com")
	r.standin.FailNext(1000, http.StatusServiceUnavailable, 20503, "Service Unavailable")
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	queue := fmt.Sprintf("send-budget-%d", time.Now().UnixNano())
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflow(budgetWorkflow)
	w.RegisterActivity(r.acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	run, err := tc.ExecuteWorkflow(r.ctx, client.StartWorkflowOptions{TaskQueue: queue, ID: queue}, budgetWorkflow, r.request("k", domain.ChannelSMS, c))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	var res activities.SendResult
	err = run.Get(ctx, &res)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrTypeRetryBudget {
		t.Fatalf("workflow error %v, want %s", err, activities.ErrTypeRetryBudget)
	}
	m := r.message("k")
	if m.Status != domain.MessageFailed || deref(m.ErrorCode) != store.CodeRetryBudget || !strings.Contains(deref(m.ErrorMessage), "Service Unavailable") || m.Attempts < 3 {
		t.Fatalf("message %s code %q reason %q after %d attempts; want failed with the provider's reason", m.Status, deref(m.ErrorCode), deref(m.ErrorMessage), m.Attempts)
	}
	if n := len(r.standin.Messages()); n != 0 {
		t.Fatalf("stand-in accepted %d messages", n)
	}
}

// The relay reads the whole mail and the connection drops before its
// answer: the mail is recorded ambiguous, shown as such, and a retry does
// not send it again. Counted at the relay: one mail, not two.
func TestMailWithLostAnswerIsAmbiguousAndNotResent(t *testing.T) {
	r := newRig(t)
	relay := startRelay(t, relayDrop)
	r.acts.Mail = r.mailer(relay.port)
	c := r.customer("c-1", "+821055550001", "minsu@example.com")
	res, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c))
	if err != nil || res.Status != domain.MessageAmbiguous || res.Reason == "" {
		t.Fatalf("first attempt: %+v %v; want ambiguous with a reason", res, err)
	}
	relay.mode.Store(int32(relayAccept))
	for range 3 {
		res, err = r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c))
		if err != nil || res.Status != domain.MessageAmbiguous {
			t.Fatalf("retry: %+v %v", res, err)
		}
	}
	if n := relay.received.Load(); n != 1 {
		t.Fatalf("relay received %d mails, want 1", n)
	}
	m := r.message("k")
	if m.Status != domain.MessageAmbiguous || deref(m.ErrorCode) != store.CodeOutcomeUnknown || m.Attempts != 1 || strings.Contains(deref(m.ErrorMessage), "minsu@example.com") {
		t.Fatalf("message %s code %q reason %q attempts %d", m.Status, deref(m.ErrorCode), deref(m.ErrorMessage), m.Attempts)
	}
}

// crashingMailer delivers the mail and then dies, as a worker killed
// after the relay took a mail and before the answer was recorded: it
// panics, so no code of the attempt runs after the relay's answer.
type crashingMailer struct {
	mail.Sender
	crashes atomic.Int32
}

type killed struct{}

func (c *crashingMailer) Send(ctx context.Context, m mail.Message) error {
	err := c.Sender.Send(ctx, m)
	if err == nil && c.crashes.Add(-1) >= 0 {
		panic(killed{})
	}
	return err
}

// attemptDies runs f and reports whether it died (see crashingMailer).
func attemptDies(f func()) (died bool) {
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(killed); !ok {
				panic(p)
			}
			died = true
		}
	}()
	f()
	return false
}

// The fault run's duplicate: the retry after a crash resent a mail the
// relay had taken. The retry now finds the mail past the end of data and
// records it ambiguous instead.
func TestMailAfterCrashPastEndOfDataIsNotResent(t *testing.T) {
	r := newRig(t)
	relay := startRelay(t, relayAccept)
	crash := &crashingMailer{Sender: r.mailer(relay.port)}
	crash.crashes.Store(1)
	r.acts.Mail = crash
	c := r.customer("c-1", "+821055550001", "minsu@example.com")
	if !attemptDies(func() { _, _ = r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c)) }) {
		t.Fatal("the crashing attempt survived")
	}
	res, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c))
	if err != nil || res.Status != domain.MessageAmbiguous {
		t.Fatalf("retry: %+v %v; want ambiguous", res, err)
	}
	if n := relay.received.Load(); n != 1 {
		t.Fatalf("relay received %d mails, want 1", n)
	}
	var statuses []string
	for _, e := range r.events(res.MessageID) {
		statuses = append(statuses, e.Status)
	}
	if got := strings.Join(statuses, ","); got != "pending,sending,ambiguous" {
		t.Fatalf("events %s, want pending,sending,ambiguous", got)
	}
}

// A relay that refuses at the end of data did not take the mail: the
// message goes back to pending and the retry delivers it, once.
func TestMailRefusedAtEndOfDataIsRetried(t *testing.T) {
	r := newRig(t)
	relay := startRelay(t, relayRefuse4)
	r.acts.Mail = r.mailer(relay.port)
	c := r.customer("c-1", "+821055550001", "minsu@example.com")
	if _, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c)); err == nil {
		t.Fatal("451 at the end of data succeeded")
	}
	if m := r.message("k"); m.Status != domain.MessagePending {
		t.Fatalf("after a 451: %s, want pending", m.Status)
	}
	relay.mode.Store(int32(relayAccept))
	res, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c))
	if err != nil || res.Status != domain.MessageSent {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n := relay.received.Load(); n != 1 {
		t.Fatalf("relay received %d mails, want 1", n)
	}
	if m := r.message("k"); m.Attempts != 2 || deref(m.ProviderID) != fmt.Sprintf("<msg-%d@dangol>", m.ID) {
		t.Fatalf("attempts %d provider id %q", m.Attempts, deref(m.ProviderID))
	}
}

// Two attempts of one mail at once (a retry started while a slow attempt
// still runs): only one gets past the end of data.
func TestConcurrentMailAttemptsSendOnce(t *testing.T) {
	r := newRig(t)
	relay := startRelay(t, relayAccept)
	r.acts.Mail = r.mailer(relay.port)
	c := r.customer("c-1", "+821055550001", "minsu@example.com")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			_, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelEmail, c))
			errs <- err
		}()
	}
	for range 4 {
		<-errs
	}
	if n := relay.received.Load(); n != 1 {
		t.Fatalf("relay received %d mails, want 1", n)
	}
	if m := r.message("k"); m.Status != domain.MessageSent {
		t.Fatalf("message %s, want sent", m.Status)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Issue 8: a provider's error text names the number in forms other than
// E.164 (without '+', nationally with the trunk 0); none of them reaches
// the workflow history, the message row or its events.
func TestProviderErrorTextIsRedactedInEveryPhoneForm(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-1", "+821055550001", "a@example.com")
	r.standin.FailNextBody(1, http.StatusUnprocessableEntity, "application/json",
		`{"status":422,"detail":"Unable to create record: 821055550001 (01055550001) is not reachable"}`)
	_, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c))
	if err == nil {
		t.Fatal("sent")
	}
	m := r.message("k")
	texts := []string{err.Error(), deref(m.ErrorMessage)}
	for _, e := range r.events(m.ID) {
		for _, v := range e.Detail {
			texts = append(texts, v)
		}
	}
	for _, text := range texts {
		if strings.Contains(text, "1055550001") {
			t.Fatalf("the number is kept: %q", text)
		}
	}
	if !strings.Contains(deref(m.ErrorMessage), "Unable to create record: [recipient] ([recipient])") {
		t.Fatalf("reason %q", deref(m.ErrorMessage))
	}
}

// Issue 8: an enrolment that wakes after its customer was erased does not
// fail: the gate says erased (the workflow ends), and the send path
// suppresses the message without writing a row or calling the provider.
func TestErasedCustomerIsGatedAndSentNothing(t *testing.T) {
	r := newRig(t)
	c := r.customer("c-1", "+821055550001", "a@example.com")
	if _, err := r.st.EraseCustomer(r.ctx, "c-1", "test", "control", nil); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{domain.ChannelSMS, domain.ChannelEmail} {
		res, err := r.acts.SendMessage(r.ctx, r.request("k-"+ch, ch, c))
		if err != nil || res.Status != domain.MessageSuppressed || res.Reason != store.ErasedMarker {
			t.Fatalf("%s: %+v %v", ch, res, err)
		}
		if _, err := r.st.MessageByKey(r.ctx, "k-"+ch); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: a message row was written for an erased customer: %v", ch, err)
		}
	}
	if n := len(r.standin.Messages()); n != 0 {
		t.Fatalf("%d SMS reached the provider", n)
	}
	g, err := r.acts.CheckGate(r.ctx, r.programID, c, 0)
	if err != nil || !g.Erased {
		t.Fatalf("gate %+v %v", g, err)
	}
}

// A 429 with Retry-After comes back to Temporal as a retryable error whose
// NextRetryDelay is the provider's wait, so the next attempt does not
// arrive early on Temporal's own backoff (1 s, 2 s, ...) only to be refused
// again; the retry that comes during the wait (the sender holds it back and
// the message, already sending, is looked up first) asks for the rest of
// it. The number stays out of the error.
func TestRetryAfterBecomesNextRetryDelay(t *testing.T) {
	r := newRig(t)
	const phone = "+821055550001"
	c := r.customer("c-1", phone, "a@example.com")
	if err := r.standin.SetOutage(twiliostandin.Outage{Mode: twiliostandin.Outage429, For: time.Minute, RetryAfter: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ min, max time.Duration }{{3 * time.Second, 3 * time.Second}, {2 * time.Second, 3 * time.Second}} {
		_, err := r.acts.SendMessage(r.ctx, r.request("k", domain.ChannelSMS, c))
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != activities.ErrTypeProviderBusy {
			t.Fatalf("attempt %d: err = %v, want a retryable %s", i+1, err, activities.ErrTypeProviderBusy)
		}
		if d := appErr.NextRetryDelay(); d < want.min || d > want.max {
			t.Fatalf("attempt %d: NextRetryDelay %s, want %s to %s (the Retry-After)", i+1, d, want.min, want.max)
		}
		if strings.Contains(err.Error(), phone) {
			t.Fatalf("attempt %d: the number reaches the workflow history: %v", i+1, err)
		}
	}
	if got := r.standin.Outages(); got.Answered429 != 1 || got.EarlyRetries != 0 || len(r.standin.Messages()) != 0 {
		t.Fatalf("stand-in: %+v; want one 429 and nothing sent", got)
	}
}
