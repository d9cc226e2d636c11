package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/pgcount"
	"github.com/dangol/dangol/store"
)

// Round trips a purchase may cost (issue 10: ingest near the raw start
// rate): the API key, one batch of reads (customer, active programs, live
// enrolments with their programs), two for the write (open and write the
// purchase; write the enrolments and commit) and one marking the started
// enrolments active. A repeat marks nothing.
const (
	maxPurchaseRoundTrips       = 5
	maxRepeatPurchaseRoundTrips = 4
)

// A purchase's database round trips, counted with the pgx tracer on the
// API's own pool: a new one enrolling in two programs, its repeat, and a
// second purchase that also converts a live enrolment.
func TestPurchaseRoundTrips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(e.db.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = pgcount.Tracer{}
	counted, err := store.OpenConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(counted.Close)
	var current atomic.Pointer[pgcount.Counter]
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	h := (&api.Server{Store: counted, Temporal: e.tc, TaskQueue: e.queue, TwilioAuthToken: twilioToken, LinkSecret: linkSecret,
		PublicBaseURL: srv.URL, Logger: quiet}).Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := current.Load(); c != nil {
			r = r.WithContext(pgcount.NewContext(r.Context(), c))
		}
		h.ServeHTTP(w, r)
	})

	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "재구매", "kind": "second_purchase"}, nil)

	post := func(name string, body map[string]any, wantStatus, wantEnrolments int, max int64) purchaseOut {
		t.Helper()
		c := &pgcount.Counter{}
		current.Store(c)
		r := e.request(srv.URL, "POST", "/v1/purchases", body, map[string]string{"Authorization": "Bearer " + e.key})
		current.Store(nil)
		if r.status != wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", name, r.status, wantStatus, r.body)
		}
		var out purchaseOut
		r.decode(t, &out)
		if len(out.Enrolments) != wantEnrolments {
			t.Fatalf("%s: %d enrolments, want %d: %s", name, len(out.Enrolments), wantEnrolments, r.body)
		}
		for _, en := range out.Enrolments {
			e.terminateAfter(en.WorkflowID)
			var status string
			if err := e.db.QueryRow(ctx, `SELECT status FROM enrolments WHERE id = $1`, en.ID).Scan(&status); err != nil || status != domain.EnrolmentActive {
				t.Errorf("%s: enrolment %d is %q (%v), want active", name, en.ID, status, err)
			}
		}
		n := c.Counts()
		t.Logf("%-16s round trips %d (%d statements, %d batches)", name, n.RoundTrips(), n.Queries, n.Batches)
		if n.RoundTrips() > max {
			t.Errorf("%s: %d round trips, want at most %d:\n    %s", name, n.RoundTrips(), max, strings.Join(c.Statements(), "\n    "))
		}
		return out
	}
	first := purchase("o-1", "c-1", "가전", time.Now().Add(-2*time.Hour))
	out := post("new purchase", first, http.StatusCreated, 2, maxPurchaseRoundTrips)
	post("repeat", first, http.StatusOK, 2, maxRepeatPurchaseRoundTrips)
	// The second purchase enrols in the happy call again and converts
	// the live second-purchase enrolment (its program read with it).
	post("converting", purchase("o-2", "c-1", "가전", time.Now().Add(-time.Hour)), http.StatusCreated, 1, maxPurchaseRoundTrips)
	converted := 0
	for _, en := range out.Enrolments {
		if strings.HasPrefix(en.WorkflowID, "second_purchase/") {
			converted++
			if got := e.convertedSignals(en.WorkflowID); len(got) != 1 || got[0] != "purchase o-2" {
				t.Errorf("converted signals of %s: %v, want [purchase o-2]", en.WorkflowID, got)
			}
		}
	}
	if converted != 1 {
		t.Errorf("%d second-purchase enrolments in %+v, want 1", converted, out.Enrolments)
	}
}
