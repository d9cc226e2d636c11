package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/go-chi/chi/v5"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/apidoc"
	"github.com/dangol/dangol/coupons"
	"github.com/dangol/dangol/metrics"
)

// pendingRoutes are documented routes that other branches add to the
// router; the coverage test tolerates their absence until they are
// merged. The lead empties this list after merging them.
var pendingRoutes = []string{}

// contract is the OpenAPI document and a router over it, loaded once.
var contract = sync.OnceValues(func() (*contractDoc, error) {
	raw, err := apidoc.JSON()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contractDoc{doc: doc, router: router}, nil
})

type contractDoc struct {
	doc    *openapi3.T
	router routers.Router
}

// chiParamRegexp matches a chi parameter with a regexp of alternatives,
// {action:pause|resume|stop}: the document lists one path per value.
var chiParamRegexp = regexp.MustCompile(`\{([^}:]+):([^}]*)\}`)

// documentedForm turns a chi route into the "METHOD /path" entries the
// document has for it: mounted roots lose their trailing slash, and a
// parameter restricted to alternatives becomes one path per alternative.
func documentedForm(method, pattern string) []string {
	if pattern != "/" {
		pattern = strings.TrimSuffix(pattern, "/")
	}
	m := chiParamRegexp.FindStringSubmatchIndex(pattern)
	if m == nil {
		return []string{method + " " + pattern}
	}
	var out []string
	for _, alt := range strings.Split(pattern[m[4]:m[5]], "|") {
		out = append(out, documentedForm(method, pattern[:m[0]]+alt+pattern[m[1]:])...)
	}
	return out
}

// TestOpenAPICoversEveryRoute walks the router and fails when a route is
// missing from the document, or the document has one the router lacks.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	c, err := contract()
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	// With its metrics, as `dangol serve` runs it (without METRICS_ADDR).
	handler := (&api.Server{Metrics: metrics.Handler()}).Handler()
	if err := chi.Walk(handler.(chi.Routes), func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		for _, r := range documentedForm(method, pattern) {
			routed[r] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("route %s is not in apidoc/openapi.yaml", r)
		}
	}
	for r := range documented {
		if !routed[r] && !slices.Contains(pendingRoutes, r) {
			t.Errorf("apidoc/openapi.yaml documents %s, which the router lacks", r)
		}
	}
	for _, r := range pendingRoutes {
		if routed[r] {
			t.Errorf("%s is routed now: remove it from pendingRoutes", r)
		}
	}
	if len(routed) < 30 {
		t.Fatalf("walked only %d routes", len(routed))
	}
}

func TestDocumentedForm(t *testing.T) {
	got := documentedForm("POST", "/v1/programs/{id}/{action:pause|resume|stop}")
	want := []string{"POST /v1/programs/{id}/pause", "POST /v1/programs/{id}/resume", "POST /v1/programs/{id}/stop"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q, want %q", got, want)
	}
	if got := documentedForm("GET", "/v1/programs/"); !slices.Equal(got, []string{"GET /v1/programs"}) {
		t.Fatalf("%q", got)
	}
}

// contractTransport checks every request the api tests send, and every
// response they get, against the OpenAPI document:
//   - a response must match the document (status, content type, body);
//   - a request the document calls invalid must not succeed (2xx): the
//     server must be at least as strict as its contract.
//
// A request to a path the document does not have (hostile paths) is sent
// unchecked. A mismatch is the round trip's error, so the test fails.
type contractTransport struct{ next http.RoundTripper }

var contractClient = &http.Client{Transport: contractTransport{http.DefaultTransport}}

// authenticated only checks the header's shape: whether the key is known
// is the server's to say (401), which the document allows.
func authenticated(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, key, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return errors.New("no bearer key")
	}
	return nil
}

