package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// convertedSignals are the refs of the "converted" signals a workflow
// received, from its history (no worker runs it).
func (e *env) convertedSignals(workflowID string) []string {
	e.t.Helper()
	it := e.tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var refs []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatal(err)
		}
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		if a == nil || a.GetSignalName() != workflows.SignalConverted {
			continue
		}
		var c workflows.Converted
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &c); err != nil {
			e.t.Fatal(err)
		}
		refs = append(refs, c.Reason+" "+c.Ref)
	}
	return refs
}

// PostgreSQL committed a purchase and the client never got the answer (nor
// did the conversion signal go): the repeated request finds the purchase
// recorded and still tells the customer's live enrolments it converted
// them. A repeat does not convert the enrolment its own purchase started.
func TestRepeatedPurchaseStillConverts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "재구매", "kind": "second_purchase"}, nil)

	first := purchase("o-1", "c-1", "가전", time.Now().Add(-2*time.Hour))
	var out purchaseOut
	e.must(http.StatusCreated, "POST", "/v1/purchases", first, &out)
	if len(out.Enrolments) != 1 {
		t.Fatalf("first purchase enrolments %+v", out.Enrolments)
	}
	wf := out.Enrolments[0].WorkflowID
	e.terminateAfter(wf)
	// Repeating the purchase that started the enrolment converts nothing.
	e.must(http.StatusOK, "POST", "/v1/purchases", first, nil)
	if got := e.convertedSignals(wf); len(got) != 0 {
		t.Fatalf("a repeat of the enrolling purchase converted its own enrolment: %v", got)
	}

	// The second purchase is committed, its answer lost before any signal.
	c, err := e.st.CustomerByExternalID(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	bought := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	if _, created, _, err := e.st.RecordPurchase(ctx, store.Purchase{ExternalID: "o-2", CustomerID: c.ID, Amount: "1290000", Currency: "KRW",
		Category: "가전", Product: "비스포크 냉장고", Store: "강남점", PurchasedAt: bought},
		func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil }); err != nil || !created {
		t.Fatalf("record o-2: created %v, %v", created, err)
	}
	if got := e.convertedSignals(wf); len(got) != 0 {
		t.Fatalf("signals before the repeat: %v", got)
	}
	e.must(http.StatusOK, "POST", "/v1/purchases", purchase("o-2", "c-1", "가전", bought), nil)
	if got := e.convertedSignals(wf); len(got) != 1 || got[0] != "purchase o-2" {
		t.Fatalf("converted signals after the repeat: %v, want [purchase o-2]", got)
	}
}
