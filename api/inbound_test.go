package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
	"github.com/dangol/dangol/workflows"
)

const inboundPhone = "+821012345678"

// inbound posts a customer's SMS as Twilio would, signed unless forged.
func (e *env) inbound(sid, from, body string, signature func(hook string, form url.Values) string) response {
	e.t.Helper()
	form := url.Values{"MessageSid": {sid}, "AccountSid": {"AC00000000000000000000000000000000"}, "From": {from}, "To": {"+15005550006"}, "Body": {body}}
	hook := e.url + "/webhooks/twilio/inbound"
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if signature == nil {
		h["X-Twilio-Signature"] = twiliostandin.Signature(twilioToken, hook, form)
	} else if sig := signature(hook, form); sig != "" {
		h["X-Twilio-Signature"] = sig
	}
	return e.request(e.url, "POST", "/webhooks/twilio/inbound", form.Encode(), h)
}

func inboundSID(n int) string { return fmt.Sprintf("SM%032x", n) }

func (e *env) smsConsent(externalID string) store.Consent {
	e.t.Helper()
	c, err := e.st.CustomerByExternalID(context.Background(), externalID)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Consent[domain.ChannelSMS]
}

func (e *env) putConsenting(externalID, phone string, channels ...string) {
	e.t.Helper()
	consent := map[string]any{}
	for _, ch := range channels {
		consent[ch] = grant(true, "pos")
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/"+externalID, map[string]any{"name": "김민수", "phone": phone, "consent": consent}, nil)
}

func TestInboundForgedChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.putConsenting("c-1", inboundPhone, "sms", "email")
	events := e.count(`SELECT count(*) FROM consent_events`)
	for name, sig := range map[string]func(string, url.Values) string{
		"unsigned":      func(string, url.Values) string { return "" },
		"another token": func(h string, f url.Values) string { return twiliostandin.Signature("not-the-token", h, f) },
		"another URL": func(_ string, f url.Values) string {
			return twiliostandin.Signature(twilioToken, "https://evil.example/x", f)
		},
		"body changed": func(h string, _ url.Values) string {
			return twiliostandin.Signature(twilioToken, h, url.Values{"Body": {"START"}})
		},
		"garbage":             func(string, url.Values) string { return "bm90IGEgc2lnbmF0dXJl" },
		"signed for the form": nil, // control: must pass below, after the forged ones
	} {
		if sig == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			e.inbound(inboundSID(1), inboundPhone, "STOP", sig).wantProblem(t, http.StatusForbidden, "")
		})
	}
	if n := e.count(`SELECT count(*) FROM inbound_messages`); n != 0 {
		t.Fatalf("%d inbound rows after forged requests", n)
	}
	if n := e.count(`SELECT count(*) FROM consent_events`); n != events || !e.smsConsent("c-1").Granted {
		t.Fatalf("forged STOP changed consent: %d events (was %d), %+v", n, events, e.smsConsent("c-1"))
	}
	if r := e.inbound(inboundSID(1), inboundPhone, "STOP", nil); r.status != http.StatusOK {
		t.Fatalf("signed STOP: %d %s", r.status, r.body)
	}
	if e.smsConsent("c-1").Granted {
		t.Fatal("signed STOP did not withdraw")
	}
	// Bad fields of a signed request are a 400 naming them.
	e.inbound(inboundSID(2), "01012345678", "STOP", nil).wantProblem(t, http.StatusBadRequest, "From")
	e.inbound("not-a-sid", inboundPhone, "STOP", nil).wantProblem(t, http.StatusBadRequest, "MessageSid")
}

func TestInboundStopAndStartVariants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.putConsenting("c-1", inboundPhone, "sms", "email")
	n := 0
	for _, tc := range []struct{ stop, start string }{
		{"STOP", "START"}, {" stop ", "start"}, {"수신거부", "수신동의"}, {"수신 거부", "YES"},
		{"ＳＴＯＰ", "ｓｔａｒｔ"}, {"Unsubscribe.", "UNSTOP"}, {"거부", "Start!"}, {"중지", "yes"},
		{"STOPALL", "START"}, {"cancel", "START"}, {"End", "START"}, {"quit", "START"},
	} {
		n++
		if r := e.inbound(inboundSID(n), inboundPhone, tc.stop, nil); r.status != http.StatusOK {
			t.Fatalf("%q: %d %s", tc.stop, r.status, r.body)
		}
		if c := e.smsConsent("c-1"); c.Granted || c.Source != store.SourceSMSReply {
			t.Fatalf("after %q: sms consent %+v, want withdrawn by sms reply", tc.stop, c)
		}
		n++
		e.inbound(inboundSID(n), inboundPhone, tc.start, nil)
		if c := e.smsConsent("c-1"); !c.Granted || c.Source != store.SourceSMSReply {
			t.Fatalf("after %q: sms consent %+v, want granted by sms reply", tc.start, c)
		}
	}
	// Each reply is one consent event, recorded as the customer's own.
	if got := e.count(`SELECT count(*) FROM consent_events WHERE actor = 'customer' AND source = 'sms reply' AND channel = 'sms'`); got != n {
		t.Fatalf("%d consent events by sms reply, want %d", got, n)
	}
	// Each keyword starts its answer's workflow, once, under the reply's id.
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		if _, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InboundAnswerWorkflowID(inboundSID(i)), ""); err != nil {
			t.Fatalf("answer of reply %d: %v", i, err)
		}
		e.terminateAfter(workflows.InboundAnswerWorkflowID(inboundSID(i)))
	}
}

func TestInboundReplayChangesNothingTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.putConsenting("c-1", inboundPhone, "sms", "email")
	stop, start := inboundSID(10), inboundSID(11)
	e.inbound(stop, inboundPhone, "STOP", nil)
	first, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InboundAnswerWorkflowID(stop), "")
	if err != nil {
		t.Fatal(err)
	}
	e.terminateAfter(workflows.InboundAnswerWorkflowID(stop))
	e.inbound(start, inboundPhone, "START", nil)
	e.terminateAfter(workflows.InboundAnswerWorkflowID(start))
	events := e.count(`SELECT count(*) FROM consent_events`)

	// The STOP delivered again after the START: the customer's latest
	// word (START) stands, and no second answer is started.
	for range 3 {
		if r := e.inbound(stop, inboundPhone, "STOP", nil); r.status != http.StatusOK {
			t.Fatalf("replay: %d %s", r.status, r.body)
		}
	}
	if !e.smsConsent("c-1").Granted {
		t.Fatal("a replayed STOP withdrew consent again")
	}
	if n := e.count(`SELECT count(*) FROM consent_events`); n != events {
		t.Fatalf("replays added %d consent events", n-events)
	}
	if n := e.count(`SELECT count(*) FROM inbound_messages`); n != 2 {
		t.Fatalf("%d inbound rows, want 2", n)
	}
	again, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InboundAnswerWorkflowID(stop), "")
	if err != nil {
		t.Fatal(err)
	}
	if again.WorkflowExecutionInfo.Execution.RunId != first.WorkflowExecutionInfo.Execution.RunId {
		t.Fatal("a replay started a second answer")
	}
}

func TestInboundHelpAndVoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// Two customers share the phone (a family's): a reply is theirs both.
	e.putConsenting("c-1", inboundPhone, "sms")
	e.putConsenting("c-2", "+8201012345678", "sms") // the same number, with the trunk 0
	events := e.count(`SELECT count(*) FROM consent_events`)

	e.inbound(inboundSID(20), inboundPhone, " help ", nil)
	if n := e.count(`SELECT count(*) FROM consent_events`); n != events {
		t.Fatal("HELP changed consent")
	}
	desc, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InboundAnswerWorkflowID(inboundSID(20)), "")
	if err != nil {
		t.Fatalf("HELP started no answer: %v", err)
	}
	if desc.WorkflowExecutionInfo.Type.Name != workflows.WorkflowInboundAnswer {
		t.Fatalf("answer workflow %s", desc.WorkflowExecutionInfo.Type.Name)
	}
	e.terminateAfter(workflows.InboundAnswerWorkflowID(inboundSID(20)))

	const said = "냉장고 소음이 좀 있어요. 기사님 방문 가능할까요?"
	e.inbound(inboundSID(21), inboundPhone, said, nil)
	e.inbound(inboundSID(21), inboundPhone, said, nil) // replayed: one voice each
	if n := e.count(`SELECT count(*) FROM customer_voices WHERE source = 'sms reply' AND note = $1`, said); n != 2 {
		t.Fatalf("%d voices, want one for each customer with the phone", n)
	}
	if _, err := e.tc.DescribeWorkflowExecution(ctx, workflows.InboundAnswerWorkflowID(inboundSID(21)), ""); err == nil {
		t.Fatal("an ordinary reply got an answer")
	}
	// STOP from the shared phone withdraws for both; only SMS was granted,
	// so each is opted out and their enrolments are told.
	e.inbound(inboundSID(22), inboundPhone, "STOP", nil)
	e.terminateAfter(workflows.InboundAnswerWorkflowID(inboundSID(22)))
	if e.smsConsent("c-1").Granted || e.smsConsent("c-2").Granted {
		t.Fatal("STOP from a shared phone did not withdraw for both")
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE signal = $1`, workflows.SignalOptOut); n != 2 {
		t.Fatalf("%d opt-out fan-outs, want 2", n)
	}

	var journey struct {
		Replies []struct {
			Body       string `json:"body"`
			Keyword    string `json:"keyword"`
			SharedWith int    `json:"shared_with"`
			Effect     string `json:"effect"`
		} `json:"replies"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-2/journey", nil, &journey)
	if len(journey.Replies) != 3 || journey.Replies[0].Keyword != store.KeywordStop || journey.Replies[1].Body != said ||
		journey.Replies[1].SharedWith != 1 || journey.Replies[2].Keyword != store.KeywordHelp {
		raw, _ := json.Marshal(journey)
		t.Fatalf("journey replies %s", raw)
	}
}
