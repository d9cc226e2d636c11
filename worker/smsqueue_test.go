package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// sendsWorkflow schedules one send per channel, by the name the real
// SendMessage is registered under, as the enrolment workflows do.
func sendsWorkflow(ctx workflow.Context, channels []string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var fs []workflow.Future
	for i, ch := range channels {
		fs = append(fs, workflow.ExecuteActivity(ctx, sendActivity, activities.SendRequest{Key: fmt.Sprint(i), Channel: ch}))
	}
	for _, f := range fs {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// queueRecorder stands in for SendMessage (this test is about where the
// send runs and how fast, not what it does) and records the task queue
// and time of each run.
type queueRecorder struct {
	mu   sync.Mutex
	runs map[string][]time.Time // channel|queue -> start times
}

func (q *queueRecorder) send(ctx context.Context, req activities.SendRequest) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := req.Channel + "|" + activity.GetInfo(ctx).TaskQueue
	q.runs[k] = append(q.runs[k], time.Now())
	return nil
}

// SMS sends run on the SMS queue and at most WORKER_SMS_PER_SECOND of
// them start a second; mail stays on the workflow's queue, uncapped.
func TestSMSSendsRunOnTheRateCappedSMSQueue(t *testing.T) {
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	queue := fmt.Sprintf("smsqueue-%d", rand.IntN(1e9))
	rec := &queueRecorder{runs: map[string][]time.Time{}}
	register := func(w sdkworker.Worker) {
		w.RegisterWorkflowWithOptions(sendsWorkflow, workflow.RegisterOptions{Name: "sends"})
		w.RegisterActivityWithOptions(rec.send, activity.RegisterOptions{Name: sendActivity})
	}
	registerActivities := func(w sdkworker.Worker) {
		w.RegisterActivityWithOptions(rec.send, activity.RegisterOptions{Name: sendActivity})
	}
	tuning := DefaultTuning()
	tuning.SMSPerSecond = 2
	ws := newWorkers(tc, queue, tuning, register, registerActivities)
	if err := ws.Start(); err != nil {
		t.Fatal(err)
	}
	defer ws.Stop()

	const nSMS, nMail = 8, 8
	var chans []string
	for range nSMS {
		chans = append(chans, domain.ChannelSMS)
	}
	for range nMail {
		chans = append(chans, domain.ChannelEmail)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "sends", chans)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}

	sms := rec.runs[domain.ChannelSMS+"|"+SMSQueue(queue)]
	mail := rec.runs[domain.ChannelEmail+"|"+queue]
	if len(sms) != nSMS || len(mail) != nMail || len(rec.runs) != 2 {
		t.Fatalf("runs by channel|queue: %v; want %d SMS on %s and %d mails on %s", counts(rec.runs), nSMS, SMSQueue(queue), nMail, queue)
	}
	// 8 sends at 2 a second: the last starts at least ~3 s after the
	// first (a burst of a couple is allowed); uncapped, all start at once.
	if span := spread(sms); span < 2500*time.Millisecond {
		t.Errorf("8 SMS sends at 2/s started within %s of each other; the rate cap is not applied", span)
	}
	if span := spread(mail); span > 2*time.Second {
		t.Errorf("8 mails started over %s; mail should not be capped", span)
	}
}

func spread(ts []time.Time) time.Duration {
	lo, hi := ts[0], ts[0]
	for _, t := range ts {
		if t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	return hi.Sub(lo)
}

func counts(m map[string][]time.Time) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}
