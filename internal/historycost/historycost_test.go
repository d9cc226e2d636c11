package historycost_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"

	"github.com/dangol/dangol/internal/historycost"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
	"github.com/dangol/dangol/workflows/histories"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// ceilings are the committed history events per touch of each kind (per
// enrolment for the birthday, whose year-long run is measured asleep and
// stopped). A change that raises a figure by more than tolerance fails
// TestHistoryCost; lower the ceiling when a change lowers the figure.
var ceilings = map[string]float64{
	// Measured before the lean-enrolment change: happy_call 41,
	// welcome_back 39.5, dormant_wakeup 25.5, second_purchase 36.5,
	// birthday 32 per enrolment.
	"happy_call":      20.8,
	"welcome_back":    17.5,
	"dormant_wakeup":  13.3,
	"second_purchase": 17,
	"birthday":        14, // per enrolment, no touch
}

const tolerance = 1.10

// enrolments per kind: the figures are averages over them.
const enrolments = 2

// TestHistoryCost runs every program kind on the real stack with offsets
// of seconds, each enrolment to its end, and measures what its histories
// cost: events and estimated Temporal Cloud actions per enrolment and per
// touch.
func TestHistoryCost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every program on the real stack")
	}
	kinds := []struct {
		kind string
		run  func(t *testing.T) (ids []string, touches int)
	}{
		{"happy_call", runHappyCall},
		{"welcome_back", runWelcomeBack},
		{"dormant_wakeup", runDormantWakeup},
		{"second_purchase", runSecondPurchase},
		{"birthday", runBirthday},
	}
	var mu sync.Mutex
	rows := map[string]historycost.Row{}
	t.Run("kinds", func(t *testing.T) {
		for _, k := range kinds {
			t.Run(k.kind, func(t *testing.T) {
				t.Parallel()
				ids, touches := k.run(t)
				row := measure(t, k.kind, ids, touches)
				saveHistory(t, ids[0], strings.ReplaceAll(k.kind, "_", "")+"-lean")
				mu.Lock()
				rows[k.kind] = row
				mu.Unlock()
			})
		}
	})
	var table []historycost.Row
	for _, k := range kinds {
		if r, ok := rows[k.kind]; ok {
			table = append(table, r)
		}
	}
	t.Logf("history cost (go test ./internal/historycost -run TestHistoryCost -v):\n%s", historycost.Table(table))
	for _, r := range table {
		t.Logf("%s events by type: %v", r.Kind, r.ByType)
		got := r.EventsPerTouch()
		what := "events per touch"
		if r.Touches == 0 {
			got, what = r.EventsPerEnrolment(), "events per enrolment"
		}
		if ceiling := ceilings[r.Kind]; got > ceiling*tolerance {
			t.Errorf("%s: %.1f %s, more than 10%% over the ceiling %.1f", r.Kind, got, what, ceiling)
		}
	}
}

