package workflows

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
)

// ReportRollups calls StoreReportDays from where the last call got to
// until nothing is left, and a run with more than maxReportRollupsCalls
// calls' work continues as new from its cursor with its sums.
func TestReportRollupsCarriesOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		calls int // calls with More set before the last
		can   bool
	}{
		{"one call", 0, false},
		{"three calls", 2, false},
		{"more than a run", maxReportRollupsCalls + 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			ts.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			env := ts.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(ReportRollups)
			var afters []int64
			env.OnActivity(a.StoreReportDays, mock.Anything, mock.Anything).Return(
				func(_ context.Context, req activities.StoreReportDaysRequest) (activities.StoreReportDaysResult, error) {
					afters = append(afters, req.After)
					n := len(afters)
					return activities.StoreReportDaysResult{Through: int64(10 * n), Programs: 1, Days: 5, More: n <= tc.calls}, nil
				})
			env.ExecuteWorkflow(ReportRollups, ReportRollupsInput{})
			err := env.GetWorkflowError()
			var can *workflow.ContinueAsNewError
			if tc.can {
				if !errors.As(err, &can) || len(afters) != maxReportRollupsCalls {
					t.Fatalf("err %v after %d calls, want continue-as-new after %d", err, len(afters), maxReportRollupsCalls)
				}
				var next ReportRollupsInput
				if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
					t.Fatal(err)
				}
				if next.After != int64(10*maxReportRollupsCalls) || next.Done.Days != 5*maxReportRollupsCalls {
					t.Fatalf("continued as %+v", next)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var res activities.StoreReportDaysResult
			if err := env.GetWorkflowResult(&res); err != nil {
				t.Fatal(err)
			}
			if len(afters) != tc.calls+1 || res.Days != 5*(tc.calls+1) || res.More {
				t.Fatalf("%d calls, result %+v", len(afters), res)
			}
			for i, after := range afters {
				if after != int64(10*i) {
					t.Fatalf("call %d started after %d, want %d", i+1, after, 10*i)
				}
			}
		})
	}
}
