package twiliostandin_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/dangol/dangol/twiliostandin"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "s3cr3tT0ken"
	fromNumber = "+15005550006"
)

var quiet = slog.New(slog.DiscardHandler)

func start(t *testing.T, opts twiliostandin.Options) (*twiliostandin.Server, *httptest.Server) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	st := twiliostandin.New(opts)
	ts := httptest.NewServer(st)
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	return st, ts
}

// rewrite sends twilio-go's requests for api.twilio.com to the stand-in.
type rewrite struct{ base *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = rw.base.Scheme, rw.base.Host
	return http.DefaultTransport.RoundTrip(r)
}

// api is the real twilio-go Messages client aimed at the stand-in.
func api(t *testing.T, ts *httptest.Server, password string) *openapi.ApiService {
	t.Helper()
	base, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(accountSID, password),
		HTTPClient:  &http.Client{Transport: rewrite{base}, Timeout: 5 * time.Second},
	}
	c.SetAccountSid(accountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: c}).Api
}

func send(t *testing.T, a *openapi.ApiService, to, body, callback string) *openapi.ApiV2010Message {
	t.Helper()
	p := &openapi.CreateMessageParams{}
	p.SetTo(to).SetFrom(fromNumber).SetBody(body)
	if callback != "" {
		p.SetStatusCallback(callback)
	}
	m, err := a.CreateMessage(p)
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func postForm(t *testing.T, ts *httptest.Server, user, pass string, form url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/2010-04-01/Accounts/"+accountSID+"/Messages.json",
		strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil && err != io.EOF {
		t.Fatalf("decoding response: %v", err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestCreateMessageDecodesInTwilioGo(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken, CallbackDelay: time.Hour})
	before := time.Now().Add(-time.Second)
	m := send(t, api(t, ts, authToken), "+14155550100", "Hello from dangol", "")

	sid := str(m.Sid)
	if len(sid) != 34 || !strings.HasPrefix(sid, "SM") {
		t.Errorf("sid = %q, want SM + 32 hex", sid)
	}
	checks := map[string][2]string{
		"account_sid":  {str(m.AccountSid), accountSID},
		"to":           {str(m.To), "+14155550100"},
		"from":         {str(m.From), fromNumber},
		"body":         {str(m.Body), "Hello from dangol"},
		"status":       {str(m.Status), "queued"},
		"direction":    {str(m.Direction), "outbound-api"},
		"api_version":  {str(m.ApiVersion), "2010-04-01"},
		"num_segments": {str(m.NumSegments), "1"},
		"num_media":    {str(m.NumMedia), "0"},
		"uri":          {str(m.Uri), "/2010-04-01/Accounts/" + accountSID + "/Messages/" + sid + ".json"},
		"date_sent":    {str(m.DateSent), "<nil>"},
	}
	for field, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", field, c[0], c[1])
		}
	}
	created, err := time.Parse(time.RFC1123Z, str(m.DateCreated))
	if err != nil {
		t.Fatalf("date_created %q is not RFC 1123Z: %v", str(m.DateCreated), err)
	}
	if !strings.HasSuffix(str(m.DateCreated), " +0000") || created.Before(before.Truncate(time.Second)) || created.After(time.Now()) {
		t.Errorf("date_created = %q, want now in GMT", str(m.DateCreated))
	}

	got := st.Messages()
	if len(got) != 1 {
		t.Fatalf("recorded %d messages, want 1", len(got))
	}
	r := got[0]
	if r.Sid != sid || r.AccountSid != accountSID || r.To != "+14155550100" || r.From != fromNumber ||
		r.Body != "Hello from dangol" || r.Status != "queued" || r.StatusCallback != "" || r.Created.IsZero() {
		t.Errorf("recorded %+v", r)
	}
}

