package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/dangol/dangol/metrics/metricstest"
)

// A purchase that starts a happy call is counted once on /metrics under
// the program's kind; repeating the same POST starts nothing and counts
// nothing. Not parallel: parallel tests are paused while it runs, so the
// counter's change is this test's alone.
func TestPurchaseEnrolmentCountedOnce(t *testing.T) {
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-metrics", map[string]any{"name": "김민수", "phone": "+821012345678"}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, nil)
	started := func() float64 {
		return metricstest.Sum(metricstest.Scrape(t), "dangol_enrolments_started_total", map[string]string{"kind": "happy_call"})
	}
	before := started()
	body := purchase("o-metrics", "c-metrics", "가전", time.Now().Add(-time.Hour))
	var first purchaseOut
	e.must(http.StatusCreated, "POST", "/v1/purchases", body, &first)
	if len(first.Enrolments) != 1 {
		t.Fatalf("enrolments %+v, want 1", first.Enrolments)
	}
	e.terminateAfter(first.Enrolments[0].WorkflowID)
	e.must(http.StatusOK, "POST", "/v1/purchases", body, nil)
	if got := started() - before; got != 1 {
		t.Fatalf("dangol_enrolments_started_total{kind=happy_call} grew by %v, want 1", got)
	}
}
