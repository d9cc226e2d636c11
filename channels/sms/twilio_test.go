package sms_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/twiliostandin"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "0123456789abcdef0123456789abcdef"
	fromNumber = "+15005550006"
	alice      = "+14155550100"
)

func standin(t *testing.T, delay time.Duration) (*twiliostandin.Server, *httptest.Server) {
	t.Helper()
	st := twiliostandin.New(twiliostandin.Options{
		AuthToken: authToken, CallbackDelay: delay, Logger: slog.New(slog.DiscardHandler),
	})
	ts := httptest.NewServer(st)
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	return st, ts
}

func sender(t *testing.T, apiBase string) *sms.Twilio {
	t.Helper()
	s, err := sms.NewTwilio(sms.TwilioConfig{
		AccountSID: accountSID, AuthToken: authToken, From: fromNumber,
		APIBase: apiBase, HTTPTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func providerError(t *testing.T, err error) *sms.ProviderError {
	t.Helper()
	var pe *sms.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ProviderError", err, err)
	}
	return pe
}

func TestSendRecordsMessage(t *testing.T) {
	st, ts := standin(t, time.Hour)
	r, err := sender(t, ts.URL).Send(context.Background(), sms.Message{
		To: alice, Body: "Your cart misses you", StatusCallback: "https://dangol.example/webhooks/twilio",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ProviderID, "SM") || len(r.ProviderID) != 34 || r.Status != "queued" {
		t.Errorf("receipt = %+v, want SM sid and queued", r)
	}
	got := st.Messages()
	if len(got) != 1 {
		t.Fatalf("stand-in recorded %d messages, want 1", len(got))
	}
	want := twiliostandin.Message{
		Sid: r.ProviderID, AccountSid: accountSID, To: alice, From: fromNumber,
		Body: "Your cart misses you", StatusCallback: "https://dangol.example/webhooks/twilio", Status: "queued",
	}
	m := got[0]
	m.Created, m.Updated = time.Time{}, time.Time{}
	if m != want {
		t.Errorf("recorded %+v, want %+v", m, want)
	}
}

func TestInvalidNumberIsPermanent(t *testing.T) {
	st, ts := standin(t, time.Hour)
	_, err := sender(t, ts.URL).Send(context.Background(), sms.Message{To: "0612345678", Body: "hi"})
	pe := providerError(t, err)
	// The number is personal data: it stays out of what is recorded.
	if pe.Code != 21211 || pe.HTTPStatus != 400 || !pe.Permanent ||
		pe.Message != "The 'To' number [number] is not a valid phone number." || strings.Contains(pe.Body, "0612345678") {
		t.Errorf("got %+v, want permanent 400/21211", pe)
	}
	if n := len(st.Messages()); n != 0 {
		t.Errorf("recorded %d messages", n)
	}
}

func TestServerErrorIsTransientAndNextSendSucceeds(t *testing.T) {
	st, ts := standin(t, time.Hour)
	s := sender(t, ts.URL)
	st.FailNext(1, 500, 20500, "Internal Server Error")

	_, err := s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	pe := providerError(t, err)
	if pe.Permanent || pe.HTTPStatus != 500 || pe.Code != 20500 || pe.Message != "Internal Server Error" {
		t.Errorf("got %+v, want transient 500/20500", pe)
	}
	r, err := s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	if err != nil {
		t.Fatalf("send after the fault: %v", err)
	}
	if got := st.Messages(); len(got) != 1 || got[0].Sid != r.ProviderID {
		t.Errorf("recorded %+v, want only %s", got, r.ProviderID)
	}
}

func TestErrorClassification(t *testing.T) {
	for _, c := range []struct {
		status, code int
		permanent    bool
	}{
		{429, 20429, false},
		{503, 20503, false},
		{400, 21610, true}, // unsubscribed recipient
		{400, 21614, true}, // not a mobile number
		{404, 20404, true},
		// The listed codes are permanent even if Twilio pairs them with a
		// status that would otherwise be retried.
		{503, 21211, true},
	} {
		st, ts := standin(t, time.Hour)
		st.FailNext(1, c.status, c.code, "scripted")
		_, err := sender(t, ts.URL).Send(context.Background(), sms.Message{To: alice, Body: "hi"})
		pe := providerError(t, err)
		if pe.HTTPStatus != c.status || pe.Code != c.code || pe.Permanent != c.permanent {
			t.Errorf("%d/%d: got %+v, want permanent=%v", c.status, c.code, pe, c.permanent)
		}
	}
}

func TestWrongAuthTokenIsPermanent(t *testing.T) {
	_, ts := standin(t, time.Hour)
	s, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: strings.Repeat("f", 32), From: fromNumber, APIBase: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	pe := providerError(t, err)
	if pe.Code != 20003 || pe.HTTPStatus != 401 || !pe.Permanent {
		t.Errorf("got %+v, want permanent 401/20003", pe)
	}
}

func TestNonTwilioErrorBodyIsTransient(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
	}))
	defer proxy.Close()
	_, err := sender(t, proxy.URL).Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	pe := providerError(t, err)
	if pe.HTTPStatus != 502 || pe.Permanent || pe.Code != 0 {
		t.Errorf("got %+v, want transient 502", pe)
	}
}