func (t contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := contract()
	if err != nil {
		return nil, err
	}
	var body []byte
	if req.Body != nil {
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
	}
	reset := func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	reset(req)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	check := req.Clone(req.Context())
	reset(check)
	if len(bytes.TrimSpace(body)) == 0 {
		// Blanks are no body, as the handlers read them.
		check.Body, check.ContentLength = http.NoBody, 0
		check.Header.Del("Content-Type")
	}
	// Handlers read the first value of a query parameter (Query().Get);
	// the document describes that value.
	if q := check.URL.Query(); len(q) > 0 {
		for k, vs := range q {
			q[k] = vs[:1]
		}
		check.URL.RawQuery = q.Encode()
	}
	route, pathParams, err := c.router.FindRoute(check)
	if err != nil && strings.HasSuffix(check.URL.Path, "/") && len(check.URL.Path) > 1 {
		// Mounted roots answer with and without the slash; the
		// document has them without.
		check.URL.Path = strings.TrimSuffix(check.URL.Path, "/")
		check.URL.RawPath = ""
		route, pathParams, err = c.router.FindRoute(check)
	}
	if err != nil {
		return resp, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: authenticated, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: check, PathParams: pathParams, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	if reqErr != nil && resp.StatusCode < 300 {
		return nil, fmt.Errorf("contract: %s %s answered %d to a request the OpenAPI document calls invalid: %v\nrequest body: %.500s\nresponse: %.500s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, reqErr, body, respBody)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		return nil, fmt.Errorf("contract: %s %s: the response does not match the OpenAPI document: %v\nresponse %d %s: %.1000s",
			req.Method, req.URL.RequestURI(), err, resp.StatusCode, resp.Header.Get("Content-Type"), respBody)
	}
	return resp, nil
}

func init() {
	// Customer pages answer HTML, Twilio's inbound webhook TwiML: both
	// are checked for status and content type, their bodies as text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/xml", openapi3filter.PlainBodyDecoder)
	// An 080 list is text to the document: a row that does not parse is
	// answered invalid by the server, not refused.
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
}

// TestNullBodyIsRefused: a JSON body of null is no object. The contract
// check found PUT /v1/customers/{id} answering 201 to it, making a
// customer of nothing.
func TestNullBodyIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/v1/customers/c-null", "/v1/settings"} {
		r := e.request(e.url, "PUT", path, "null", map[string]string{"Authorization": "Bearer " + e.key, "Content-Type": "application/json"})
		r.wantProblem(t, http.StatusBadRequest, "body")
	}
	if n := e.count(`SELECT count(*) FROM customers WHERE external_id = 'c-null'`); n != 0 {
		t.Fatalf("%d customers made of a null body", n)
	}
}

