package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
)

// capturedCallback is a status callback exactly as the API received it.
type capturedCallback struct {
	uri, signature string
	body           []byte
}

// The stand-in's real callbacks, delivered again and again (Twilio retries
// and proxies replay): each distinct report is one message event, and the
// status is what the first delivery made it.
func TestReplayedStatusCallbacksAddOneEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const token = "00112233445566778899aabbccddeeff"

	var mu sync.Mutex
	var got []capturedCallback
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	h := (&api.Server{Store: e.st, Temporal: e.tc, TaskQueue: e.queue, TwilioAuthToken: token, PublicBaseURL: srv.URL, Logger: quiet}).Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, capturedCallback{uri: r.URL.RequestURI(), signature: r.Header.Get("X-Twilio-Signature"), body: body})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
	captured := func() []capturedCallback {
		mu.Lock()
		defer mu.Unlock()
		return append([]capturedCallback(nil), got...)
	}

	standin := twiliostandin.New(twiliostandin.Options{AuthToken: token, CallbackDelay: 20 * time.Millisecond, Logger: quiet})
	standinHTTP := httptest.NewServer(standin)
	t.Cleanup(func() { standinHTTP.Close(); standin.Close() })
	sender, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC00000000000000000000000000000001", AuthToken: token, From: "+15005550006", APIBase: standinHTTP.URL})
	if err != nil {
		t.Fatal(err)
	}

	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678"}, nil)
	c, err := e.st.CustomerByExternalID(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.st.ClaimMessage(ctx, store.Message{IdempotencyKey: "replay/1", CustomerID: c.ID, Channel: "sms", Recipient: "+821012345678", Body: "감사합니다"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.MarkSending(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	r, err := sender.Send(ctx, sms.Message{To: m.Recipient, Body: m.Body, StatusCallback: fmt.Sprintf("%s/webhooks/twilio/status?m=%d", srv.URL, m.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.MarkAccepted(ctx, m.ID, r.ProviderID, r.Status); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(captured()) < 2 || e.count(`SELECT count(*) FROM messages WHERE id = $1 AND status = 'delivered'`, m.ID) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("callbacks %d; message not delivered", len(captured()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	events := func(status string) int {
		return e.count(`SELECT count(*) FROM message_events WHERE message_id = $1 AND status = $2`, m.ID, status)
	}
	if events("sent") != 1 || events("delivered") != 1 {
		t.Fatalf("before replays: %d sent and %d delivered events", events("sent"), events("delivered"))
	}

	// Each callback five more times, concurrently, the late "sent" last.
	var wg sync.WaitGroup
	for _, cb := range captured() {
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := e.do(srv.URL, "POST", cb.uri, cb.body, map[string]string{
					"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": cb.signature})
				if err != nil || resp.status != http.StatusNoContent {
					t.Errorf("replay: %v %d %s", err, resp.status, resp.body)
				}
			}()
		}
	}
	wg.Wait()
	if events("sent") != 1 || events("delivered") != 1 {
		t.Fatalf("after replaying every callback 5 times: %d sent and %d delivered events, want 1 and 1", events("sent"), events("delivered"))
	}
	if n := e.count(`SELECT count(*) FROM messages WHERE id = $1 AND status = 'delivered' AND provider_id = $2`, m.ID, r.ProviderID); n != 1 {
		t.Fatal("the replays changed the message")
	}
}

// A signed report naming a message by id must carry a valid id; malformed
// fields are a 400 naming the field, never a 500.
func TestStatusCallbackFieldsAreChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		query, sid, status, code, field string
	}{
		{"?m=abc", "SM00000000000000000000000000000001", "sent", "", "m"},
		{"?m=-4", "SM00000000000000000000000000000001", "sent", "", "m"},
		{"?m=99999999999999999999", "SM00000000000000000000000000000001", "sent", "", "m"},
		{"", "SM0000\x00", "sent", "", "MessageSid"},
		{"", "SM00000000000000000000000000000001", "déliv\xffered", "", "MessageStatus"},
		{"", "SM00000000000000000000000000000001", "failed", "30003; DROP", "ErrorCode"},
	} {
		form := url.Values{"MessageSid": {c.sid}, "MessageStatus": {c.status}}
		if c.code != "" {
			form["ErrorCode"] = []string{c.code}
		}
		hook := e.url + "/webhooks/twilio/status" + c.query
		e.request(e.url, "POST", "/webhooks/twilio/status"+c.query, form.Encode(), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twiliostandin.Signature(twilioToken, hook, form),
		}).wantProblem(t, http.StatusBadRequest, c.field)
	}
	// A valid id of no message is acknowledged and ignored.
	form := url.Values{"MessageSid": {"SM00000000000000000000000000000001"}, "MessageStatus": {"sent"}}
	hook := e.url + "/webhooks/twilio/status?m=123456"
	r := e.request(e.url, "POST", "/webhooks/twilio/status?m=123456", form.Encode(), map[string]string{
		"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": twiliostandin.Signature(twilioToken, hook, form)})
	if r.status != http.StatusNoContent {
		t.Fatalf("report for an unknown message id: %d %s", r.status, r.body)
	}
}
