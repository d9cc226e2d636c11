package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/metrics"
	"github.com/dangol/dangol/metrics/metricstest"
)

// Requests are labelled by the route pattern they matched: an external
// id in the path (which may be an address) never becomes a label value,
// nor does the path of a request no route matched, nor a made-up method.
func TestHTTPLabelsByRoutePatternOnly(t *testing.T) {
	r := chi.NewRouter()
	r.Use(metrics.HTTP)
	r.Route("/v1", func(r chi.Router) {
		r.Get("/test-customers/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/test-customers/minsu@example.com"},
		{http.MethodGet, "/v1/test-customers/010-5555-0123"},
		{http.MethodGet, "/nowhere/secret-path-7"},
		{"BREW", "/v1/test-customers/x"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.path, nil))
	}
	fams := metricstest.Scrape(t)
	if got := metricstest.Sum(fams, "dangol_http_requests_total", map[string]string{"method": "GET", "route": "/v1/test-customers/{id}", "status": "418"}); got != 2 {
		t.Errorf("requests on the pattern: %v, want 2", got)
	}
	if got := metricstest.Sum(fams, "dangol_http_request_duration_seconds", map[string]string{"route": "/v1/test-customers/{id}"}); got < 2 {
		t.Errorf("latency observations on the pattern: %v, want 2", got)
	}
	if got := metricstest.Sum(fams, "dangol_http_requests_total", map[string]string{"route": metrics.Unmatched, "status": "404"}); got < 1 {
		t.Errorf("unmatched 404s: %v", got)
	}
	if got := metricstest.Sum(fams, "dangol_http_requests_total", map[string]string{"method": "other"}); got < 1 {
		t.Errorf("made-up method not counted as other: %v", got)
	}
	routes := metricstest.LabelValues(fams, "dangol_http_requests_total", "route")
	for _, leak := range []string{"minsu", "5555", "secret-path"} {
		if slices.ContainsFunc(routes, func(r string) bool { return strings.Contains(r, leak) }) {
			t.Errorf("a route label carries %q: %v", leak, routes)
		}
	}
	if slices.Contains(metricstest.LabelValues(fams, "dangol_http_requests_total", "method"), "BREW") {
		t.Error("a made-up method is a label value")
	}
}
