package schedules_test

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/worker"
	"github.com/dangol/dangol/workflows"
)

// The consent-notices schedule, ensured twice and triggered twice: the
// customer whose consent is two years old gets one reconfirmation SMS at
// the stand-in, and the second run finds nothing to send.
func TestConsentNoticesScheduleSendsOnce(t *testing.T) {
	r := newScheduleRig(t, workflows.ConsentNoticesScheduleID, "consent-notices-test")
	ctx, c, h, queue, standin, sender := r.ctx, r.c, r.handle, r.queue, r.standin, r.sender
	st, _ := testenv.Store(t)
	phone := "+821055556666"
	if _, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: "c", Name: "김민수", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
		Consent: map[string]store.Consent{"sms": {Granted: true, At: time.Now().Add(-731 * 24 * time.Hour), Source: "pos"}}}); err != nil {
		t.Fatal(err)
	}

	// Hourly, so only the triggers run it during the test.
	if err := schedules.EnsureConsentNotices(ctx, c, queue, 0); err == nil {
		t.Fatal("interval 0 accepted")
	}
	for range 2 {
		if err := schedules.EnsureConsentNotices(ctx, c, queue, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	d := describe(t, h)
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || fmt.Sprint(a.Workflow) != "ConsentNotices" || a.TaskQueue != workflows.ControlQueue(queue) ||
		len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != time.Hour ||
		d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("schedule %+v action %+v", d.Schedule.Spec, d.Schedule.Action)
	}

	w := worker.New(c, queue, &activities.Activities{Store: st, SMS: sender})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	seen := map[string]bool{}
	for run, want := range []int{1, 0} {
		if err := schedules.TriggerConsentNotices(ctx, c); err != nil {
			t.Fatal(err)
		}
		var res workflows.ConsentNoticesResult
		r.awaitTriggered(t, seen, &res)
		if res.Reconfirms != want {
			t.Fatalf("run %d: %+v, want %d reconfirmation", run+1, res, want)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if msgs := standin.Messages(); len(msgs) != 1 || msgs[0].To != phone {
		t.Fatalf("stand-in holds %+v, want one SMS to %s", msgs, phone)
	}
}
