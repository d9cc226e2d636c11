package twiliostandin_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/dangol/dangol/twiliostandin"
)

func setOutage(t *testing.T, ts string, body string) twiliostandin.OutageStats {
	t.Helper()
	resp, err := http.Post(ts+"/_standin/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st twiliostandin.OutageStats
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_standin/faults %s: %s", body, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func outageStats(t *testing.T, ts string) twiliostandin.OutageStats {
	t.Helper()
	var st twiliostandin.OutageStats
	resp, err := http.Get(ts + "/_standin/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A 500 outage refuses every Messages call for its span, sends nothing,
// and ends by itself.
func TestOutage500ForASpan(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	if got := setOutage(t, ts.URL, `{"mode":"500","for":"300ms"}`); got.Mode != "500" || got.Until.IsZero() {
		t.Fatalf("stats after start: %+v", got)
	}
	for range 3 {
		_, err := a.CreateMessage((&openapi.CreateMessageParams{}).SetTo("+14155550100").SetFrom(fromNumber).SetBody("hi"))
		var te *client.TwilioRestError
		if !errors.As(err, &te) || te.Status != http.StatusInternalServerError || te.Code != 20500 {
			t.Fatalf("create during a 500 outage: %v", err)
		}
	}
	if _, err := a.ListMessage(&openapi.ListMessageParams{}); err == nil {
		t.Fatal("list answered during a 500 outage")
	}
	if n := len(st.Messages()); n != 0 {
		t.Fatalf("%d messages recorded during the outage", n)
	}
	time.Sleep(350 * time.Millisecond)
	send(t, a, "+14155550100", "after", "")
	if got := outageStats(t, ts.URL); got.Mode != "none" || got.Answered500 != 4 || len(st.Messages()) != 1 {
		t.Fatalf("after the outage: %+v, %d messages; want mode none, 4 answered 500, 1 message", got, len(st.Messages()))
	}
}

// A 429 outage says when to come back; a creation for the same recipient
// and body that comes back sooner is counted as an early retry, one that
// waits is not.
func TestOutage429RetryAfterAndEarlyRetries(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	setOutage(t, ts.URL, `{"mode":"429","for":"10s","retry_after":"1s"}`)
	form := url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {"rate limited"}}
	status, hdr, body := postForm(t, ts, accountSID, authToken, form)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" || body["code"] != float64(20429) {
		t.Fatalf("got %d Retry-After %q %v; want 429, Retry-After 1, code 20429", status, hdr.Get("Retry-After"), body)
	}
	postForm(t, ts, accountSID, authToken, form) // at once: early
	if got := outageStats(t, ts.URL); got.EarlyRetries != 1 || got.Answered429 != 2 {
		t.Fatalf("after an immediate retry: %+v; want 1 early retry, 2 answered 429", got)
	}
	time.Sleep(1100 * time.Millisecond)
	postForm(t, ts, accountSID, authToken, form) // after Retry-After: not early
	if got := outageStats(t, ts.URL); got.EarlyRetries != 1 || got.Answered429 != 3 {
		t.Fatalf("after waiting Retry-After: %+v; want still 1 early retry", got)
	}
	setOutage(t, ts.URL, `{"mode":"none"}`)
	if status, _, _ := postForm(t, ts, accountSID, authToken, form); status != http.StatusCreated {
		t.Fatalf("after mode none: %d", status)
	}
}

// A hang accepts the message, then keeps the client waiting past its
// timeout: the message is sent once and listed once, though the client
// saw only a timeout.
func TestOutageHangAcceptsThenKeepsTheClientWaiting(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	setOutage(t, ts.URL, `{"mode":"hang","for":"400ms","hang":"5s"}`)
	base, _ := url.Parse(ts.URL)
	c := &client.Client{Credentials: client.NewCredentials(accountSID, authToken),
		HTTPClient: &http.Client{Transport: rewrite{base}, Timeout: 200 * time.Millisecond}}
	c.SetAccountSid(accountSID)
	short := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api
	begun := time.Now()
	_, err := short.CreateMessage((&openapi.CreateMessageParams{}).SetTo("+14155550100").SetFrom(fromNumber).SetBody("hung"))
	if err == nil || time.Since(begun) > 2*time.Second {
		t.Fatalf("create during a hang: %v after %s; want the client's timeout", err, time.Since(begun))
	}
	if got := st.Messages(); len(got) != 1 || got[0].Body != "hung" {
		t.Fatalf("recorded %+v; want the hung message, once", got)
	}
	time.Sleep(300 * time.Millisecond)
	msgs, err := api(t, ts, authToken).ListMessage(&openapi.ListMessageParams{})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("list after the hang: %d messages, %v", len(msgs), err)
	}
	if got := outageStats(t, ts.URL); got.Hung != 1 || got.HungAccepted != 1 {
		t.Fatalf("stats: %+v; want 1 hung, 1 accepted", got)
	}
}

// A hang whose span runs out answers the waiting client after all, and
// Close does not wait for hung calls.
func TestOutageHangAnswersWhenItEnds(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.OutageHang, For: time.Minute, Hang: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	m := send(t, api(t, ts, authToken), "+14155550100", "late answer", "")
	if str(m.Sid) != st.Messages()[0].Sid {
		t.Fatalf("answered %s", str(m.Sid))
	}
	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.OutageHang, For: time.Minute, Hang: time.Minute}); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = api(t, ts, authToken).ListMessage(&openapi.ListMessageParams{})
	}()
	waitFor(t, "the list to hang", func() bool { return st.Outages().Hung == 2 })
	done := make(chan struct{})
	go func() { st.Close(); ts.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a hung call")
	}
}

func TestOutageControlRefusesBadBodies(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	for _, body := range []string{
		`{"mode":"503","for":"1s"}`,
		`{"mode":"500"}`,
		`{"mode":"500","for":"2h"}`,
		`{"mode":"429","for":"1s","retry_after":"10ms"}`,
		`{"mode":"hang","for":"1s","hang":"1h"}`,
		`{"mode":"500","for":"soon"}`,
		`{"mode":"500","for":"1s","extra":1}`,
		`not json`,
	} {
		resp, err := http.Post(ts.URL+"/_standin/faults", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s, want 400", body, resp.Status)
		}
	}
	if got := outageStats(t, ts.URL); got.Mode != "none" {
		t.Fatalf("a refused body started an outage: %+v", got)
	}
}

// Reset ends an outage and clears its counts.
func TestResetEndsTheOutage(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	setOutage(t, ts.URL, `{"mode":"500","for":"1m"}`)
	postForm(t, ts, accountSID, authToken, url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {"x"}})
	st.Reset()
	if got := st.Outages(); got != (twiliostandin.OutageStats{Mode: "none"}) {
		t.Fatalf("after Reset: %+v", got)
	}
	send(t, api(t, ts, authToken), "+14155550100", "ok", "")
}