func TestNumSegments(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	for _, c := range []struct {
		body string
		want string
	}{
		{strings.Repeat("a", 160), "1"},
		{strings.Repeat("a", 161), "2"},
		{strings.Repeat("a", 159) + "€", "2"}, // € takes two septets
		{strings.Repeat("ж", 70), "1"},        // outside GSM-7: UCS-2, 70 per segment
		{strings.Repeat("ж", 71), "2"},
	} {
		if got := str(send(t, a, "+14155550100", c.body, "").NumSegments); got != c.want {
			t.Errorf("num_segments(%d x %q...) = %s, want %s", len([]rune(c.body)), c.body[:1], got, c.want)
		}
	}
}

func TestInvalidToIsTwilio21211(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken})
	status, _, body := postForm(t, ts, accountSID, authToken, url.Values{
		"To": {"12345"}, "From": {fromNumber}, "Body": {"hi"},
	})
	want := map[string]any{
		"code":      float64(21211),
		"message":   "The 'To' number 12345 is not a valid phone number.",
		"more_info": "https://www.twilio.com/docs/errors/21211",
		"status":    float64(400),
	}
	if status != http.StatusBadRequest || !reflect.DeepEqual(body, want) {
		t.Errorf("got %d %v, want 400 %v", status, body, want)
	}

	p := &openapi.CreateMessageParams{}
	p.SetTo("+0123").SetFrom(fromNumber).SetBody("hi")
	_, err := api(t, ts, authToken).CreateMessage(p)
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Code != 21211 || te.Status != 400 {
		t.Errorf("twilio-go error = %v, want TwilioRestError 21211", err)
	}
	if n := len(st.Messages()); n != 0 {
		t.Errorf("recorded %d rejected messages", n)
	}
}

func TestMissingParameters(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{})
	for _, c := range []struct {
		form url.Values
		code float64
	}{
		{url.Values{"From": {fromNumber}, "Body": {"hi"}}, 21604},
		{url.Values{"To": {"+14155550100"}, "Body": {"hi"}}, 21603},
		{url.Values{"To": {"+14155550100"}, "From": {fromNumber}}, 21602},
		{url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {strings.Repeat("a", 1601)}}, 21617},
		{url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {"hi"}, "StatusCallback": {"not a url"}}, 21609},
	} {
		status, _, body := postForm(t, ts, accountSID, authToken, c.form)
		if status != http.StatusBadRequest || body["code"] != c.code {
			t.Errorf("%v: got %d %v, want 400 code %v", c.form, status, body, c.code)
		}
	}
}

func TestAuthentication(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{AuthToken: authToken})
	form := url.Values{"To": {"+14155550100"}, "From": {fromNumber}, "Body": {"hi"}}

	status, hdr, body := postForm(t, ts, "", "", form)
	if status != http.StatusUnauthorized || body["code"] != float64(20003) || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("no auth: got %d %v %v, want 401 code 20003 with WWW-Authenticate", status, hdr, body)
	}
	status, _, body = postForm(t, ts, accountSID, "wrongToken", form)
	if status != http.StatusUnauthorized || body["code"] != float64(20003) {
		t.Errorf("wrong token: got %d %v, want 401 code 20003", status, body)
	}

	_, err := api(t, ts, "wrongToken").CreateMessage((&openapi.CreateMessageParams{}).
		SetTo("+14155550100").SetFrom(fromNumber).SetBody("hi"))
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Code != 20003 || te.Status != 401 {
		t.Errorf("twilio-go error = %v, want TwilioRestError 20003", err)
	}

	// Without a configured token, any password passes.
	_, open := start(t, twiliostandin.Options{})
	if status, _, body := postForm(t, open, accountSID, "anything", form); status != http.StatusCreated {
		t.Errorf("no token configured: got %d %v, want 201", status, body)
	}
}

