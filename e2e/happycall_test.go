package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
	"github.com/dangol/dangol/workflows/histories"
)

// happyCallParams is the 3.1.3.1 plan compressed to seconds: a thank-you
// SMS and mail at "3 days", a call at "1 month" nobody answers (fallback
// SMS after the window), a call at "3 months" staff complete.
func happyCallParams() map[string]any {
	return map[string]any{
		"categories":  []string{"가전"},
		"call_window": "5s",
		"touches": []map[string]any{
			{"key": "3d", "offset": "2s", "sms": "[{{.Store}}] {{.Name}}님, {{.Product}} 구매 감사합니다.",
				"email_subject": "{{.Name}}님, 구매 감사합니다", "email": "{{.Product}} 사용 설명서를 보내드립니다."},
			{"key": "1mo", "offset": "4s", "call": true, "fallback_sms": "{{.Name}}님, 전화 드렸는데 통화가 어려웠습니다. 불편한 점 있으시면 연락 주세요."},
			{"key": "3mo", "offset": "11s", "call": true, "fallback_sms": "must not be sent: staff reached the customer"},
		},
	}
}

func TestHappyCallEndToEnd(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	const phone = "+821012345678"
	s.putCustomer("c-1", phone, "minsu@example.com")

	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "가전 해피콜", "kind": "happy_call", "params": happyCallParams()}, &prog)

	// A purchase outside the program's categories enrols nowhere.
	if p := s.postPurchase("o-shirt", "c-1", "의류", time.Now(), http.StatusCreated); len(p.Enrolments) != 0 {
		t.Fatalf("clothing purchase enrolled: %+v", p.Enrolments)
	}
	bought := time.Now()
	first := s.postPurchase("o-1", "c-1", "가전", bought, http.StatusCreated)
	if len(first.Enrolments) != 1 {
		t.Fatalf("enrolments %+v", first.Enrolments)
	}
	enrolment := first.Enrolments[0]
	if want := workflows.HappyCallWorkflowID(prog.ID, 0); !strings.HasPrefix(enrolment.WorkflowID, strings.TrimSuffix(want, "0")) {
		t.Fatalf("workflow id %s, want %s<purchase>", enrolment.WorkflowID, want)
	}
	// The same purchase again: same enrolment, no second sequence.
	again := s.postPurchase("o-1", "c-1", "가전", bought, http.StatusOK)
	if len(again.Enrolments) != 1 || again.Enrolments[0].ID != enrolment.ID {
		t.Fatalf("repeat purchase: %+v", again.Enrolments)
	}

	// "3 days": the SMS reaches Twilio (the stand-in), the mail the catcher.
	eventually(t, 15*time.Second, "thank-you SMS", func() bool { return len(s.smsTo(phone)) >= 1 })
	if got, want := s.smsTo(phone)[0], "[강남점] 김민수님, 비스포크 냉장고 구매 감사합니다."; got != want {
		t.Fatalf("sms body %q, want %q", got, want)
	}
	eventually(t, 10*time.Second, "thank-you mail", func() bool { return len(s.mail.Messages()) >= 1 })
	if m := s.mail.Messages()[0]; len(m.RcpttoRequestResponse()) != 1 || !strings.Contains(m.RcpttoRequestResponse()[0][0], "minsu@example.com") {
		t.Fatalf("mail went to %q", m.RcpttoRequestResponse())
	}

	// "1 month": a call task appears on the store's list; nobody calls.
	var firstCall store.CallTask
	eventually(t, 15*time.Second, "first call task", func() bool {
		var out struct {
			CallTasks []store.CallTask `json:"call_tasks"`
		}
		s.must(http.StatusOK, "GET", "/v1/call-tasks?status=open&store="+urlq("강남점"), nil, &out)
		if len(out.CallTasks) == 1 {
			firstCall = out.CallTasks[0]
			return true
		}
		return false
	})
	if firstCall.CustomerExtID != "c-1" || firstCall.Kind != domain.TaskHappyCall || firstCall.ExpiresAt == nil {
		t.Fatalf("call task %+v", firstCall)
	}

	// Mid-run, the journey shows what was done and what comes next.
	var journey struct {
		Enrolments []struct {
			Status    string               `json:"status"`
			Outcome   *string              `json:"outcome"`
			StepsDone []workflows.StepDone `json:"steps_done"`
			Next      *workflows.NextStep  `json:"next"`
			Messages  []store.Message      `json:"messages"`
			QueryErr  string               `json:"query_error"`
		} `json:"enrolments"`
	}
	// (Polled: on a loaded machine the first query can land before the
	// workflow task that created the call task has completed.)
	eventually(t, 5*time.Second, "journey to show the open call", func() bool {
		s.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, &journey)
		return len(journey.Enrolments) == 1 && journey.Enrolments[0].Next != nil && journey.Enrolments[0].Next.Touch == "1mo" && journey.Enrolments[0].Next.Waiting == "call"
	})

	// The window closes: the task expires and the fallback SMS goes out.
	eventually(t, 15*time.Second, "fallback SMS", func() bool { return len(s.smsTo(phone)) >= 2 })
	if !strings.Contains(s.smsTo(phone)[1], "통화가 어려웠습니다") {
		t.Fatalf("fallback body %q", s.smsTo(phone)[1])
	}
	if task, err := s.st.CallTask(context.Background(), firstCall.ID); err != nil || task.Status != domain.TaskExpired {
		t.Fatalf("first call task: %+v %v", task, err)
	}

	// "3 months": staff reach the customer and complete the task.
	var second store.CallTask
	eventually(t, 15*time.Second, "second call task", func() bool {
		var out struct {
			CallTasks []store.CallTask `json:"call_tasks"`
		}
		s.must(http.StatusOK, "GET", "/v1/call-tasks?status=open", nil, &out)
		if len(out.CallTasks) == 1 && out.CallTasks[0].ID != firstCall.ID {
			second = out.CallTasks[0]
			return true
		}
		return false
	})
	var done store.CallTask
	s.must(http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", second.ID), map[string]any{"outcome": "reached", "note": "냉장고 소음이 조금 있다고 하심"}, &done)
	if done.Status != domain.TaskCompleted || *done.Outcome != "reached" {
		t.Fatalf("completed task %+v", done)
	}
	// Completing twice with the same outcome is fine; another outcome is not.
	s.must(http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", second.ID), map[string]any{"outcome": "reached", "note": "x"}, nil)
	s.must(http.StatusConflict, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", second.ID), map[string]any{"outcome": "complaint"}, nil)

	eventually(t, 15*time.Second, "enrolment to end", func() bool {
		s.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, &journey)
		return journey.Enrolments[0].Status == domain.EnrolmentEnded
	})
	j := journey.Enrolments[0]
	if *j.Outcome != domain.OutcomeCompleted || j.Next != nil {
		t.Fatalf("ended journey %+v", j)
	}
	var actions []string
	for _, d := range j.StepsDone {
		actions = append(actions, d.Touch+":"+d.Action)
	}
	// A touch's SMS and mail are sent together (lean-touch), so the
	// journey, in the order the messages were made, may show either first.
	if len(actions) >= 2 && actions[0] == "3d:email" && actions[1] == "3d:sms" {
		actions[0], actions[1] = actions[1], actions[0]
	}
	want := []string{"3d:sms", "3d:email", "1mo:call_task", "1mo:expired", "1mo:fallback_sms", "3mo:call_task", "3mo:reached"}
	if !slices.Equal(actions, want) {
		t.Fatalf("steps %v, want %v", actions, want)
	}
	voices, err := s.st.CustomerVoices(context.Background(), *mustCustomerID(t, s, "c-1"))
	if err != nil || len(voices) != 1 || voices[0].Note != "냉장고 소음이 조금 있다고 하심" {
		t.Fatalf("voices %+v %v", voices, err)
	}
	// Exactly the two SMS, and the stand-in's signed delivery reports
	// reached the messages table.
	if got := s.smsTo(phone); len(got) != 2 {
		t.Fatalf("sms sent %d times: %q", len(got), got)
	}
	eventually(t, 10*time.Second, "delivered status", func() bool {
		for _, m := range j.Messages {
			if m.Channel == domain.ChannelSMS {
				cur, err := s.st.MessageByKey(context.Background(), m.IdempotencyKey)
				if err != nil || cur.Status != domain.MessageDelivered {
					return false
				}
			}
		}
		return len(j.Messages) == 3
	})
	// The first SMS (the touch's mail may have been made before it).
	firstSMS := j.Messages[0]
	for _, msg := range j.Messages {
		if msg.Channel == domain.ChannelSMS {
			firstSMS = msg
			break
		}
	}
	m, _ := s.st.MessageByKey(context.Background(), firstSMS.IdempotencyKey)
	events, err := s.st.MessageEvents(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var history []string
	for _, e := range events {
		history = append(history, e.Status)
	}
	if !slices.Equal(history, []string{"pending", "sending", "queued", "sent", "delivered"}) {
		t.Fatalf("status history %v", history)
	}
	saveHistory(t, s.tc, enrolment.WorkflowID, "happycall.json")
}

func mustCustomerID(t *testing.T, s *stack, ext string) *int64 {
	c, err := s.st.CustomerByExternalID(context.Background(), ext)
	if err != nil {
		t.Fatal(err)
	}
	return &c.ID
}

func urlq(s string) string { return url.QueryEscape(s) }

// saveHistory adds the run's history to the replay corpus when
// DANGOL_UPDATE_HISTORIES is set: a new dated file (name without .json is
// its kind) listed in the corpus manifest, never overwriting a committed
// one; the replay test then proves later code still replays this run.
func saveHistory(t *testing.T, tc client.Client, workflowID, name string) {
	if os.Getenv("DANGOL_UPDATE_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	iter := tc.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	hist := &historyList{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist.proto())
	if err != nil {
		t.Fatal(err)
	}
	path, err := histories.Add(filepath.Join(testenv.RepoRoot(), "workflows", "testdata"), strings.TrimSuffix(name, ".json"), b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
