package historycost

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

func event(t enumspb.EventType, attrs any) *historypb.HistoryEvent {
	e := &historypb.HistoryEvent{EventType: t}
	switch a := attrs.(type) {
	case *historypb.MarkerRecordedEventAttributes:
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: a}
	case *historypb.ActivityTaskStartedEventAttributes:
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: a}
	case *historypb.UpsertWorkflowSearchAttributesEventAttributes:
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: a}
	}
	return e
}

func upsert(keys ...string) *historypb.UpsertWorkflowSearchAttributesEventAttributes {
	f := map[string]*commonpb.Payload{}
	for _, k := range keys {
		f[k] = &commonpb.Payload{}
	}
	return &historypb.UpsertWorkflowSearchAttributesEventAttributes{SearchAttributes: &commonpb.SearchAttributes{IndexedFields: f}}
}

// TestActions follows Temporal Cloud's definition: local activities of one
// workflow task count once, each activity attempt counts, version markers
// and their TemporalChangeVersion upsert do not.
func TestActions(t *testing.T) {
	local := func(task int64) *historypb.MarkerRecordedEventAttributes {
		return &historypb.MarkerRecordedEventAttributes{MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: task}
	}
	events := []*historypb.HistoryEvent{
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil),                                                  // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil),                                                     // 0
		event(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil),                                                     // 0
		event(enumspb.EVENT_TYPE_MARKER_RECORDED, &historypb.MarkerRecordedEventAttributes{MarkerName: "Version"}), // 0
		event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert("TemporalChangeVersion")),               // 0
		event(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, upsert("CustomerId")),                          // 1
		event(enumspb.EVENT_TYPE_TIMER_STARTED, nil),                                                               // 1
		event(enumspb.EVENT_TYPE_TIMER_FIRED, nil),                                                                 // 0
		event(enumspb.EVENT_TYPE_MARKER_RECORDED, local(7)),                                                        // 1 (task 7)
		event(enumspb.EVENT_TYPE_MARKER_RECORDED, local(7)),                                                        // 0 (same task)
		event(enumspb.EVENT_TYPE_MARKER_RECORDED, local(12)),                                                       // 1 (task 12)
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, nil),                                                     // 0
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, &historypb.ActivityTaskStartedEventAttributes{Attempt: 3}), // 3
		event(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, nil),                                                     // 0
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, nil),                                                 // 1
		event(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil),                                                // 0
	}
	if got, want := Actions(events), 9; got != want {
		t.Fatalf("Actions = %d, want %d", got, want)
	}
}