func TestFailNextQueuesFaults(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	st.FailNext(1, 500, 20500, "Internal Server Error")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/_standin/fail", strings.NewReader(`{"status":429}`))
	if status, _, _ := do(t, req); status != http.StatusNoContent {
		t.Fatalf("POST /_standin/fail: %d", status)
	}

	p := (&openapi.CreateMessageParams{}).SetTo("+14155550100").SetFrom(fromNumber).SetBody("hi")
	for _, want := range []client.TwilioRestError{
		{Status: 500, Code: 20500, Message: "Internal Server Error"},
		{Status: 429, Code: 20429, Message: "Too Many Requests"},
	} {
		_, err := a.CreateMessage(p)
		var te *client.TwilioRestError
		if !errors.As(err, &te) || te.Status != want.Status || te.Code != want.Code || te.Message != want.Message {
			t.Errorf("error = %v, want %d/%d %q", err, want.Status, want.Code, want.Message)
		}
	}
	if n := len(st.Messages()); n != 0 {
		t.Errorf("failed sends recorded: %d", n)
	}
	m := send(t, a, "+14155550100", "hi", "")
	if got := st.Messages(); len(got) != 1 || got[0].Sid != str(m.Sid) {
		t.Errorf("after faults: recorded %+v, want the one message %s", got, str(m.Sid))
	}

	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/_standin/fail", strings.NewReader(`{"status":200}`))
	if status, _, _ := do(t, req); status != http.StatusBadRequest {
		t.Errorf("fail with status 200 accepted: %d", status)
	}
}

type callback struct {
	url    string
	params map[string]string
	sig    string
}

// receiver records status callbacks the way a webhook handler sees them.
func receiver(t *testing.T) (*httptest.Server, func() []callback) {
	t.Helper()
	var mu sync.Mutex
	var got []callback
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("callback form: %v", err)
		}
		p := map[string]string{}
		for k := range r.PostForm {
			p[k] = r.PostForm.Get(k)
		}
		mu.Lock()
		got = append(got, callback{url: "http://" + r.Host + r.URL.RequestURI(), params: p, sig: r.Header.Get("X-Twilio-Signature")})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []callback {
		mu.Lock()
		defer mu.Unlock()
		return append([]callback(nil), got...)
	}
}

func TestStatusCallbacksAreSignedLikeTwilio(t *testing.T) {
	rcv, received := receiver(t)
	st, ts := start(t, twiliostandin.Options{AuthToken: authToken, CallbackDelay: 20 * time.Millisecond})
	a := api(t, ts, authToken)
	cbURL := rcv.URL + "/webhooks/twilio/status?tenant=7"
	m := send(t, a, "+14155550100", "Hello", cbURL)
	sid := str(m.Sid)

	waitFor(t, "two callbacks", func() bool { return len(received()) >= 2 })
	got := received()
	if len(got) != 2 {
		t.Fatalf("got %d callbacks, want 2", len(got))
	}
	validator := client.NewRequestValidator(authToken)
	wrong := client.NewRequestValidator("otherToken")
	for i, status := range []string{"sent", "delivered"} {
		cb := got[i]
		want := map[string]string{
			"MessageSid": sid, "SmsSid": sid, "SmsStatus": status, "MessageStatus": status,
			"AccountSid": accountSID, "From": fromNumber, "To": "+14155550100", "ApiVersion": "2010-04-01",
		}
		if !reflect.DeepEqual(cb.params, want) {
			t.Errorf("callback %d params = %v, want %v", i, cb.params, want)
		}
		if cb.url != cbURL {
			t.Errorf("callback %d went to %s, want %s", i, cb.url, cbURL)
		}
		if !validator.Validate(cb.url, cb.params, cb.sig) {
			t.Errorf("callback %d: signature %q rejected by twilio-go's RequestValidator", i, cb.sig)
		}
		if wrong.Validate(cb.url, cb.params, cb.sig) {
			t.Errorf("callback %d: signature accepted with the wrong token", i)
		}
	}

	recs := st.Messages()
	if len(recs) != 1 || recs[0].Status != "delivered" || recs[0].Sent.IsZero() {
		t.Errorf("recorded %+v, want delivered with a sent time", recs)
	}
	fetched, err := a.FetchMessage(sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(fetched.Status) != "delivered" || fetched.DateSent == nil {
		t.Errorf("fetched status %s date_sent %s, want delivered with a date", str(fetched.Status), str(fetched.DateSent))
	}
}

func TestCallbacksSignedWithCallerPasswordWithoutToken(t *testing.T) {
	rcv, received := receiver(t)
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Millisecond})
	send(t, api(t, ts, "devToken42"), "+14155550100", "Hello", rcv.URL+"/cb")
	waitFor(t, "a callback", func() bool { return len(received()) >= 1 })
	cb := received()[0]
	v := client.NewRequestValidator("devToken42")
	if !v.Validate(cb.url, cb.params, cb.sig) {
		t.Errorf("signature %q not made with the caller's password", cb.sig)
	}
}