func TestNetworkErrorIsPlain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = sender(t, "http://"+addr).Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	var pe *sms.ProviderError
	var opErr *net.OpError
	if err == nil || errors.As(err, &pe) || !errors.As(err, &opErr) {
		t.Errorf("got %v (%T), want a plain network error", err, err)
	}
}

func TestContextCancelsRequest(t *testing.T) {
	var once sync.Once
	arrived := make(chan struct{})
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
	}))
	defer hang.Close()
	defer close(release)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	begin := time.Now()
	_, err := sender(t, hang.URL).Send(ctx, sms.Message{To: alice, Body: "hi"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Send took %v after cancel", d)
	}
}

func TestTimeoutBoundsSend(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	s, err := sms.NewTwilio(sms.TwilioConfig{
		AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: hang.URL, HTTPTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

func TestFind(t *testing.T) {
	st, ts := standin(t, time.Millisecond)
	s := sender(t, ts.URL)
	ctx := context.Background()
	since := time.Now()
	r, err := s.Send(ctx, sms.Message{To: alice, Body: "Come back for 10% off"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, sms.Message{To: "+14155550199", Body: "Come back for 10% off"}); err != nil {
		t.Fatal(err)
	}
	// Twilio filters on date_sent, which it sets once the message leaves.
	waitSent(t, st)

	got, ok, err := s.Find(ctx, alice, "Come back for 10% off", since)
	if err != nil || !ok || got.ProviderID != r.ProviderID || got.Status == "" {
		t.Errorf("Find = %+v, %v, %v; want %s", got, ok, err, r.ProviderID)
	}
	for name, c := range map[string]struct {
		to, body string
		since    time.Time
	}{
		"other body":      {alice, "Come back for 20% off", since},
		"prefix of body":  {alice, "Come back", since},
		"other recipient": {"+14155550111", "Come back for 10% off", since},
		"sent before":     {alice, "Come back for 10% off", since.Add(2 * time.Minute)},
	} {
		got, ok, err := s.Find(ctx, c.to, c.body, c.since)
		if err != nil || ok {
			t.Errorf("%s: Find = %+v, %v, %v; want not found", name, got, ok, err)
		}
	}
}

func TestFindPagesThroughManyMessages(t *testing.T) {
	st, ts := standin(t, time.Millisecond)
	s := sender(t, ts.URL)
	ctx := context.Background()
	since := time.Now()
	first, err := s.Send(ctx, sms.Message{To: alice, Body: "the one"})
	if err != nil {
		t.Fatal(err)
	}
	// More than Find's page size, so the match is only on a later page.
	for range 120 {
		if _, err := s.Send(ctx, sms.Message{To: alice, Body: "noise"}); err != nil {
			t.Fatal(err)
		}
	}
	waitSent(t, st)
	got, ok, err := s.Find(ctx, alice, "the one", since)
	if err != nil || !ok || got.ProviderID != first.ProviderID {
		t.Errorf("Find = %+v, %v, %v; want %s", got, ok, err, first.ProviderID)
	}
}

func waitSent(t *testing.T, st *twiliostandin.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending := 0
		for _, m := range st.Messages() {
			if m.Sent.IsZero() {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages never sent", pending)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatusCallbacksValidate(t *testing.T) {
	type hit struct {
		status string
		valid  bool
	}
	var mu sync.Mutex
	var hits []hit
	validator := client.NewRequestValidator(authToken)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		params := map[string]string{}
		for k := range r.PostForm {
			params[k] = r.PostForm.Get(k)
		}
		mu.Lock()
		hits = append(hits, hit{
			status: params["MessageStatus"],
			valid:  validator.Validate("http://"+r.Host+r.URL.RequestURI(), params, r.Header.Get("X-Twilio-Signature")),
		})
		mu.Unlock()
	}))
	defer rcv.Close()

	_, ts := standin(t, 10*time.Millisecond)
	if _, err := sender(t, ts.URL).Send(context.Background(), sms.Message{
		To: alice, Body: "hi", StatusCallback: rcv.URL + "/webhooks/twilio/status",
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(hits)
		mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d callbacks, want 2", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []hit{{"sent", true}, {"delivered", true}}
	if len(hits) != 2 || hits[0] != want[0] || hits[1] != want[1] {
		t.Errorf("callbacks = %+v, want %+v", hits, want)
	}
}

// The production path must leave twilio-go's URLs alone.
func TestNoRewriteWithoutAPIBase(t *testing.T) {
	s := sender(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, sms.Message{To: alice, Body: "hi"})
	if err == nil || !strings.Contains(err.Error(), "https://api.twilio.com/2010-04-01/Accounts/"+accountSID+"/Messages.json") {
		t.Errorf("err = %v, want a canceled request to api.twilio.com", err)
	}
}

func TestNewTwilioValidates(t *testing.T) {
	ok := sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber}
	for name, mutate := range map[string]func(*sms.TwilioConfig){
		"no sid":          func(c *sms.TwilioConfig) { c.AccountSID = "" },
		"no token":        func(c *sms.TwilioConfig) { c.AuthToken = "" },
		"no from":         func(c *sms.TwilioConfig) { c.From = "" },
		"token with dash": func(c *sms.TwilioConfig) { c.AuthToken = "abc-def" },
		// The defaults dangol's dev stack used to ship.
		"old dev sid":      func(c *sms.TwilioConfig) { c.AccountSID = "ACdev00000000000000000000000000000" },
		"old dev token":    func(c *sms.TwilioConfig) { c.AuthToken = "devauthtoken00000000000000000000" },
		"short sid":        func(c *sms.TwilioConfig) { c.AccountSID = accountSID[:33] },
		"long sid":         func(c *sms.TwilioConfig) { c.AccountSID = accountSID + "0" },
		"api key sid":      func(c *sms.TwilioConfig) { c.AccountSID = "SK" + accountSID[2:] },
		"short token":      func(c *sms.TwilioConfig) { c.AuthToken = authToken[:31] },
		"long token":       func(c *sms.TwilioConfig) { c.AuthToken = authToken + "0" },
		"base without URL": func(c *sms.TwilioConfig) { c.APIBase = "127.0.0.1:8089" },
		"base with path":   func(c *sms.TwilioConfig) { c.APIBase = "http://127.0.0.1:8089/twilio" },
	} {
		c := ok
		mutate(&c)
		if _, err := sms.NewTwilio(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := sms.NewTwilio(ok); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

// A 4xx whose body twilio-go cannot read into a code and message (here a
// JSON error of another shape) keeps its status and body, so the failure
// is recorded with a reason instead of "error 0" and nothing.
func TestErrorBodyKeptWhenNotTwilioShape(t *testing.T) {
	st, ts := standin(t, time.Hour)
	st.FailNextBody(1, http.StatusUnprocessableEntity, "application/json",
		`{"status":422,"detail":"number `+alice+` cannot be reached from this account","padding":"`+strings.Repeat("x", 4000)+`"}`)
	_, err := sender(t, ts.URL).Send(context.Background(), sms.Message{To: alice, Body: "hi"})
	pe := providerError(t, err)
	if pe.HTTPStatus != 422 || pe.Code != 0 || !pe.Permanent {
		t.Fatalf("got %+v, want permanent 422 without a Twilio code", pe)
	}
	if !strings.Contains(pe.Body, "cannot be reached from this account") || strings.Contains(pe.Body, alice) || len(pe.Body) > 2048 {
		t.Fatalf("body %q: want the provider's reason, bounded to 2 KiB, without the number", pe.Body)
	}
	if pe.ErrorCode() != "http_422" || pe.Reason() != pe.Body || !strings.Contains(err.Error(), "cannot be reached") {
		t.Fatalf("code %q, reason %q, error %q", pe.ErrorCode(), pe.Reason(), err)
	}
}

func TestFetch(t *testing.T) {
	st, ts := standin(t, time.Millisecond)
	s := sender(t, ts.URL)
	ctx := context.Background()
	r, err := s.Send(ctx, sms.Message{To: alice, Body: "where are you"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.Messages()[0].Status != "delivered" {
		if time.Now().After(deadline) {
			t.Fatal("never delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := s.Fetch(ctx, r.ProviderID)
	if err != nil || got.ProviderID != r.ProviderID || got.Status != "delivered" || got.ErrorCode != 0 {
		t.Fatalf("Fetch = %+v, %v; want delivered", got, err)
	}
	_, err = s.Fetch(ctx, "SM"+strings.Repeat("0", 32))
	if pe := providerError(t, err); pe.HTTPStatus != 404 || pe.Code != 20404 {
		t.Fatalf("unknown sid: %+v", pe)
	}
}
