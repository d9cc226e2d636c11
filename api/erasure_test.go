package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

type erasureOut struct {
	Erasure struct {
		ID     int64        `json:"id"`
		Actor  string       `json:"actor"`
		FanOut store.FanOut `json:"fan_out"`
	} `json:"erasure"`
}

// DELETE /v1/customers/{id}: 202 with the erasure and its fan-out; the
// customer is then unknown (GET and a second DELETE are 404), the erasure
// is recorded with the API key's name, and a PUT of the same id creates a
// new customer. Unknown and hostile ids are 404 and 400.
func TestEraseCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusNotFound, "DELETE", "/v1/customers/nobody", nil, nil)
	for _, path := range []string{"/v1/customers/c%00", "/v1/customers/c%FF", "/v1/customers/%23erased:1", "/v1/customers/" + strings.Repeat("c", 129)} {
		if r := e.call("DELETE", path, nil); r.status != http.StatusBadRequest || r.field() != "externalId" {
			t.Fatalf("DELETE %s: %d %s", path, r.status, r.body)
		}
	}

	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678", "email": "minsu@example.com",
		"birthday": "1990-05-01", "consent": map[string]any{"sms": map[string]any{"granted": true, "source": "pos"}}}, nil)
	var before int64
	if err := e.db.QueryRow(ctx, `SELECT id FROM customers WHERE external_id = 'c-1'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var out erasureOut
	e.must(http.StatusAccepted, "DELETE", "/v1/customers/c-1", nil, &out)
	if out.Erasure.ID == 0 || out.Erasure.Actor != "api-test" || out.Erasure.FanOut.Total != 0 || out.Erasure.FanOut.Status != store.FanOutDone {
		t.Fatalf("erasure %+v", out.Erasure)
	}
	e.must(http.StatusNotFound, "GET", "/v1/customers/c-1", nil, nil)
	e.must(http.StatusNotFound, "DELETE", "/v1/customers/c-1", nil, nil)
	var name, ext string
	var phone, email *string
	if err := e.db.QueryRow(ctx, `SELECT name, phone, email, external_id FROM customers WHERE id = $1`, before).Scan(&name, &phone, &email, &ext); err != nil {
		t.Fatal(err)
	}
	if name != "" || phone != nil || email != nil || strings.Contains(ext, "c-1") {
		t.Fatalf("erased row: %q %v %v %q", name, phone, email, ext)
	}
	if n := e.count(`SELECT count(*) FROM erasures WHERE customer_id = ` + itoa64(before) + ` AND actor = 'api-test'`); n != 1 {
		t.Fatalf("%d erasure records", n)
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "새 고객"}, nil)
	var after int64
	if err := e.db.QueryRow(ctx, `SELECT id FROM customers WHERE external_id = 'c-1'`).Scan(&after); err != nil || after == before {
		t.Fatalf("new customer %d (erased %d): %v", after, before, err)
	}
}

// A customer with a live enrolment: the erasure's fan-out counts it and is
// handed to the customer's FanOut workflow (the request does not signal
// the enrolments itself).
func TestEraseCustomerFansOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &p)
	var customerID int64
	if err := e.db.QueryRow(ctx, `INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status)
		SELECT $1, 1, id, 'erase-fanout-seed', 'active' FROM customers WHERE external_id = 'c-1' RETURNING customer_id`, p.ID).Scan(&customerID); err != nil {
		t.Fatal(err)
	}
	var out erasureOut
	e.must(http.StatusAccepted, "DELETE", "/v1/customers/c-1", nil, &out)
	f := out.Erasure.FanOut
	if f.Total != 1 || f.Status != store.FanOutRunning || f.Signal != workflows.SignalControl || !strings.Contains(string(f.Payload), workflows.ActionErase) {
		t.Fatalf("fan-out %+v %s", f, f.Payload)
	}
	id := workflows.CustomerFanOutWorkflowID(customerID)
	t.Cleanup(func() { _ = e.tc.TerminateWorkflow(context.Background(), id, "", "api test over") })
	if _, err := e.tc.DescribeWorkflowExecution(ctx, id, ""); err != nil {
		t.Fatalf("fan-out workflow %s: %v", id, err)
	}
}