func TestCloseStopsCallbacksAndWaits(t *testing.T) {
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	var calls sync.WaitGroup
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		defer calls.Done()
		entered <- struct{}{}
		<-release
	}))
	defer slow.Close()
	defer close(release)

	st := twiliostandin.New(twiliostandin.Options{CallbackDelay: time.Millisecond, Logger: quiet})
	ts := httptest.NewServer(st)
	defer ts.Close()
	send(t, api(t, ts, authToken), "+14155550100", "Hello", slow.URL)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no callback arrived")
	}

	done := make(chan struct{})
	go func() { st.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return while a receiver hung")
	}
	// The hung "sent" callback was aborted, so "delivered" must never come.
	time.Sleep(50 * time.Millisecond)
	if n := len(entered); n != 0 {
		t.Errorf("%d callbacks after Close", n)
	}
	if got := st.Messages()[0].Status; got != "sent" {
		t.Errorf("status after Close = %s, want sent", got)
	}

	// Messages accepted after Close stay queued: no goroutine may start.
	m := send(t, api(t, ts, authToken), "+14155550100", "late", slow.URL)
	time.Sleep(50 * time.Millisecond)
	if len(entered) != 0 {
		t.Error("callback scheduled after Close")
	}
	for _, r := range st.Messages() {
		if r.Sid == str(m.Sid) && r.Status != "queued" {
			t.Errorf("message sent after Close has status %s", r.Status)
		}
	}
}

func TestResetDropsMessagesFaultsAndCallbacks(t *testing.T) {
	rcv, received := receiver(t)
	st, ts := start(t, twiliostandin.Options{CallbackDelay: 50 * time.Millisecond})
	a := api(t, ts, authToken)
	send(t, a, "+14155550100", "before reset", rcv.URL)
	st.FailNext(1, 500, 20500, "boom")

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/_standin/reset", nil)
	if status, _, _ := do(t, req); status != http.StatusNoContent {
		t.Fatalf("POST /_standin/reset: %d", status)
	}
	if n := len(st.Messages()); n != 0 {
		t.Errorf("%d messages after reset", n)
	}
	m := send(t, a, "+14155550100", "after reset", "") // the fault is gone too
	time.Sleep(150 * time.Millisecond)
	if got := received(); len(got) != 0 {
		t.Errorf("callbacks for a reset message: %v", got)
	}
	if got := st.Messages(); len(got) != 1 || got[0].Sid != str(m.Sid) {
		t.Errorf("after reset recorded %+v", got)
	}
}

func TestFetchMessage(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	m := send(t, a, "+14155550100", "fetch me", "")
	got, err := a.FetchMessage(str(m.Sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	if str(got.Sid) != str(m.Sid) || str(got.Body) != "fetch me" || str(got.Status) != "queued" {
		t.Errorf("fetched %s %q %s", str(got.Sid), str(got.Body), str(got.Status))
	}

	_, err = a.FetchMessage("SM00000000000000000000000000000000", nil)
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Code != 20404 || te.Status != 404 {
		t.Errorf("unknown sid: %v, want TwilioRestError 20404", err)
	}
	// A message belongs to the account it was sent from.
	_, err = a.FetchMessage(str(m.Sid), (&openapi.FetchMessageParams{}).SetPathAccountSid("AC"+strings.Repeat("0", 32)))
	if !errors.As(err, &te) || te.Code != 20404 {
		t.Errorf("other account: %v, want 20404", err)
	}
}

func sids(ms []openapi.ApiV2010Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, str(m.Sid))
	}
	return out
}

