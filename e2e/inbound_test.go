package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

// reply posts an SMS the customer sent, signed as Twilio signs it.
func (s *stack) reply(sid, from, body string) {
	s.t.Helper()
	form := url.Values{"MessageSid": {sid}, "AccountSid": {accountSID}, "From": {from}, "To": {fromNumber}, "Body": {body}}
	hook := s.api.URL + "/webhooks/twilio/inbound"
	req, err := http.NewRequest("POST", hook, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliostandin.Signature(authToken, hook, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if raw, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		s.t.Fatalf("inbound %q: %d %s", body, resp.StatusCode, raw)
	}
}

func countContaining(bodies []string, part string) int {
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, part) {
			n++
		}
	}
	return n
}

// The customer replies STOP while a happy call sleeps before an
// advertising SMS: the SMS is not sent and the journey says why; the
// customer gets one confirmation however often Twilio delivers the
// reply. START gives consent back, and the following advertisement goes.
func TestInboundStopWhileEnrolmentSleeps(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	const phone = "+821087654321"
	s.putCustomer("c-1", phone, "minsu@example.com")
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "가전 해피콜", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"}, "call_window": "5s",
		"touches": []map[string]any{
			{"key": "ad1", "offset": "8s", "sms": "첫 번째 혜택 안내", "purpose": "marketing"},
			{"key": "ad2", "offset": "20s", "sms": "두 번째 혜택 안내", "purpose": "marketing"},
		},
	}}, &prog)
	p := s.postPurchase("o-1", "c-1", "가전", time.Now(), http.StatusCreated)
	if len(p.Enrolments) != 1 {
		t.Fatalf("enrolments %+v", p.Enrolments)
	}

	const stopSID = "SM00000000000000000000000000000a01"
	s.reply(stopSID, phone, " 수신 거부 ")
	s.reply(stopSID, phone, " 수신 거부 ") // Twilio delivers again
	eventually(t, 15*time.Second, "stop confirmation", func() bool { return countContaining(s.smsTo(phone), "수신거부가 처리되었습니다") >= 1 })

	type journeyOut struct {
		Enrolments []struct {
			Status   string          `json:"status"`
			Messages []store.Message `json:"messages"`
		} `json:"enrolments"`
		Replies []struct {
			Keyword string `json:"keyword"`
			Effect  string `json:"effect"`
		} `json:"replies"`
	}
	var j journeyOut
	eventually(t, 20*time.Second, "first advertisement decided", func() bool {
		s.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, &j)
		return len(j.Enrolments) == 1 && len(j.Enrolments[0].Messages) >= 1
	})
	ad1 := j.Enrolments[0].Messages[0]
	if ad1.Status != domain.MessageSuppressed || ad1.ErrorMessage == nil || !strings.Contains(*ad1.ErrorMessage, "no consent: sms") {
		t.Fatalf("first advertisement after STOP: %s %v", ad1.Status, ad1.ErrorMessage)
	}
	if j.Enrolments[0].Status != domain.EnrolmentActive || len(j.Replies) != 1 || j.Replies[0].Keyword != store.KeywordStop ||
		!strings.Contains(j.Replies[0].Effect, "withdrawn") {
		t.Fatalf("journey after STOP: %+v", j)
	}

	s.reply("SM00000000000000000000000000000a02", phone, "START")
	eventually(t, 15*time.Second, "start confirmation", func() bool { return countContaining(s.smsTo(phone), "수신동의가 처리되었습니다") >= 1 })
	eventually(t, 30*time.Second, "second advertisement", func() bool { return countContaining(s.smsTo(phone), "두 번째 혜택 안내") >= 1 })

	// Counted at the edge: one confirmation each, the second
	// advertisement, and never the first.
	time.Sleep(time.Second) // a duplicate would have arrived by now
	got := s.smsTo(phone)
	if len(got) != 3 || countContaining(got, "수신거부가 처리되었습니다") != 1 || countContaining(got, "수신동의가 처리되었습니다") != 1 ||
		countContaining(got, "첫 번째 혜택 안내") != 0 {
		t.Fatalf("the provider got %d messages: %q", len(got), got)
	}
	var events int
	if err := s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM consent_events WHERE source = 'sms reply'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != 2 {
		t.Fatalf("%d consent events by sms reply, want 2", events)
	}
}
