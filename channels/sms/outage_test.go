package sms_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/twiliostandin"
)

// A 429 with Retry-After holds back every call of the sender until it has
// passed: the retry of the same message, another message, and the Find a
// retry starts with. Nothing reaches Twilio early, which the stand-in
// counts (early retries); before the fix the retry went at once.
func TestRetryAfterIsHonouredByEveryCall(t *testing.T) {
	st, ts := standin(t, time.Hour)
	s := sender(t, ts.URL)
	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.Outage429, For: time.Minute, RetryAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	msg := sms.Message{To: alice, Body: "rate limited"}
	_, err := s.Send(ctx, msg)
	pe := providerError(t, err)
	if pe.HTTPStatus != http.StatusTooManyRequests || pe.Code != 20429 || pe.Permanent || pe.RetryAfter != 2*time.Second {
		t.Fatalf("got %+v, want a transient 429/20429 with RetryAfter 2s", pe)
	}
	began := time.Now()
	for _, call := range []func() error{
		func() error { _, err := s.Send(ctx, msg); return err },
		func() error { _, err := s.Send(ctx, sms.Message{To: "+14155550101", Body: "another"}); return err },
		func() error { _, _, err := s.Find(ctx, alice, "rate limited", began); return err },
		func() error { _, err := s.Fetch(ctx, "SM00000000000000000000000000000000"); return err },
	} {
		pe := providerError(t, call())
		if pe.Permanent || pe.RetryAfter <= 0 || pe.RetryAfter > 2*time.Second {
			t.Errorf("call during Retry-After: %+v; want transient with the rest of the wait", pe)
		}
	}
	if got := st.Outages(); got.Answered429 != 1 || got.EarlyRetries != 0 {
		t.Fatalf("stand-in: %+v; want one 429 answered and no early retry", got)
	}

	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.OutageNone}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(began.Add(2 * time.Second)))
	if _, err := s.Send(ctx, msg); err != nil {
		t.Fatalf("send after Retry-After: %v", err)
	}
	if got := st.Outages(); got.EarlyRetries != 0 || len(st.Messages()) != 1 {
		t.Fatalf("stand-in: %+v, %d messages; want no early retry, 1 message", got, len(st.Messages()))
	}
}

// Retry-After as seconds or as a date; a huge one is bounded, so a bad
// header cannot stop every message for days; a 500 with one does not
// pause (only 429 and 503 mean "come back later").
func TestRetryAfterForms(t *testing.T) {
	for _, c := range []struct {
		status int
		header string
		min    time.Duration
		max    time.Duration
		paused bool
	}{
		{429, "3", 3 * time.Second, 3 * time.Second, true},
		{503, time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat), 8 * time.Second, 10 * time.Second, true},
		{429, "86400000000", 5 * time.Minute, 5 * time.Minute, true},
		{429, "soon", 0, 0, false},
		{429, "-5", 0, 0, false},
		{500, "3", 3 * time.Second, 3 * time.Second, false},
	} {
		calls := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Retry-After", c.header)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(`{"code":20429,"message":"slow down","status":429}`))
		}))
		s := sender(t, srv.URL)
		_, err := s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
		pe := providerError(t, err)
		if pe.RetryAfter < c.min || pe.RetryAfter > c.max {
			t.Errorf("%d Retry-After %q: RetryAfter %s, want %s to %s", c.status, c.header, pe.RetryAfter, c.min, c.max)
		}
		_, _ = s.Send(context.Background(), sms.Message{To: alice, Body: "hi"})
		if paused := calls == 1; paused != c.paused {
			t.Errorf("%d Retry-After %q: %d calls reached the server; paused=%v, want %v", c.status, c.header, calls, paused, c.paused)
		}
		srv.Close()
	}
}

// The hard case: Twilio accepted the message and the answer never came
// (the client timed out). The message went once; Find, which the send
// activity asks before sending a "sending" message again, finds it, so
// the retry does not send it twice.
func TestHangAfterAcceptIsFoundBeforeResending(t *testing.T) {
	st, ts := standin(t, time.Hour)
	s, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber,
		APIBase: ts.URL, HTTPTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.OutageHang, For: time.Second, Hang: time.Minute}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	_, err = s.Send(context.Background(), sms.Message{To: alice, Body: "hung"})
	var pe *sms.ProviderError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &pe) {
		t.Fatalf("send during a hang: %v; want the client's timeout", err)
	}
	// During the hang Find cannot answer either: an error, never "not
	// found", so the activity retries instead of sending.
	if _, found, err := s.Find(context.Background(), alice, "hung", began); err == nil || found {
		t.Fatalf("find during the hang: found=%v err=%v; want an error", found, err)
	}
	time.Sleep(time.Until(began.Add(time.Second)))
	r, found, err := s.Find(context.Background(), alice, "hung", began)
	if err != nil || !found || r.ProviderID != st.Messages()[0].Sid {
		t.Fatalf("find after the hang: %+v found=%v err=%v; want the accepted message", r, found, err)
	}
	if n := len(st.Messages()); n != 1 {
		t.Fatalf("%d messages at the stand-in, want 1", n)
	}
}

// The SMS activity looks a message up (Find) and then sends it within one
// start-to-close timeout of 15 s. With the provider hanging, both calls
// give up on their own, leaving the activity time to record the outcome;
// before, Find took its whole 10 s and Send was cut by the activity's
// deadline 5 s later, with nothing left to record its answer.
func TestFindAndSendFitTheActivityDeadline(t *testing.T) {
	st, ts := standin(t, time.Hour)
	s, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: accountSID, AuthToken: authToken, From: fromNumber, APIBase: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetOutage(twiliostandin.Outage{Mode: twiliostandin.OutageHang, For: time.Minute, Hang: time.Minute}); err != nil {
		t.Fatal(err)
	}
	const startToClose = 15 * time.Second // workflows: smsActivity
	ctx, cancel := context.WithTimeout(context.Background(), startToClose)
	defer cancel()
	began := time.Now()
	if _, found, err := s.Find(ctx, alice, "hung", began); err == nil || found {
		t.Fatalf("find during the hang: found=%v err=%v; want an error", found, err)
	}
	if _, err := s.Send(ctx, sms.Message{To: alice, Body: "hung"}); err == nil {
		t.Fatal("send during the hang succeeded")
	}
	if left := time.Until(began.Add(startToClose)); ctx.Err() != nil || left < time.Second {
		t.Fatalf("find and send took %s of the %s; want at least 1s left to record the answer", time.Since(began).Round(time.Millisecond), startToClose)
	}
	// Nothing is called without time to record its answer.
	short, cancelShort := context.WithTimeout(context.Background(), time.Second)
	defer cancelShort()
	before := st.Outages().Hung
	if _, err := s.Send(short, sms.Message{To: alice, Body: "late"}); !errors.Is(err, context.DeadlineExceeded) || st.Outages().Hung != before {
		t.Fatalf("send with 1s left: %v, stand-in hung %d calls (before %d); want no call", err, st.Outages().Hung, before)
	}
}
