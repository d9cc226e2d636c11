package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/internal/historycost"
)

// History: what each program kind's enrolments cost in Temporal history
// (a self-hosted cluster's throughput) and in estimated Temporal Cloud
// actions (the Cloud bill), per touch and per enrolment, from enrolments
// run to their end with offsets of seconds by internal/historycost's
// drivers (TestHistoryCost runs the same ones). The baseline is a bare
// workflow of BareTouchesCount × (timer + activity), run on the same
// server and counted by the same code. Goal: at most 14 events per touch
// where the bare touch costs 12.2, the same ratio.
var History = Section{Name: "history", Run: runHistory}

// HistoryEnrolments is how many enrolments each kind runs (and how many
// bare workflows the baseline runs): histories are deterministic, so a
// few make the average.
const HistoryEnrolments = 4

// BareTouchesCount is how many timer + activity touches a baseline
// workflow makes: its start and end are shared among them, as an
// enrolment's are among its touches.
const BareTouchesCount = 4

// historyGoal is 14 events per touch against the bare 12.2 of the issue's
// measurement.
const historyGoal = 14 / 12.2

func runHistory(ctx context.Context, e *Env) ([]Figure, error) {
	bare, err := e.bareHistory(ctx)
	if err != nil {
		return nil, err
	}
	e.logf("history: baseline %.1f events, %.1f actions per touch", bare.EventsPerTouch(), bare.ActionsPerTouch())

	w, err := e.StartWorker(ctx, WorkerDangol, e.TaskQueue)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	s := &historycost.Stack{Store: e.Store, Temporal: e.Temporal, APIURL: e.APIURL, APIKey: e.APIKey, HTTP: e.HTTP,
		Name: fmt.Sprintf("bench-h%d", e.next()), Timeout: 2 * time.Minute}
	baseNote := fmt.Sprintf("baseline: a bare workflow of %d × (timer + activity), %d of them", BareTouchesCount, HistoryEnrolments)
	var figs []Figure
	// One kind at a time: in the shared database a purchase enrols in
	// every purchase program that is active.
	for _, k := range historycost.Kinds {
		e.logf("history: %d %s enrolments to their end", HistoryEnrolments, k.Name)
		row, _, err := historycost.Drive(ctx, s, k, HistoryEnrolments)
		if err != nil {
			return nil, err
		}
		e.logf("history: %s events by type: %v", k.Name, row.ByType)
		note := fmt.Sprintf("%d enrolments, %d touches, %d runs; %s", row.Enrolments, row.Touches, row.Runs, baseNote)
		if row.Touches == 0 {
			// A birthday enrolment is measured asleep until its card and
			// stopped: it has no touch to divide by.
			figs = append(figs,
				Figure{Name: k.Name + " events per enrolment", Value: row.EventsPerEnrolment(), Baseline: bare.EventsPerEnrolment(),
					Note: "enrolled, asleep until the card, stopped; " + note},
				Figure{Name: k.Name + " actions per enrolment", Value: row.ActionsPerEnrolment(), Baseline: bare.ActionsPerEnrolment(),
					Note: "estimated Temporal Cloud actions; " + note})
			continue
		}
		figs = append(figs,
			Figure{Name: k.Name + " events per touch", Value: row.EventsPerTouch(), Baseline: bare.EventsPerTouch(),
				Goal: Goal{AtMost, historyGoal}, Note: "history events of whole enrolments / touches; " + note},
			Figure{Name: k.Name + " actions per touch", Value: row.ActionsPerTouch(), Baseline: bare.ActionsPerTouch(),
				Note: "estimated Temporal Cloud actions (historycost.Actions) / touches; " + note},
			Figure{Name: k.Name + " events per enrolment", Value: row.EventsPerEnrolment(), Baseline: bare.EventsPerEnrolment(),
				Note: note})
	}
	return figs, nil
}

// bareHistory runs the baseline's workflows to their end on a bare worker
// process and measures them.
func (e *Env) bareHistory(ctx context.Context) (historycost.Row, error) {
	seq := e.next()
	queue := fmt.Sprintf("bench-history-bare-%d", seq)
	w, err := e.StartWorker(ctx, WorkerBare, queue)
	if err != nil {
		return historycost.Row{}, err
	}
	defer w.Stop()
	runs := make([]client.WorkflowRun, HistoryEnrolments)
	ids := make([]string, HistoryEnrolments)
	for i := range runs {
		ids[i] = fmt.Sprintf("bench-history-bare-%d-%d", seq, i)
		if runs[i], err = e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: queue},
			BareTouchesWorkflow, BareTouchesCount, 200*time.Millisecond); err != nil {
			return historycost.Row{}, err
		}
	}
	for _, r := range runs {
		if err := r.Get(ctx, nil); err != nil {
			return historycost.Row{}, fmt.Errorf("bare workflow %s: %w", r.GetID(), err)
		}
	}
	return historycost.Measure(ctx, e.Temporal, "bare", ids, HistoryEnrolments*BareTouchesCount)
}
