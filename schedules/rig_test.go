package schedules_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/channels/sms"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/twiliostandin"
)

// scheduleRig is what a test of one of dangol's schedules needs: a client
// of the shared Temporal server, the schedule's handle (deleted after the
// test), a task queue of its own, and twilio-go against a stand-in.
type scheduleRig struct {
	ctx     context.Context
	quiet   *slog.Logger
	c       client.Client
	handle  client.ScheduleHandle
	queue   string
	standin *twiliostandin.Server
	sender  *sms.Twilio
}

func newScheduleRig(t *testing.T, scheduleID, queuePrefix string) *scheduleRig {
	t.Helper()
	r := &scheduleRig{ctx: context.Background(), quiet: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(r.quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r.c = c
	r.handle = c.ScheduleClient().GetHandle(r.ctx, scheduleID)
	t.Cleanup(func() { _ = r.handle.Delete(context.Background()) })
	r.queue = fmt.Sprintf("%s-%d", queuePrefix, rand.IntN(1e9))

	const token = "0123456789abcdef0123456789abcdef"
	r.standin = twiliostandin.New(twiliostandin.Options{AuthToken: token, CallbackDelay: 20 * time.Millisecond, Logger: r.quiet})
	standinHTTP := httptest.NewServer(r.standin)
	t.Cleanup(func() { standinHTTP.Close(); r.standin.Close() })
	if r.sender, err = sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: token, From: "+15005550006", APIBase: standinHTTP.URL}); err != nil {
		t.Fatal(err)
	}
	return r
}

// awaitTriggered waits for the schedule's run that a trigger started (one
// not in seen, which it adds to) and for its result.
func (r *scheduleRig) awaitTriggered(t *testing.T, seen map[string]bool, result any) {
	t.Helper()
	var started *client.ScheduleWorkflowExecution
	deadline := time.Now().Add(30 * time.Second)
	for started == nil {
		if time.Now().After(deadline) {
			t.Fatal("the trigger started no workflow")
		}
		for _, a := range describe(t, r.handle).Info.RecentActions {
			if s := a.StartWorkflowResult; s != nil && !seen[s.FirstExecutionRunID] {
				started = s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen[started.FirstExecutionRunID] = true
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
	defer cancel()
	if err := r.c.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID).Get(ctx, result); err != nil {
		t.Fatalf("the triggered run: %v", err)
	}
}