// TestOpenAPIContractMainFlows drives the main flows a retailer's systems
// and staff use; the contract transport checks each request and response
// against the document (and this test that they happened as documented).
func TestOpenAPIContractMainFlows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	e.must(http.StatusOK, "GET", "/openapi.json", nil, nil)
	if r := e.call("GET", "/docs", nil); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", r.status, r.header.Get("Content-Type"))
	}

	// Settings.
	// What GET answers, PUT takes back (the README's guide edits it so).
	var settings map[string]any
	e.must(http.StatusOK, "GET", "/v1/settings", nil, &settings)
	e.must(http.StatusOK, "PUT", "/v1/settings", settings, nil)
	e.must(http.StatusOK, "PUT", "/v1/settings", map[string]any{"sender_name": "한빛전자", "sender_contact": "02-123-4567",
		"opt_out_number": "080-123-4567", "default_time_zone": "Asia/Seoul", "default_country": "KR",
		"quiet_hours": map[string]any{}, "frequency_cap": map[string]any{"max": 100, "window_days": 1},
		"reconfirm_every_days": 730, "release_spread_minutes": 0}, nil)

	// Customers and their consent history.
	customer := map[string]any{"name": "김민수", "phone": "+821012345678", "email": "minsu@example.com", "birthday": "1990-05-01",
		"consent": map[string]any{"sms": grant(true, "pos"), "email": grant(true, "pos"), "call": grant(true, "pos")}}
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", customer, nil)
	e.must(http.StatusOK, "PUT", "/v1/customers/c-1", with(customer, map[string]any{"consent": map[string]any{"email": grant(false, "web")}}), nil)
	e.must(http.StatusOK, "GET", "/v1/customers/c-1", nil, nil)
	var consents struct {
		Consents []map[string]any `json:"consents"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/consents?limit=10", nil, &consents)
	if len(consents.Consents) != 4 {
		t.Fatalf("%d consent events, want 4 (3 grants, 1 withdrawal)", len(consents.Consents))
	}
	e.call("PUT", "/v1/customers/c-2", map[string]any{"phone": "010-1234"}).wantProblem(t, http.StatusBadRequest, "phone")

	// Programs: create, read, list, change, pause and resume.
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call", "params": map[string]any{
		"categories": []any{"가전"}, "call_window": "2d",
		"touches": []any{map[string]any{"offset": "3d", "sms": "{{.Name}}님 감사합니다"}, map[string]any{"offset": "7d", "call": true}}}}, &p)
	path := fmt.Sprintf("/v1/programs/%d", p.ID)
	e.must(http.StatusOK, "GET", path, nil, nil)
	e.must(http.StatusOK, "GET", "/v1/programs?kind=happy_call&status=active", nil, nil)
	e.must(http.StatusOK, "PATCH", path, map[string]any{"name": "해피콜 2"}, nil)
	e.must(http.StatusOK, "POST", path+"/preview", map[string]any{"customer_id": "c-1"}, nil)
	e.must(http.StatusOK, "POST", "/v1/programs:preview", map[string]any{"program": map[string]any{"name": "초안", "kind": "welcome_back"}}, nil)
	e.must(http.StatusOK, "POST", "/v1/audiences:preview", map[string]any{"audience": map[string]any{"last_purchase_older_than_days": 30}}, nil)
	e.must(http.StatusAccepted, "POST", path+"/pause", nil, nil)
	e.must(http.StatusAccepted, "POST", path+"/resume", nil, nil)
	e.call("POST", "/v1/programs", map[string]any{"name": "x", "kind": "nope"}).wantProblem(t, http.StatusBadRequest, "kind")

	// A purchase enrols the customer; the journey shows it.
	var bought purchaseOut
	e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", time.Now().Add(-time.Hour)), &bought)
	if len(bought.Enrolments) != 1 {
		t.Fatalf("%d enrolments, want 1", len(bought.Enrolments))
	}
	e.terminateAfter(bought.Enrolments[0].WorkflowID)
	e.must(http.StatusOK, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", bought.PurchasedAt), nil)
	var journey struct {
		Enrolments []map[string]any `json:"enrolments"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, &journey)
	if len(journey.Enrolments) != 1 {
		t.Fatalf("journey has %d enrolments, want 1", len(journey.Enrolments))
	}

	// Call tasks and coupons, as the workflows would write them.
	var task int64
	if err := e.db.QueryRow(ctx, `INSERT INTO call_tasks (idempotency_key, customer_id, enrolment_id, due_at, kind, store)
		SELECT 'contract-1', customer_id, id, now(), 'happy_call', '강남점' FROM enrolments WHERE id = $1 RETURNING id`, bought.Enrolments[0].ID).Scan(&task); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, "GET", "/v1/call-tasks?status=open&store=%EA%B0%95%EB%82%A8%EC%A0%90", nil, nil)
	e.must(http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", task), map[string]any{"outcome": "reached", "note": "만족"}, nil)
	code, err := coupons.NewCode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(ctx, `INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, expires_at)
		SELECT $1, 'contract-1', $2, id, customer_id, 'amount', 10000, now() + interval '30 days' FROM enrolments WHERE id = $3`,
		code, p.ID, bought.Enrolments[0].ID); err != nil {
		t.Fatal(err)
	}
	e.must(http.StatusOK, "GET", "/v1/coupons/"+code, nil, nil)
	e.must(http.StatusOK, "POST", "/v1/coupons/"+code+"/redeem", map[string]any{"order_id": "o-2"}, nil)
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/journey", nil, nil)

	// Consents due, an 080 list, erasure.
	e.must(http.StatusOK, "GET", "/v1/consents:due?limit=10", nil, nil)
	e.must(http.StatusOK, "POST", "/v1/opt-outs", map[string]any{"opt_outs": []any{map[string]any{"phone": "010-9999-0000"}}}, nil)
	// As the README's guide sends it.
	if r := e.request(e.url, "POST", "/v1/opt-outs", "phone,source\n010-9876-5432,080-vendor\n",
		map[string]string{"Authorization": "Bearer " + e.key, "Content-Type": "text/csv"}); r.status != http.StatusOK {
		t.Fatalf("080 list as CSV: %d %s", r.status, r.body)
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-2001", map[string]any{"name": "이영희", "phone": "+821098765432",
		"email": "yh@example.com", "consent": map[string]any{"sms": grant(true, "pos")}}, nil)
	e.must(http.StatusCreated, "POST", "/v1/purchases", map[string]any{"external_id": "o-2001", "customer_id": "c-2001", "amount": 35000,
		"currency": "KRW", "category": "의류", "store": "강남점", "purchased_at": time.Now().UTC().Format(time.RFC3339)}, nil)
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-gone", map[string]any{"name": "이영희"}, nil)
	e.must(http.StatusAccepted, "DELETE", "/v1/customers/c-gone", nil, nil)
	e.call("GET", "/v1/customers/c-gone", nil).wantProblem(t, http.StatusNotFound, "")
}

