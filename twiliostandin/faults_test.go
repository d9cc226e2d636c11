package twiliostandin_test

import (
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

// The dev default dangol used to ship ("ACdev" + zeros) is not an Account
// SID: Twilio refuses the request before sending anything, and so does
// the stand-in, on every Messages route.
func TestMalformedAccountSidIsRefusedBeforeSending(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken, CallbackDelay: time.Hour})
	base, _ := url.Parse(ts.URL)
	for _, sid := range []string{
		"ACdev00000000000000000000000000000",     // the old dev default: "dev" is not hex
		"AC0123456789abcdef0123456789abcde",      // 31 digits
		"SK0123456789abcdef0123456789abcdef",     // an API key SID
		"AC0123456789abcdef0123456789abcdef0000", // too long
	} {
		c := &client.Client{
			Credentials: client.NewCredentials(sid, authToken),
			HTTPClient:  &http.Client{Transport: rewrite{base}, Timeout: 5 * time.Second},
		}
		c.SetAccountSid(sid)
		a := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api
		_, err := a.CreateMessage((&openapi.CreateMessageParams{}).SetTo("+14155550100").SetFrom(fromNumber).SetBody("hi"))
		var te *client.TwilioRestError
		if !errors.As(err, &te) || te.Status != http.StatusUnprocessableEntity || te.Code != 20422 || !strings.Contains(te.Message, "AccountSid") {
			t.Errorf("%s: create: %v, want 422/20422 naming the AccountSid", sid, err)
		}
		if _, err := a.ListMessage(&openapi.ListMessageParams{}); !errors.As(err, &te) || te.Code != 20422 {
			t.Errorf("%s: list: %v, want 20422", sid, err)
		}
		if _, err := a.FetchMessage("SM"+strings.Repeat("0", 32), nil); !errors.As(err, &te) || te.Code != 20422 {
			t.Errorf("%s: fetch: %v, want 20422", sid, err)
		}
	}
	if n := len(st.Messages()); n != 0 {
		t.Fatalf("stand-in accepted %d messages for malformed account SIDs", n)
	}
	// Upper-case hex digits are an Account SID too.
	c := &client.Client{Credentials: client.NewCredentials("AC"+strings.ToUpper(accountSID[2:]), authToken),
		HTTPClient: &http.Client{Transport: rewrite{base}, Timeout: 5 * time.Second}}
	c.SetAccountSid("AC" + strings.ToUpper(accountSID[2:]))
	if _, err := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api.CreateMessage(
		(&openapi.CreateMessageParams{}).SetTo("+14155550100").SetFrom(fromNumber).SetBody("hi")); err != nil {
		t.Fatalf("upper-case hex account SID: %v", err)
	}
}

func TestRepeatLastSid(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	first := send(t, a, "+14155550100", "first", "")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/_standin/repeat-sid", strings.NewReader(`{"count":1}`))
	if status, _, _ := do(t, req); status != http.StatusNoContent {
		t.Fatalf("POST /_standin/repeat-sid: %d", status)
	}
	second := send(t, a, "+14155550101", "second", "")
	if str(second.Sid) != str(first.Sid) {
		t.Fatalf("second answer has SID %s, want the repeated %s", str(second.Sid), str(first.Sid))
	}
	third := send(t, a, "+14155550101", "third", "")
	if str(third.Sid) == str(first.Sid) {
		t.Fatal("the fault outlived its count")
	}
	if got := st.Messages(); len(got) != 2 || got[0].Body != "first" || got[1].Body != "third" {
		t.Fatalf("recorded %+v, want first and third only", got)
	}
}

func TestFailNextBodyKeepsTheRawAnswer(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	st.FailNextBody(1, http.StatusUnprocessableEntity, "application/json", `{"detail":"not Twilio's shape"}`)
	status, hdr, body := postForm(t, ts, accountSID, authToken, url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {"hi"}})
	if status != http.StatusUnprocessableEntity || hdr.Get("Content-Type") != "application/json" || body["detail"] != "not Twilio's shape" {
		t.Fatalf("got %d %v %v", status, hdr, body)
	}
	if n := len(st.Messages()); n != 0 {
		t.Fatalf("recorded %d messages", n)
	}
}

// With callbacks off, messages are still delivered but nobody is told;
// fetching the message shows where it is.
func TestCallbacksOffLosesThemButMessagesProgress(t *testing.T) {
	rcv, received := receiver(t)
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken, CallbackDelay: 20 * time.Millisecond})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/_standin/callbacks", strings.NewReader(`{"enabled":false}`))
	if status, _, _ := do(t, req); status != http.StatusNoContent {
		t.Fatalf("POST /_standin/callbacks: %d", status)
	}
	a := api(t, ts, authToken)
	m := send(t, a, "+14155550100", "lost callbacks", rcv.URL)
	waitFor(t, "delivered", func() bool { return st.Messages()[0].Status == "delivered" })
	if got := received(); len(got) != 0 {
		t.Fatalf("callbacks posted while off: %v", got)
	}
	got, err := a.FetchMessage(str(m.Sid), nil)
	if err != nil || str(got.Status) != "delivered" {
		t.Fatalf("fetch: %v %v", str(got.Status), err)
	}

	st.SetCallbacks(true)
	send(t, a, "+14155550100", "callbacks back", rcv.URL)
	waitFor(t, "two callbacks", func() bool { return len(received()) == 2 })

	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/_standin/callbacks", strings.NewReader(`{}`))
	if status, _, _ := do(t, req); status != http.StatusBadRequest {
		t.Fatalf("POST /_standin/callbacks without enabled: %d", status)
	}
}

// A number that replied STOP to Twilio is refused with 21610 on every
// message, and nothing is sent to it; others are not affected.
func TestUnsubscribedNumberIsRefusedWith21610(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken, CallbackDelay: time.Hour})
	base, _ := url.Parse(ts.URL)
	c := &client.Client{Credentials: client.NewCredentials(accountSID, authToken),
		HTTPClient: &http.Client{Transport: rewrite{base}, Timeout: 5 * time.Second}}
	c.SetAccountSid(accountSID)
	a := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api
	send := func(to string) error {
		_, err := a.CreateMessage((&openapi.CreateMessageParams{}).SetTo(to).SetFrom(fromNumber).SetBody("hi"))
		return err
	}
	st.Unsubscribe("+821055550001")
	for range 2 {
		var te *client.TwilioRestError
		if err := send("+821055550001"); !errors.As(err, &te) || te.Status != http.StatusBadRequest || te.Code != 21610 {
			t.Fatalf("send to unsubscribed: %v, want 400/21610", err)
		}
	}
	if err := send("+821055550002"); err != nil {
		t.Fatal(err)
	}
	if n, refused := len(st.Messages()), st.Refused("+821055550001"); n != 1 || refused != 2 {
		t.Fatalf("%d messages, %d refused; want 1 and 2", n, refused)
	}
	st.Reset()
	if err := send("+821055550001"); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}
