package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const twilioToken = "apitesttoken000000000000000000000"

// linkSecret signs the customer links (unsubscribe) the test API verifies.
var linkSecret = []byte("api-test-link-secret-0123456789abcdef")

// quiet keeps request logs and SDK chatter out of test output.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is one isolated API: a fresh database, a Temporal client on the
// process's dev server, its own task queue and an API key.
type env struct {
	t     *testing.T
	st    *store.Store
	db    *pgxpool.Pool // raw SQL, to check what the API wrote
	tc    client.Client
	queue string
	key   string
	url   string // base URL of the API under test
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, dsn := testenv.Store(t)
	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	key, err := st.CreateAPIKey(ctx, "api-test")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, db: db, tc: tc, key: key, queue: fmt.Sprintf("api-test-%s-%d", t.Name(), rand.IntN(1e9))}
	e.url = e.serve(&api.Server{Store: st, Temporal: tc, TaskQueue: e.queue, TwilioAuthToken: twilioToken, LinkSecret: linkSecret})
	return e
}

// serve runs s behind an httptest server whose URL is also s's public base
// URL (what webhook signatures cover), and returns that URL.
func (e *env) serve(s *api.Server) string {
	e.t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	s.PublicBaseURL = srv.URL
	if s.Logger == nil {
		s.Logger = quiet
	}
	srv.Config.Handler = s.Handler()
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// response is what a client saw.
type response struct {
	status int
	header http.Header
	body   []byte
}

// problem is an RFC 9457 body as a client reads it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
}

// request sends body (nil: none; string or []byte: as is; anything else:
// as JSON) to the API under test at base with the given headers.
func (e *env) request(base, method, path string, body any, header map[string]string) response {
	e.t.Helper()
	r, err := e.do(base, method, path, body, header)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// do is request for goroutines other than the test's: it fails nothing.
func (e *env) do(base, method, path string, body any, header map[string]string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := contractClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// call is an authenticated request to the env's API.
func (e *env) call(method, path string, body any) response {
	e.t.Helper()
	return e.request(e.url, method, path, body, map[string]string{"Authorization": "Bearer " + e.key})
}

// must is call that fails the test unless the status is want, decoding
// the JSON answer into out when out is not nil.
func (e *env) must(want int, method, path string, body any, out any) {
	e.t.Helper()
	r := e.call(method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		r.decode(e.t, out)
	}
}

func (r response) decode(t *testing.T, out any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json: %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// wantProblem checks the answer is a problem+json with the status and the
// field (empty: none) a client would point at.
func (r response) wantProblem(t *testing.T, status int, field string) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, r.body)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Status != status || p.Title == "" || p.Type == "" {
		t.Fatalf("problem %+v: want status %d with a type and title", p, status)
	}
	if p.Field != field {
		t.Fatalf("problem field %q, want %q (detail %q)", p.Field, field, p.Detail)
	}
	return p
}

// count runs a SELECT count(*) ... and returns the number.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// field returns the problem's field, or "" when the answer is no problem.
func (r response) field() string {
	var p problem
	if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Field
}

// notAgain fails when a bug that was found and fixed comes back: broken
// reports exactly the wrong answer the product used to give.
func notAgain(t *testing.T, broken bool, bug string) {
	t.Helper()
	if broken {
		t.Fatalf("regression: %s", bug)
	}
}
