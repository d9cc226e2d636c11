package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// The journey is read from the database: with no worker polling, it still
// answers at once with what was recorded, and says the live part is
// missing; a closed enrolment is never queried at all.
func TestJourneyDoesNotWaitForTemporal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678"}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, nil)
	var p1, p2 purchaseOut
	e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", time.Now().Add(-time.Hour)), &p1)
	e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-2", "c-1", "가전", time.Now().Add(-time.Hour)), &p2)
	running, closed := p1.Enrolments[0], p2.Enrolments[0]
	e.terminateAfter(running.WorkflowID)
	e.terminateAfter(closed.WorkflowID)
	c, err := e.st.CustomerByExternalID(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	// What a worker would have recorded: the first enrolment runs and sent
	// its 3-day SMS; the second has ended.
	if err := e.st.MarkEnrolmentActive(ctx, running.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ClaimMessage(ctx, store.Message{IdempotencyKey: "happycall:1:1:3d:sms", EnrolmentID: &running.ID,
		CustomerID: c.ID, Channel: domain.ChannelSMS, Recipient: "+821012345678", Body: "감사합니다"}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.EndEnrolment(ctx, closed.ID, "stopped"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var j struct {
		Enrolments []struct {
			ID         int64  `json:"id"`
			Status     string `json:"status"`
			QueryError string `json:"query_error"`
			StepsDone  []struct {
				Step   string `json:"step"`
				Action string `json:"action"`
				Result string `json:"result"`
			} `json:"steps_done"`
		} `json:"enrolments"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, &j)
	took := time.Since(start)
	// The old journey queried every workflow for 5 s each (20 s seen);
	// the budget is one second for all of them.
	if took > 4*time.Second {
		t.Fatalf("journey took %s with no worker polling", took)
	}
	if len(j.Enrolments) != 2 {
		t.Fatalf("journey %+v", j)
	}
	run, end := j.Enrolments[0], j.Enrolments[1]
	if run.ID != running.ID || run.QueryError == "" || len(run.StepsDone) != 1 || run.StepsDone[0].Step != "3d" || run.StepsDone[0].Action != "sms" || run.StepsDone[0].Result != "pending" {
		t.Fatalf("running enrolment's journey %+v", run)
	}
	if end.ID != closed.ID || end.Status != domain.EnrolmentEnded || end.QueryError != "" {
		t.Fatalf("closed enrolment was queried or is wrong: %+v", end)
	}
}
