package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/dangol/dangol/metrics/metricstest"
	"github.com/dangol/dangol/workflows"
)

type fanOutOut struct {
	ID        int64  `json:"id"`
	Status    string `json:"status"`
	Total     int    `json:"total"`
	Signalled int    `json:"signalled"`
	Ended     int    `json:"ended"`
}

// Pause and stop of a program with more live enrolments than one page:
// the request answers 202 after one insert and one SignalWithStart, and a
// FanOut workflow signals every enrolment in the background, with its
// progress on the program.
func TestProgramLifecycleFansOutInBackground(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	const n = 620 // two pages of the fan-out
	seedCustomers(t, s, "fan", n, 120)
	// An operator sees the sweep's enrolments, the fan-outs' progress and
	// the ends on /metrics (other tests may count too: at least ours).
	counters := func() [4]float64 {
		f := metricstest.Scrape(t)
		return [4]float64{
			metricstest.Sum(f, "dangol_enrolments_started_total", map[string]string{"kind": "welcome_back"}),
			metricstest.Sum(f, "dangol_fanout_enrolments_total", nil),
			metricstest.Sum(f, "dangol_fanouts_completed_total", nil),
			metricstest.Sum(f, "dangol_enrolments_ended_total", map[string]string{"kind": "welcome_back", "outcome": "stopped"}),
		}
	}
	before := counters()
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "컴백", "kind": "welcome_back", "params": map[string]any{
		"lapsed_days": 90, "coupon": map[string]any{"valid_for": "30d"}, "holdout_percent": 0,
	}}, &prog)
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
	live := func() int {
		var c int
		if err := s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM enrolments WHERE program_id = $1 AND status = 'active'`, prog.ID).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	eventually(t, 120*time.Second, "all enrolments active", func() bool { return live() == n })

	path := fmt.Sprintf("/v1/programs/%d", prog.ID)
	var paused struct {
		FanOut fanOutOut `json:"fan_out"`
	}
	asked := time.Now()
	s.must(http.StatusAccepted, "POST", path+"/pause", nil, &paused)
	t.Logf("pause of %d enrolments answered in %s", n, time.Since(asked).Round(time.Millisecond))
	if paused.FanOut.Total != n || paused.FanOut.Status != "running" {
		t.Fatalf("pause fan-out %+v, want running over %d", paused.FanOut, n)
	}
	progress := func() fanOutOut {
		var p struct {
			FanOut *fanOutOut `json:"fan_out"`
		}
		s.must(http.StatusOK, "GET", path, nil, &p)
		if p.FanOut == nil {
			t.Fatal("program shows no fan-out")
		}
		return *p.FanOut
	}
	eventually(t, 60*time.Second, "pause fan-out done", func() bool { return progress().Status == "done" })
	if p := progress(); p.ID != paused.FanOut.ID || p.Signalled+p.Ended != n || p.Signalled == 0 {
		t.Fatalf("pause fan-out finished as %+v, want %d signalled", p, n)
	}
	t.Logf("pause reached every enrolment %s after it was asked for", time.Since(asked).Round(time.Millisecond))
	// The signal arrived: a sample of enrolments says it is paused.
	for _, id := range []string{"fan-000", "fan-333", fmt.Sprintf("fan-%03d", n-1)} {
		e := s.enrolmentOf(t, id, prog.ID)
		v, err := s.tc.QueryWorkflow(context.Background(), e.WorkflowID, "", workflows.QueryJourney)
		var j workflows.Journey
		if err == nil {
			err = v.Get(&j)
		}
		if err != nil || !j.Paused {
			t.Fatalf("%s: paused=%v err=%v", id, j.Paused, err)
		}
	}

	// Stop: every enrolment ends as stopped, through the same background path.
	var stopped struct {
		FanOut fanOutOut `json:"fan_out"`
	}
	s.must(http.StatusAccepted, "POST", path+"/stop", nil, &stopped)
	eventually(t, 120*time.Second, "every enrolment stopped", func() bool {
		var c int
		_ = s.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM enrolments WHERE program_id = $1 AND outcome = 'stopped'`, prog.ID).Scan(&c)
		return c == n
	})
	eventually(t, 30*time.Second, "stop fan-out done", func() bool { return progress().Status == "done" })
	// Every enrolment live when the stop was asked for is accounted for,
	// even where a retried page met enrolments its first attempt had
	// already stopped. (An enrolment that woke meanwhile learnt the stop
	// from the database and ended by itself: the total may be under n.)
	stop := progress()
	if stop.ID != stopped.FanOut.ID || stop.Total > n || stop.Signalled+stop.Ended != stop.Total {
		t.Fatalf("stop fan-out finished as %+v, want its total (at most %d) signalled or ended", stop, n)
	}
	desc, err := s.tc.DescribeWorkflowExecution(context.Background(), workflows.ProgramFanOutWorkflowID(prog.ID), "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("fan-out workflow is %s", st)
	}
	saveHistory(t, s.tc, workflows.ProgramFanOutWorkflowID(prog.ID), "fanout.json")

	after := counters()
	for i, want := range [4]float64{n, float64(n + stop.Total), 2, n} {
		name := [4]string{"enrolments started", "fan-out enrolments", "fan-outs completed", "enrolments ended stopped"}[i]
		if got := after[i] - before[i]; got < want {
			t.Errorf("/metrics: %s grew by %v, want at least %v", name, got, want)
		}
	}
}
