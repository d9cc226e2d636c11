package metrics_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/metrics/metricstest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// One SDK metric name reported with different tag sets (the SDK does
// this) still scrapes: each tag set is its own series.
func TestTemporalHandlerTakesDifferentTagSetsOfOneName(t *testing.T) {
	h := metrics.TemporalHandler()
	h.WithTags(map[string]string{"namespace": "n"}).Counter("dangol_test_sdk_counter").Inc(2)
	h.WithTags(map[string]string{"namespace": "n", "operation": "Poll"}).Counter("dangol_test_sdk_counter").Inc(3)
	h.WithTags(map[string]string{"namespace": "n"}).WithTags(map[string]string{"namespace": "m"}).Gauge("dangol_test_sdk_gauge").Update(7)
	h.Timer("dangol_test_sdk_latency").Record(250 * time.Millisecond)
	fams := metricstest.Scrape(t)
	if got := metricstest.Sum(fams, "dangol_test_sdk_counter", nil); got != 5 {
		t.Errorf("counter sum %v, want 5", got)
	}
	if got := metricstest.Sum(fams, "dangol_test_sdk_counter", map[string]string{"operation": "Poll"}); got != 3 {
		t.Errorf("counter{operation=Poll} %v, want 3", got)
	}
	if got := metricstest.Sum(fams, "dangol_test_sdk_gauge", map[string]string{"namespace": "m"}); got != 7 {
		t.Errorf("gauge{namespace=m} %v, want 7 (a later tag overrides)", got)
	}
	if got := metricstest.Sum(fams, "dangol_test_sdk_latency_seconds", nil); got != 1 {
		t.Errorf("timer histogram count %v, want 1", got)
	}
}

func hello(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Second})
	var out string
	err := workflow.ExecuteActivity(ctx, greet, name).Get(ctx, &out)
	return out, err
}

func greet(_ context.Context, name string) (string, error) { return "hello " + name, nil }

// A worker on a client with TemporalHandler puts the SDK's own client and
// worker metrics on /metrics.
func TestTemporalSDKMetricsAreScraped(t *testing.T) {
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), MetricsHandler: metrics.TemporalHandler(),
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	queue := fmt.Sprintf("metrics-%d", time.Now().UnixNano())
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflow(hello)
	w.RegisterActivity(greet)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue, ID: queue}, hello, "metrics")
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := run.Get(ctx, &out); err != nil || out != "hello metrics" {
		t.Fatalf("workflow: %q %v", out, err)
	}
	want := []struct {
		name   string
		labels map[string]string
	}{
		{"temporal_request", map[string]string{"operation": "StartWorkflowExecution"}},
		{"temporal_workflow_completed", map[string]string{"workflow_type": "hello", "task_queue": queue}},
		{"temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "greet"}},
		{"temporal_worker_start", map[string]string{"task_queue": queue}},
	}
	// The worker counts the completion after it answered the workflow
	// task, which the client may see first: scrape until all are there.
	fams := metricstest.Scrape(t)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); fams = metricstest.Scrape(t) {
		all := true
		for _, c := range want {
			all = all && metricstest.Sum(fams, c.name, c.labels) >= 1
		}
		if all {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range want {
		if got := metricstest.Sum(fams, c.name, c.labels); got < 1 {
			var names []string
			for n := range fams {
				if strings.HasPrefix(n, "temporal_") {
					names = append(names, n)
				}
			}
			t.Errorf("%s%v = %v, want >= 1; temporal metrics: %v", c.name, c.labels, got, names)
		}
	}
}
