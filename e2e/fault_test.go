package e2e

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/store"
)

func smsOnlyParams(offsets ...string) map[string]any {
	var touches []map[string]any
	for i, off := range offsets {
		touches = append(touches, map[string]any{"key": off, "offset": off, "sms": "{{.Name}}님, 안내 " + string(rune('A'+i))})
	}
	return map[string]any{"touches": touches}
}

// The provider fails the first send with a 500 and the worker is
// restarted in the middle of the sequence: every planned SMS arrives, each
// exactly once.
func TestSMSExactlyOnceThroughProviderErrorAndWorkerRestart(t *testing.T) {
	s := newStack(t)
	const phone = "+821055550001"
	s.putCustomer("c-fault", phone, "")
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "faults", "kind": "happy_call", "params": smsOnlyParams("2s", "6s", "9s")}, nil)
	s.standin.FailNext(1, http.StatusInternalServerError, 20500, "Internal Server Error")
	s.startWorker()
	s.postPurchase("o-fault", "c-fault", "가전", time.Now(), http.StatusCreated)

	eventually(t, 20*time.Second, "first SMS after the 500", func() bool { return len(s.smsTo(phone)) == 1 })
	s.stopWorker() // the worker dies between touches...
	time.Sleep(5 * time.Second)
	if n := len(s.smsTo(phone)); n != 1 {
		t.Fatalf("%d SMS sent with no worker running", n)
	}
	s.startWorker() // ...and a new one picks the sequence up.
	eventually(t, 30*time.Second, "all three SMS", func() bool { return len(s.smsTo(phone)) >= 3 })
	time.Sleep(2 * time.Second) // room for a duplicate to show up
	got := s.smsTo(phone)
	want := []string{"김민수님, 안내 A", "김민수님, 안내 B", "김민수님, 안내 C"}
	if !slices.Equal(got, want) {
		t.Fatalf("stand-in received %q, want each of %q once", got, want)
	}
	first, err := s.st.MessageByKey(context.Background(), "happycall:"+enrolmentKey(s, "c-fault")+":2s:sms")
	if err != nil {
		t.Fatal(err)
	}
	if first.Attempts != 2 || first.ProviderID == nil {
		t.Fatalf("first message after a 500: attempts %d, provider id %v", first.Attempts, first.ProviderID)
	}
}

// crashingSender reaches the provider and then fails, as if the worker
// died after Twilio accepted the message but before the activity could
// record it.
type crashingSender struct {
	sms.Sender
	crashes atomic.Int32
}

func (c *crashingSender) Send(ctx context.Context, m sms.Message) (sms.Receipt, error) {
	r, err := c.Sender.Send(ctx, m)
	if err == nil && c.crashes.Add(-1) >= 0 {
		return sms.Receipt{}, errors.New("connection reset after the provider accepted the message")
	}
	return r, err
}

// A crash between the provider call and the activity's completion does
// not send twice: the message's status callback, or the retry's lookup,
// adopts the accepted message.
func TestSMSNotSentTwiceAfterCrashBetweenProviderAndRecord(t *testing.T) {
	s := newStack(t)
	crash := &crashingSender{Sender: s.sms}
	crash.crashes.Store(1)
	s.acts.SMS = crash
	const phone = "+821055550002"
	s.putCustomer("c-crash", phone, "")
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "crash", "kind": "happy_call", "params": smsOnlyParams("1s")}, nil)
	s.startWorker()
	s.postPurchase("o-crash", "c-crash", "가전", time.Now(), http.StatusCreated)

	var msg store.Message
	eventually(t, 20*time.Second, "message recorded", func() bool {
		m, err := s.st.MessageByKey(context.Background(), "happycall:"+enrolmentKey(s, "c-crash")+":1s:sms")
		msg = m
		return err == nil && m.ProviderID != nil
	})
	time.Sleep(3 * time.Second)
	sent := s.standin.Messages()
	if len(sent) != 1 {
		t.Fatalf("provider received %d messages, want 1", len(sent))
	}
	// The status callback names the message, so it usually records the
	// SID before the retry runs (1 attempt); otherwise the retry finds it
	// at the provider (2).
	if *msg.ProviderID != sent[0].Sid || msg.Attempts < 1 || msg.Attempts > 2 {
		t.Fatalf("recorded %s after %d attempts; provider has %s", *msg.ProviderID, msg.Attempts, sent[0].Sid)
	}
}

// itoa returns "<program>:<purchase>" of the stack's only enrolment, the
// middle of its messages' idempotency keys.
func enrolmentKey(s *stack, customer string) string {
	s.t.Helper()
	c, err := s.st.CustomerByExternalID(context.Background(), customer)
	if err != nil {
		s.t.Fatal(err)
	}
	es, err := s.st.CustomerEnrolments(context.Background(), c.ID)
	if err != nil || len(es) != 1 {
		s.t.Fatalf("enrolments %v %v", es, err)
	}
	return formatInt(es[0].ProgramID) + ":" + formatInt(*es[0].PurchaseID)
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