// saveHistory adds the run's history to the replay corpus when
// DANGOL_UPDATE_HISTORIES is set (as the e2e tests do): a new dated file,
// never overwriting a committed one.
func saveHistory(t *testing.T, workflowID, kind string) {
	if os.Getenv("DANGOL_UPDATE_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	iter := dial(t).GetWorkflowHistory(ctx, workflowID, "", false, 0)
	var events []*historypb.HistoryEvent
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	path, err := histories.Add(filepath.Join(testenv.RepoRoot(), "workflows", "testdata"), kind, b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// measure reads the histories; a client of its own, since the rig's is
// closed with the subtest.
func measure(t *testing.T, kind string, ids []string, touches int) historycost.Row {
	t.Helper()
	c := dial(t)
	row, err := historycost.Measure(context.Background(), c, kind, ids, touches)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// The 3.1.3.1 plan of the e2e test: a thank-you SMS and mail, a call
// nobody answers (its fallback SMS), a call staff complete: three touches.
func runHappyCall(t *testing.T) ([]string, int) {
	r := newRig(t)
	prog := r.program("happy_call", map[string]any{
		"categories":  []string{"가전"},
		"call_window": "4s",
		"touches": []map[string]any{
			{"key": "3d", "offset": "1s", "sms": "{{.Name}}님, 구매 감사합니다.", "email_subject": "감사합니다", "email": "설명서"},
			{"key": "1mo", "offset": "3s", "call": true, "fallback_sms": "{{.Name}}님, 전화 드렸는데 통화가 어려웠습니다."},
			{"key": "3mo", "offset": "9s", "call": true, "fallback_sms": "not sent: staff reached the customer"},
		},
	})
	for i := range enrolments {
		id := fmt.Sprintf("hc-%d", i)
		r.customer(id, 0, "")
		r.purchase("o-"+id, id)
	}
	// The purchase marks what it started active, before the first touch.
	for _, e := range r.enrolments(prog) {
		if e.Status != store.EnrolmentActive {
			t.Fatalf("enrolment %d is %s after its purchase, want active", e.ID, e.Status)
		}
	}
	// Staff reach every customer at the third touch.
	deadline := time.Now().Add(60 * time.Second)
	for completed := map[int64]bool{}; len(completed) < enrolments; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d third-touch call tasks completed", len(completed))
		}
		rows, err := r.st.Pool().Query(context.Background(), `SELECT id FROM call_tasks WHERE status = 'open' AND idempotency_key LIKE '%:3mo:call'`)
		if err != nil {
			t.Fatal(err)
		}
		var open []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			open = append(open, id)
		}
		rows.Close()
		for _, id := range open {
			r.must(http.StatusOK, "POST", fmt.Sprintf("/v1/call-tasks/%d/complete", id), map[string]any{"outcome": "reached", "note": "잘 쓰고 계심"}, nil)
			completed[id] = true
		}
	}
	ids := r.waitEnded(prog, enrolments, workflows.OutcomeCompleted, 60*time.Second)
	var fallbacks int
	if err := r.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE idempotency_key LIKE '%:1mo:fallback_sms'`).Scan(&fallbacks); err != nil || fallbacks != enrolments {
		t.Fatalf("%d fallback SMS, want %d (%v)", fallbacks, enrolments, err)
	}
	return ids, 3 * enrolments
}

// A welcome-back: the greeting with its coupon, the reminder, the
// coupon's expiry.
func runWelcomeBack(t *testing.T) ([]string, int) {
	r := newRig(t)
	for i := range enrolments {
		r.customer(fmt.Sprintf("wb-%d", i), 120, "")
	}
	prog := r.program("welcome_back", map[string]any{
		"lapsed_days": 90, "holdout_percent": 0,
		"coupon":          map[string]any{"kind": "amount", "value": "10000", "valid_for": "8s"},
		"reminder_before": "4s",
	})
	r.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog), nil, nil)
	ids := r.waitEnded(prog, enrolments, workflows.OutcomeExpired, 60*time.Second)
	return ids, 2 * enrolments
}

// The dormant wake-up cadence in seconds: four steps, the third with a
// coupon; the customer is marked dormant.
func runDormantWakeup(t *testing.T) ([]string, int) {
	r := newRig(t)
	for i := range enrolments {
		r.customer(fmt.Sprintf("dw-%d", i), 200, "")
	}
	prog := r.program("dormant_wakeup", map[string]any{
		"lapsed_days": 180, "holdout_percent": 0,
		"steps": []map[string]any{
			{"key": "d0", "offset": "0s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 잘 지내시죠?"}},
			{"key": "d30", "offset": "2s", "channel": "email", "message": map[string]any{"subject": "소식", "text": "새 상품 소식"}},
			{"key": "d90", "offset": "4s", "channel": "sms", "coupon": true, "message": map[string]any{"text": "쿠폰 {{.Coupon}}"}},
			{"key": "d180", "offset": "6s", "channel": "email", "survey": true, "message": map[string]any{"subject": "의견", "text": "알려주세요: {{.SurveyURL}}"}},
		},
	})
	r.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog), nil, nil)
	ids := r.waitEnded(prog, enrolments, workflows.OutcomeDormant, 60*time.Second)
	return ids, 4 * enrolments
}

// A second purchase: the thank-you, the coupon, its expiry.
func runSecondPurchase(t *testing.T) ([]string, int) {
	r := newRig(t)
	prog := r.program("second_purchase", map[string]any{
		"coupon_after": "2s", "coupon": map[string]any{"kind": "percent", "value": "15", "valid_for": "4s"},
	})
	for i := range enrolments {
		id := fmt.Sprintf("sp-%d", i)
		r.customer(id, 0, "")
		r.purchase("o-"+id, id)
	}
	ids := r.waitEnded(prog, enrolments, workflows.OutcomeExpired, 60*time.Second)
	return ids, 2 * enrolments
}

// A birthday enrolment lives for years: it is measured from the sweep to
// its sleep until the card, and its end when the program stops.
func runBirthday(t *testing.T) ([]string, int) {
	r := newRig(t)
	// A birthday half a year away: asleep until the card.
	day := time.Now().AddDate(0, 6, 0).Format("2006-01-02")
	for i := range enrolments {
		r.customer(fmt.Sprintf("bd-%d", i), 0, "1990"+day[4:])
	}
	prog := r.program("birthday", map[string]any{"holdout_percent": 0})
	r.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog), nil, nil)
	c := dial(t)
	deadline := time.Now().Add(60 * time.Second)
	for asleep := 0; asleep < enrolments; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d birthday enrolments asleep", asleep, enrolments)
		}
		asleep = 0
		for _, e := range r.enrolments(prog) {
			if e.Status != store.EnrolmentActive {
				// The sweep's page marks what it started active.
				continue
			}
			v, err := c.QueryWorkflow(context.Background(), e.WorkflowID, "", workflows.QueryJourney)
			if err != nil {
				continue
			}
			var j workflows.Journey
			if err := v.Get(&j); err == nil && j.Next != nil && j.Next.Waiting == "time" && strings.HasPrefix(j.Next.Touch, "card") {
				asleep++
			}
		}
	}
	r.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/stop", prog), nil, nil)
	return r.waitEnded(prog, enrolments, workflows.OutcomeStopped, 60*time.Second), 0
}