// fakeAPI answers every request with the given status, content type
// and body, to see the contract transport catch what breaks the contract.
func fakeAPI(t *testing.T, status int, ctype, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestContractTransportCatchesMismatches: the check the api tests rely
// on fails on a response or an accepted request that breaks the document.
func TestContractTransportCatchesMismatches(t *testing.T) {
	auth := map[string]string{"Authorization": "Bearer k"}
	for _, c := range []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		ctype, answer            string
		want                     string // in the error; "" for none
	}{
		{"customer as documented", "GET", "/v1/customers/c-1", "", auth, 200, "application/json",
			`{"external_id":"c-1","name":"","phone":null,"email":null,"birthday":null,"time_zone":"Asia/Seoul","locale":"ko-KR","country":null,"consent":{},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, ""},
		{"a field of the wrong type", "GET", "/v1/customers/c-1", "", auth, 200, "application/json",
			`{"external_id":5,"name":"","phone":null,"email":null,"birthday":null,"time_zone":"Asia/Seoul","locale":"ko-KR","country":null,"consent":{},"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}`, "does not match"},
		{"an error that is no problem+json", "GET", "/v1/customers/c-1", "", auth, 404, "text/plain", "not found", "does not match"},
		{"a problem without a title", "GET", "/v1/customers/c-1", "", auth, 400, "application/problem+json", `{"type":"about:blank","status":400}`, "does not match"},
		{"an undocumented success status", "POST", "/v1/programs/1/pause", "", auth, 200, "application/json", `{}`, "does not match"},
		{"an invalid request accepted", "POST", "/v1/call-tasks/1/complete", `{"outcome":"maybe"}`, auth, 200, "application/json", `{}`, "calls invalid"},
		{"no API key accepted", "GET", "/v1/settings", "", nil, 200, "application/json", `{}`, "calls invalid"},
		{"an invalid request refused", "POST", "/v1/call-tasks/1/complete", `{"outcome":"maybe"}`, auth, 400, "application/problem+json",
			`{"type":"about:blank","title":"Invalid request","status":400,"field":"outcome"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := fakeAPI(t, c.status, c.ctype, c.answer)
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, err := http.NewRequest(c.method, base+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			resp, err := contractClient.Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}
