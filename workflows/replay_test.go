package workflows_test

import (
	"path/filepath"
	"testing"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/dangol/dangol/worker"
	"github.com/dangol/dangol/workflows/histories"
)

// TestReplayCorpusIsAppendOnly guards the corpus: a committed history is
// never changed or deleted, and every history is listed with its SHA-256,
// in the frozen testdata/HISTORIES.sha256 or in its own <name>.sha256
// (e2e recordings add both files; see histories.Add).
func TestReplayCorpusIsAppendOnly(t *testing.T) {
	if err := histories.Check("testdata"); err != nil {
		t.Fatal(err)
	}
}

// TestReplayCommittedHistories replays runs recorded from the real stack
// (e2e, DANGOL_UPDATE_HISTORIES=1, which adds new dated files) with the
// current workflow code. A
// failure means a change would break enrolments that are already running:
// put it behind workflow.GetVersion instead.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no committed histories in workflows/testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			worker.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatal(err)
			}
		})
	}
}
