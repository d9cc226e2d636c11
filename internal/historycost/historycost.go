// Package historycost measures what enrolments cost the engine underneath:
// the history events of every run of a workflow id (a self-hosted
// cluster's throughput is spent on them) and an estimate of the Temporal
// Cloud actions they are billed as. Its drivers (Kinds, Drive) run every
// program kind on a real stack with offsets of seconds: TestHistoryCost
// keeps their figures under a committed ceiling, and the bench's history
// section reports them against a bare timer + activity workflow.
package historycost

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// maxRuns bounds how far back a chain of continue-as-new runs is followed
// (a birthday enrolment adds one run a year).
const maxRuns = 1000

// Cost is what one workflow id cost over all its runs.
type Cost struct {
	WorkflowID string
	Runs       int
	Events     int
	Actions    int
	// ByType counts the events of each type (EVENT_TYPE_... names), so a
	// figure that moved can be explained.
	ByType map[string]int
}

// Enrolment reads every run of the workflow id, from the current one back
// through the runs it continued from, and adds up their events and
// actions.
func Enrolment(ctx context.Context, c client.Client, workflowID string) (Cost, error) {
	cost := Cost{WorkflowID: workflowID, ByType: map[string]int{}}
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return cost, fmt.Errorf("historycost: describe %s: %w", workflowID, err)
	}
	runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	for runID != "" {
		if cost.Runs == maxRuns {
			return cost, fmt.Errorf("historycost: %s has more than %d runs", workflowID, maxRuns)
		}
		events, err := history(ctx, c, workflowID, runID)
		if err != nil {
			return cost, err
		}
		cost.Runs++
		cost.Events += len(events)
		cost.Actions += Actions(events)
		runID = ""
		for _, e := range events {
			cost.ByType[e.GetEventType().String()]++
			if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				runID = a.GetContinuedExecutionRunId()
			}
		}
	}
	return cost, nil
}

func history(ctx context.Context, c client.Client, workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	var events []*historypb.HistoryEvent
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("historycost: history of %s/%s: %w", workflowID, runID, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// Actions estimates the Temporal Cloud actions one run's history is billed
// as, by Temporal Cloud's definition (https://docs.temporal.io/cloud/actions,
// docs/evaluate/temporal-cloud/actions.mdx in temporalio/documentation):
//   - workflow started: by a client, by continue-as-new, as a child (a
//     child start counts twice: the start and the execution);
//   - timer started, including the SDK's implicit timers (AwaitWithTimeout);
//   - signal: every one received;
//   - activity started or retried: each attempt (the started event of a
//     regular activity records its last attempt number);
//   - local activities: all the RecordMarker commands of one workflow task
//     count once, however many local activities ran in it;
//   - search attribute upserts (TemporalChangeVersion, which GetVersion
//     sets, is exempt; version markers are not listed as actions) and
//     side effects.
//
// Queries and activity heartbeats are billed too but leave no event; the
// estimate leaves them out, as the Cloud's own estimate from histories
// does.
func Actions(events []*historypb.HistoryEvent) int {
	n := 0
	localTasks := map[int64]bool{}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
			enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
			n++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			n += 2
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			n += max(1, int(e.GetActivityTaskStartedEventAttributes().GetAttempt()))
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			if !onlyChangeVersion(e) {
				n++
			}
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			m := e.GetMarkerRecordedEventAttributes()
			switch m.GetMarkerName() {
			case "LocalActivity":
				localTasks[m.GetWorkflowTaskCompletedEventId()] = true
			case "SideEffect", "MutableSideEffect":
				n++
			}
		}
	}
	return n + len(localTasks)
}

func onlyChangeVersion(e *historypb.HistoryEvent) bool {
	fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
	for k := range fields {
		if k != "TemporalChangeVersion" {
			return false
		}
	}
	return len(fields) > 0
}

// Row is one program kind's cost: enrolments run to their end (or as far
// as the caller ran them) and the touches they made.
type Row struct {
	Kind       string
	Enrolments int
	// Touches is how many steps reached the customer (a message, a call
	// task, a step's call with its fallback SMS counting once), as the
	// caller's plan and its checks say: a local activity's input is not in
	// the history, so the history alone cannot tell which step a call task
	// served.
	Touches int
	Runs    int
	Events  int
	Actions int
	ByType  map[string]int
}

// EventsPerEnrolment and the others are the row's averages; per touch
// divides the whole enrolment (its start and end included) by its
// touches, 0 when there were none.
func (r Row) EventsPerEnrolment() float64  { return ratio(r.Events, r.Enrolments) }
func (r Row) ActionsPerEnrolment() float64 { return ratio(r.Actions, r.Enrolments) }
func (r Row) EventsPerTouch() float64      { return ratio(r.Events, r.Touches) }
func (r Row) ActionsPerTouch() float64     { return ratio(r.Actions, r.Touches) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Measure adds up the cost of the kind's enrolments (their workflow ids),
// which made touches touches between them.
func Measure(ctx context.Context, c client.Client, kind string, workflowIDs []string, touches int) (Row, error) {
	if len(workflowIDs) == 0 {
		return Row{}, errors.New("historycost: no workflow ids")
	}
	r := Row{Kind: kind, Touches: touches, ByType: map[string]int{}}
	for _, id := range workflowIDs {
		cost, err := Enrolment(ctx, c, id)
		if err != nil {
			return r, err
		}
		r.Enrolments++
		r.Runs += cost.Runs
		r.Events += cost.Events
		r.Actions += cost.Actions
		for k, v := range cost.ByType {
			r.ByType[k] += v
		}
	}
	return r, nil
}

// Table prints the rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| kind | enrolments | touches | events/enrolment | events/touch | actions/enrolment | actions/touch |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		perTouch := func(v float64) string {
			if r.Touches == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f", v)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %s | %.1f | %s |\n", r.Kind, r.Enrolments, r.Touches,
			r.EventsPerEnrolment(), perTouch(r.EventsPerTouch()), r.ActionsPerEnrolment(), perTouch(r.ActionsPerTouch()))
	}
	return b.String()
}
