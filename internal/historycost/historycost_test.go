package historycost_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/internal/historycost"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/workflows/histories"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// ceilings are the committed history events per touch of each kind (per
// enrolment for the birthday, whose year-long run is measured asleep and
// stopped). A change that raises a figure by more than tolerance fails
// TestHistoryCost; lower the ceiling when a change lowers the figure.
var ceilings = map[string]float64{
	// Measured before the lean-enrolment change: happy_call 41,
	// welcome_back 39.5, dormant_wakeup 25.5, second_purchase 36.5,
	// birthday 32 per enrolment; before the lean-touch change: happy_call
	// 20.8-21.7 (its waits depend on how fast the stack answers: 60-65
	// events an enrolment), welcome_back 17.5, dormant_wakeup 13.3,
	// second_purchase 17.
	"happy_call":      20.5,
	"welcome_back":    16,
	"dormant_wakeup":  13,
	"second_purchase": 16,
	"birthday":        14, // per enrolment, no touch
}

const tolerance = 1.10

// enrolments per kind: the figures are averages over them.
const enrolments = 2

// TestHistoryCost runs every program kind on the real stack with offsets
// of seconds, each enrolment to its end, and measures what its histories
// cost: events and estimated Temporal Cloud actions per enrolment and per
// touch.
func TestHistoryCost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every program on the real stack")
	}
	var mu sync.Mutex
	rows := map[string]historycost.Row{}
	t.Run("kinds", func(t *testing.T) {
		for _, k := range historycost.Kinds {
			t.Run(k.Name, func(t *testing.T) {
				t.Parallel()
				s := newStack(t, "hc")
				row, run, err := historycost.Drive(t.Context(), s, k, enrolments)
				if err != nil {
					t.Fatal(err)
				}
				saveHistory(t, s.Temporal, run.WorkflowIDs[0], strings.ReplaceAll(k.Name, "_", "")+"-touch")
				mu.Lock()
				rows[k.Name] = row
				mu.Unlock()
			})
		}
	})
	var table []historycost.Row
	for _, k := range historycost.Kinds {
		if r, ok := rows[k.Name]; ok {
			table = append(table, r)
		}
	}
	t.Logf("history cost (go test ./internal/historycost -run TestHistoryCost -v):\n%s", historycost.Table(table))
	for _, r := range table {
		t.Logf("%s events by type: %v", r.Kind, r.ByType)
		got := r.EventsPerTouch()
		what := "events per touch"
		if r.Touches == 0 {
			got, what = r.EventsPerEnrolment(), "events per enrolment"
		}
		if ceiling := ceilings[r.Kind]; got > ceiling*tolerance {
			t.Errorf("%s: %.1f %s, more than 10%% over the ceiling %.1f", r.Kind, got, what, ceiling)
		}
	}
}

// saveHistory adds the run's history to the replay corpus when
// DANGOL_UPDATE_HISTORIES is set (as the e2e tests do): a new dated file,
// never overwriting a committed one.
func saveHistory(t *testing.T, c client.Client, workflowID, kind string) {
	if os.Getenv("DANGOL_UPDATE_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, 0)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	path, err := histories.Add(filepath.Join(testenv.RepoRoot(), "workflows", "testdata"), kind, b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}