func TestListMessagesFiltersAndPages(t *testing.T) {
	st, ts := start(t, twiliostandin.Options{CallbackDelay: time.Millisecond})
	a := api(t, ts, authToken)
	const alice, bob = "+14155550100", "+14155550199"
	var aliceSids []string
	for i := range 5 {
		aliceSids = append([]string{str(send(t, a, alice, "msg "+string(rune('A'+i)), "").Sid)}, aliceSids...)
	}
	send(t, a, bob, "to bob", "")
	other := (&openapi.CreateMessageParams{}).SetTo(alice).SetFrom("+15005550001").SetBody("other sender")
	if _, err := a.CreateMessage(other); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all delivered", func() bool {
		for _, m := range st.Messages() {
			if m.Status != "delivered" {
				return false
			}
		}
		return true
	})

	// PageSize 2 forces twilio-go to follow next_page_uri twice.
	p := (&openapi.ListMessageParams{}).SetTo(alice).SetFrom(fromNumber).SetPageSize(2)
	got, err := a.ListMessage(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sids(got), aliceSids) {
		t.Errorf("ListMessage = %v, want newest first %v", sids(got), aliceSids)
	}

	got, err = a.ListMessage((&openapi.ListMessageParams{}).SetTo(alice).SetFrom(fromNumber).SetLimit(3))
	if err != nil || len(got) != 3 {
		t.Errorf("Limit 3: %d messages, %v", len(got), err)
	}

	now := time.Now().UTC()
	for _, c := range []struct {
		name   string
		params *openapi.ListMessageParams
		want   int
	}{
		{"sent after yesterday", (&openapi.ListMessageParams{}).SetTo(alice).SetDateSentAfter(now.Add(-24 * time.Hour)), 6},
		// Day granularity: "after" a moment later today still includes today.
		{"sent after later today", (&openapi.ListMessageParams{}).SetTo(alice).SetDateSentAfter(now.Add(time.Minute)), 6},
		{"sent after tomorrow", (&openapi.ListMessageParams{}).SetTo(alice).SetDateSentAfter(now.Add(48 * time.Hour)), 0},
		{"sent before yesterday", (&openapi.ListMessageParams{}).SetTo(alice).SetDateSentBefore(now.Add(-48 * time.Hour)), 0},
		{"sent today", (&openapi.ListMessageParams{}).SetDateSent(now), 7},
		{"to bob", (&openapi.ListMessageParams{}).SetTo(bob), 1},
	} {
		got, err := a.ListMessage(c.params)
		if err != nil || len(got) != c.want {
			t.Errorf("%s: %d messages (%v), want %d", c.name, len(got), err, c.want)
		}
	}
}

func TestDateSentFilterSkipsUnsentMessages(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	a := api(t, ts, authToken)
	send(t, a, "+14155550100", "still queued", "")
	all, err := a.ListMessage((&openapi.ListMessageParams{}).SetTo("+14155550100"))
	if err != nil || len(all) != 1 {
		t.Fatalf("unfiltered: %d, %v", len(all), err)
	}
	sent, err := a.ListMessage((&openapi.ListMessageParams{}).SetTo("+14155550100").
		SetDateSentAfter(time.Now().Add(-24 * time.Hour)))
	if err != nil || len(sent) != 0 {
		t.Errorf("DateSent> matched a message with no date_sent: %d, %v", len(sent), err)
	}
}

func TestControlMessagesEndpoint(t *testing.T) {
	_, ts := start(t, twiliostandin.Options{CallbackDelay: time.Hour})
	m := send(t, api(t, ts, authToken), "+14155550100", "listed", "https://example.com/cb")
	resp, err := http.Get(ts.URL + "/_standin/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []twiliostandin.Message
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Sid != str(m.Sid) || got[0].Body != "listed" ||
		got[0].StatusCallback != "https://example.com/cb" || got[0].Status != "queued" {
		t.Errorf("GET /_standin/messages = %+v", got)
	}
}

func TestSignatureMatchesTwilioVector(t *testing.T) {
	// The vector twilio-go's own validator tests use.
	params := url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
	got := twiliostandin.Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}
