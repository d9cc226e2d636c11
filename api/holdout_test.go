package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"github.com/dangol/dangol/enrol"
)

// A happy call holding out half its buyers: a held-out buyer's purchase
// records a control enrolment (ended, outcome "control") and starts no
// workflow; a treated buyer's starts one. Program counts and the journey
// show the control group.
func TestPurchaseHoldsOutControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var prog programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜 대조군", "kind": "happy_call",
		"params": map[string]any{"holdout_percent": 50}}, &prog)

	type enrolmentOut struct {
		ID         int64   `json:"id"`
		WorkflowID string  `json:"workflow_id"`
		Status     string  `json:"status"`
		Outcome    *string `json:"outcome"`
		Control    bool    `json:"control"`
	}
	var control, treated int
	var controlCustomer string
	for i := range 20 {
		customer := fmt.Sprintf("c-%d", i)
		e.must(http.StatusCreated, "PUT", "/v1/customers/"+customer, map[string]any{"name": "김민수", "phone": fmt.Sprintf("+8210123456%02d", i)}, nil)
		var out struct {
			Enrolments []enrolmentOut `json:"enrolments"`
		}
		e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-"+customer, customer, "가전", time.Now().Add(-time.Hour)), &out)
		if len(out.Enrolments) != 1 {
			t.Fatalf("%s: enrolments %+v", customer, out.Enrolments)
		}
		en := out.Enrolments[0]
		c, err := e.st.CustomerByExternalID(ctx, customer)
		if err != nil {
			t.Fatal(err)
		}
		_, described := e.tc.DescribeWorkflowExecution(ctx, en.WorkflowID, "")
		if enrol.HeldOut(prog.ID, c.ID, 50) {
			control++
			controlCustomer = customer
			if !en.Control || en.Status != "ended" || en.Outcome == nil || *en.Outcome != "control" {
				t.Fatalf("held-out %s: enrolment %+v", customer, en)
			}
			var nf *serviceerror.NotFound
			if !errors.As(described, &nf) {
				t.Fatalf("held-out %s: workflow %s: %v, want not found", customer, en.WorkflowID, described)
			}
			if n := e.count(`SELECT count(*) FROM enrolments WHERE id = $1 AND started_at = ended_at AND ended_at = created_at`, en.ID); n != 1 {
				t.Fatalf("held-out %s: control enrolment not started and ended at enrolment", customer)
			}
		} else {
			treated++
			e.terminateAfter(en.WorkflowID)
			if en.Control || en.Status != "pending" || described != nil {
				t.Fatalf("treated %s: enrolment %+v, workflow %v", customer, en, described)
			}
		}
	}
	if control == 0 || treated == 0 {
		t.Fatalf("%d control, %d treated of 20: the test shows nothing", control, treated)
	}

	var got struct {
		Enrolments map[string]int `json:"enrolments"`
	}
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", prog.ID), nil, &got)
	if got.Enrolments["ended:control"] != control {
		t.Fatalf("program counts %v, want ended:control %d", got.Enrolments, control)
	}
	var j struct {
		Enrolments []struct {
			Control bool    `json:"control"`
			Outcome *string `json:"outcome"`
		} `json:"enrolments"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/"+controlCustomer+"/journey", nil, &j)
	if len(j.Enrolments) != 1 || !j.Enrolments[0].Control {
		t.Fatalf("journey of %s: %+v", controlCustomer, j.Enrolments)
	}
}
