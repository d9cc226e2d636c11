package schedules_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/twiliostandin"
	"github.com/dangol/dangol/worker"
	"github.com/dangol/dangol/workflows"
)

// Delivery reports lost while dangol was down (the stand-in's callbacks
// off): the scheduled reconcile job asks the provider and the messages end
// delivered, with one event each saying where the news came from.
func TestReconcileScheduleFetchesLostDeliveryReports(t *testing.T) {
	r := newScheduleRig(t, workflows.ReconcileScheduleID, "reconcile-test")
	ctx, c, h, queue, standin, sender := r.ctx, r.c, r.handle, r.queue, r.standin, r.sender
	standin.SetCallbacks(false)
	st, _ := testenv.Store(t)
	acts := &activities.Activities{Store: st, SMS: sender, StatusCallbackURL: "http://127.0.0.1:9/webhooks/twilio/status"}
	p, err := st.CreateProgram(ctx, "r", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s","sms":"{{.Name}}님, 감사합니다"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 3 {
		phone := fmt.Sprintf("+8210555500%02d", i)
		cust, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: fmt.Sprintf("c%d", i), Name: "김민수", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
			Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now(), Source: "pos"}}})
		if err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprintf("reconcile/%d", i)
		keys = append(keys, key)
		res, err := acts.SendMessage(ctx, activities.SendRequest{Key: key, Channel: domain.ChannelSMS, CustomerID: cust.ID,
			Template: activities.TemplateRef{ProgramID: p.ID, Version: 1, Step: "t1", Field: activities.FieldSMS}})
		if err != nil || res.Status != domain.MessageQueued {
			t.Fatalf("send %d: %+v %v", i, res, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for delivered(standin) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("stand-in never delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // past QuietFor below
	for _, k := range keys {
		if m, _ := st.MessageByKey(ctx, k); m.Status != domain.MessageQueued {
			t.Fatalf("%s is %s before reconciling, want queued (callbacks were off)", k, m.Status)
		}
	}

	// An hourly schedule, so only the trigger runs it during the test.
	req := activities.ReconcileRequest{QuietFor: time.Second}
	if err := schedules.EnsureReconcile(ctx, c, queue, time.Second/2, req); err == nil {
		t.Fatal("an interval under a second was accepted")
	}
	for range 2 {
		if err := schedules.EnsureReconcile(ctx, c, queue, time.Hour, req); err != nil {
			t.Fatal(err)
		}
	}
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || fmt.Sprint(a.Workflow) != "ReconcileMessages" || a.TaskQueue != workflows.ControlQueue(queue) ||
		len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != time.Hour ||
		d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("schedule %+v action %+v", d.Schedule.Spec, d.Schedule.Action)
	}

	w := worker.New(c, queue, acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	if err := schedules.TriggerReconcile(ctx, c); err != nil {
		t.Fatal(err)
	}
	var run *client.ScheduleWorkflowExecution
	deadline = time.Now().Add(30 * time.Second)
	for run == nil {
		if time.Now().After(deadline) {
			t.Fatal("the trigger started no workflow")
		}
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range d.Info.RecentActions {
			if a.StartWorkflowResult != nil {
				run = a.StartWorkflowResult
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var res activities.ReconcileResult
	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.GetWorkflow(runCtx, run.WorkflowID, run.FirstExecutionRunID).Get(runCtx, &res); err != nil {
		t.Fatalf("workflow %s: %v", run.WorkflowID, err)
	}
	if res.Checked != 3 || res.Updated != 3 || res.Errors != 0 {
		t.Fatalf("result %+v, want 3 checked and updated", res)
	}
	for _, k := range keys {
		m, err := st.MessageByKey(ctx, k)
		if err != nil || m.Status != domain.MessageDelivered {
			t.Fatalf("%s: %s %v, want delivered", k, m.Status, err)
		}
		events, err := st.MessageEvents(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := events[len(events)-1]
		if last.Status != domain.MessageDelivered || last.Detail["source"] != "reconcile" {
			t.Fatalf("%s: last event %+v, want delivered from reconcile", k, last)
		}
	}
	if n := len(standin.Messages()); n != 3 {
		t.Fatalf("stand-in holds %d messages, want 3", n)
	}
}

func delivered(s *twiliostandin.Server) int {
	n := 0
	for _, m := range s.Messages() {
		if m.Status == "delivered" {
			n++
		}
	}
	return n
}
